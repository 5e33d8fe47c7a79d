// A shopper's orders: the list, and each order with what promotions took off it and its history.

import {h, table, nextLink, money, optionText, date, act, announce} from '../dom.js';
import {get, post, listPage} from '../api.js';
import {redraw} from '../nav.js';
import {deliveryEstimate, lineDiscount, promotionsList, totalsRows} from '../totals.js';

const STATUS = {
  PENDING_PAYMENT: 'Awaiting payment',
  PAID: 'Paid',
  SHIPPED: 'Shipped',
  DELIVERED: 'Delivered',
  CANCELLED: 'Cancelled',
  REFUNDED: 'Refunded',
};
const REASONS = {shopper: 'by you', admin: 'by the shop', payment_expired: 'unpaid in time'};

export function status(order) {
  return h('span', {class: 'status-badge', 'data-status': order.status}, order.status);
}

export function orderTable(orders, actions = () => null) {
  return table(
    ['Order', 'Placed', 'Status', 'Total', ''],
    orders.map((order) =>
      h(
        'tr',
        {'data-order': order.id},
        h('th', {scope: 'row'}, h('a', {href: `#/orders/${encodeURIComponent(order.id)}`}, order.id)),
        h('td', {}, date(order.created_at)),
        h('td', {}, status(order)),
        h('td', {}, money(order.total)),
        h('td', {}, actions(order)),
      ),
    ),
  );
}

export async function list(params) {
  const {items, next} = await listPage(params, '/api/orders?limit=20');
  return [
    h('h1', {}, 'Your orders'),
    items.length === 0 ? h('p', {}, 'No orders yet.') : orderTable(items),
    nextLink('orders', next, 'Older orders'),
    h('p', {}, h('a', {href: '#/notifications'}, 'What we told you about them')),
  ];
}

export async function detail(id) {
  const order = await get(`/api/orders/${encodeURIComponent(id)}`);
  const a = order.shipping_address;
  const cancellable = order.status === 'PENDING_PAYMENT' || order.status === 'PAID';
  return [
    h('h1', {}, `Order ${order.id}`),
    h(
      'p',
      {},
      'Status: ',
      status(order),
      ` (${STATUS[order.status]})`,
      order.tracking_number && [' · tracking number ', h('strong', {}, order.tracking_number)],
    ),
    h(
      'div',
      {class: 'actions'},
      order.status === 'PENDING_PAYMENT' &&
        h('a', {href: `#/orders/${encodeURIComponent(order.id)}/pay`, class: 'step'}, 'Pay now'),
      cancellable &&
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: act(async () => {
              await post(`/api/orders/${encodeURIComponent(order.id)}/cancel`);
              announce('The order is cancelled');
              await redraw();
            }),
          },
          'Cancel order',
        ),
    ),
    table(
      ['Product', 'Price', 'Quantity', 'Total'],
      order.lines.map((line) =>
        h(
          'tr',
          {},
          h(
            'th',
            {scope: 'row'},
            line.name,
            optionText(line.options) && h('span', {class: 'options'}, ` — ${optionText(line.options)}`),
            line.sku && h('small', {class: 'muted sku'}, `SKU ${line.sku}`),
          ),
          h('td', {}, money(line.unit_price)),
          h('td', {}, String(line.quantity)),
          h('td', {}, money(line.line_total), lineDiscount(line)),
        ),
      ),
      // Orders placed before the shop priced shipping and tax have their total alone.
      order.totals
        ? totalsRows(order.totals, order.shipping, 3)
        : h('tr', {}, h('th', {scope: 'row', colspan: 3}, 'Total'), h('td', {}, money(order.total))),
    ),
    promotionsList(order.promotions),
    order.payment &&
      h(
        'p',
        {},
        `Paid ${money({amount: order.payment.paid, currency: order.total.currency})}`,
        order.payment.refunded > 0 &&
          `, refunded ${money({amount: order.payment.refunded, currency: order.total.currency})}`,
      ),
    h('h2', {}, 'Shipping to'),
    h(
      'address',
      {},
      [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, [a.region, a.country].filter(Boolean).join(', ')]
        .filter(Boolean)
        .flatMap((l) => [l, h('br')]),
    ),
    order.shipping &&
      h(
        'p',
        {id: 'shipping-option'},
        'By ',
        h('strong', {}, order.shipping.name),
        ` (${deliveryEstimate(order.shipping.min_days, order.shipping.max_days)})`,
      ),
    h('h2', {}, 'History'),
    h(
      'ol',
      {class: 'history'},
      order.history.map((step) =>
        h(
          'li',
          {},
          h('time', {datetime: step.at}, date(step.at)),
          ': ',
          STATUS[step.status],
          step.reason && ` (${REASONS[step.reason] ?? step.reason})`,
        ),
      ),
    ),
  ];
}
