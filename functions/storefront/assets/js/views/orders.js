// A shopper's orders: the list, and each order with what it cost and what promotions took off
// it, its invoice and credit note, its history, and its returns (returns.js); the back office
// shows an order's summary too.

import {h, table, nextLink, money, optionText, date, act, announce, save} from '../dom.js';
import {call, get, post, listPage} from '../api.js';
import {orderRoute} from '../guest.js';
import {redraw} from '../nav.js';
import {deliveryEstimate, lineDiscount, promotionsList, totalsRows} from '../totals.js';
import {shopperReturns} from './returns.js';

const STATUS = {
  PENDING_PAYMENT: 'Awaiting payment',
  PAID: 'Paid',
  SHIPPED: 'Shipped',
  DELIVERED: 'Delivered',
  CANCELLED: 'Cancelled',
  REFUNDED: 'Refunded',
};
const REASONS = {shopper: 'by you', admin: 'by the shop', payment_expired: 'unpaid in time'};
/** Who ended an order, as the back office words it. */
const SHOP_REASONS = {...REASONS, shopper: 'by the shopper'};

/** An order's numbered documents, each downloaded as a PDF from its `path`: the invoice (from the
 *  order's payment on) and the credit note (once it is refunded in full), where its `field`
 *  numbers it. */
const DOCUMENTS = [
  {field: 'invoice', path: 'invoice', name: 'Invoice', label: 'Download invoice (PDF)'},
  {field: 'credit_note', path: 'credit-note', name: 'Credit note', label: 'Download credit note (PDF)'},
];

export function status(order) {
  return h('span', {class: 'status-badge', 'data-status': order.status}, order.status);
}

/** Orders as a table's rows, each linked to its page in `route` (the shopper's, or the back
 *  office's), with what `actions` gives it in its last cell. */
export function orderTable(orders, actions = () => null, route = 'orders') {
  return table(
    ['Order', 'Placed', 'Status', 'Total', ''],
    orders.map((order) =>
      h(
        'tr',
        {'data-order': order.id},
        h('th', {scope: 'row'}, h('a', {href: `#/${route}/${encodeURIComponent(order.id)}`}, order.id)),
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
  const cancellable = order.status === 'PENDING_PAYMENT' || order.status === 'PAID';
  return [
    h('h1', {}, `Order ${order.id}`),
    statusLine(order),
    h(
      'div',
      {class: 'actions'},
      order.status === 'PENDING_PAYMENT' && h('a', {href: `#/${orderRoute(order.id)}/pay`, class: 'step'}, 'Pay now'),
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
    summary(order),
    shopperReturns(order),
  ];
}

/** The order's status, in words too, and its tracking number once it has one. */
export function statusLine(order) {
  return h(
    'p',
    {},
    'Status: ',
    status(order),
    ` (${STATUS[order.status]})`,
    order.tracking_number && [' · tracking number ', h('strong', {}, order.tracking_number)],
  );
}

/** What an order holds and costs, as the shopper's page and the back office's show it: its lines
 *  (with what promotions took off each) above the breakdown of its totals, its promotions, what
 *  was paid and refunded, its invoice and credit note, where and how it ships, and its history
 *  (whoever cancelled it named as the `backOffice` or the shopper would). */
export function summary(order, {backOffice = false} = {}) {
  const a = order.shipping_address;
  const reasons = backOffice ? SHOP_REASONS : REASONS;
  return [
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
    documents(order),
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
          step.reason && ` (${reasons[step.reason] ?? step.reason})`,
        ),
      ),
    ),
  ];
}

/** The file a document is saved as: "invoice-INV-2026-000042.pdf". */
export function documentFile(path, number) {
  return `${path}-${number}.pdf`;
}

/** The order's invoice and credit note, those it has: each one's number, when it was issued, and
 *  a button that downloads it as a PDF (read with the session's token, or a guest's); nothing
 *  before the first. */
function documents(order) {
  const issued = DOCUMENTS.filter((d) => order[d.field]);
  if (issued.length === 0) return null;
  return h(
    'ul',
    {class: 'documents', 'aria-label': 'Documents'},
    issued.map(({field, path, name, label}) => {
      const {number, issued_at: at} = order[field];
      const download = act(async () => {
        const answer = await call('GET', `/api/orders/${encodeURIComponent(order.id)}/${path}`, {
          blob: true,
          headers: {Accept: 'application/pdf'},
        });
        save(answer.body, documentFile(path, number));
        announce(`${name} ${number} downloaded`);
      });
      return h(
        'li',
        {class: 'actions'},
        h('span', {}, `${name} `, h('strong', {}, number), ', issued ', h('time', {datetime: at}, date(at))),
        h('button', {type: 'button', class: 'secondary outline', onclick: download}, label),
      );
    }),
  );
}
