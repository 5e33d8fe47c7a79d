// The back office (the `admin` group): products and their stock, orders by status.

import {h, table, nextLink, field, money, majorUnits, minorUnits, onSubmit, act, announce, Refusal} from '../dom.js';
import {ApiError, call, get, post, put, del, me, listPage} from '../api.js';
import {go, redraw} from '../nav.js';
import {orderTable} from './orders.js';

function admins() {
  if (!me()?.admin) throw new ApiError(403, {detail: 'The back office is for the shop’s administrators.'});
}

function tabs(current) {
  return h(
    'nav',
    {'aria-label': 'Back office'},
    h(
      'ul',
      {},
      h('li', {}, h('a', {href: '#/admin', 'aria-current': current === 'products' ? 'page' : null}, 'Products')),
      h('li', {}, h('a', {href: '#/admin/orders', 'aria-current': current === 'orders' ? 'page' : null}, 'Orders')),
    ),
  );
}

export async function products(params) {
  admins();
  const {items, next} = await listPage(params, '/api/products?limit=50', {fresh: true});
  return [
    h('h1', {}, 'Products'),
    tabs('products'),
    h('p', {}, h('a', {href: '#/admin/products/new', class: 'step'}, 'New product')),
    table(
      ['Name', 'SKU', 'Category', 'Price', 'Stock'],
      items.map((p) =>
        h(
          'tr',
          {},
          h('th', {scope: 'row'}, h('a', {href: `#/admin/products/${encodeURIComponent(p.id)}`}, p.name)),
          h('td', {}, p.sku),
          h('td', {}, p.category),
          h('td', {}, money(p.price)),
          h('td', {}, String(p.stock)),
        ),
      ),
    ),
    nextLink('admin', next, 'More'),
  ];
}

const CHANGED_MEANWHILE = 'Someone changed this product meanwhile (a sale, perhaps): reload the page and save again.';

function productFields(product) {
  const p = product ?? {price: {currency: 'EUR'}, active: true};
  return [
    field('Name', {name: 'name', value: p.name ?? '', required: true, maxlength: 200}),
    field('SKU', {name: 'sku', value: p.sku ?? '', required: true, maxlength: 64}),
    h(
      'label',
      {for: 'f-description'},
      'Description',
      h('textarea', {id: 'f-description', name: 'description', maxlength: 5000}, p.description ?? ''),
    ),
    h(
      'div',
      {class: 'grid'},
      field(
        'Price',
        {
          name: 'price',
          inputmode: 'decimal',
          value: p.price.amount === undefined ? '' : majorUnits(p.price),
          required: true,
        },
        'In the currency’s main unit, like 19.99.',
      ),
      field('Currency', {name: 'currency', value: p.price.currency, required: true, maxlength: 3}),
    ),
    field(
      'Category',
      {name: 'category', value: p.category ?? '', required: true, maxlength: 64},
      'Lower-case letters, digits and -.',
    ),
    !product && field('Stock', {name: 'stock', type: 'number', min: 0, value: 0, required: true}),
    h('label', {}, h('input', {type: 'checkbox', role: 'switch', name: 'active', checked: p.active}), 'On sale'),
  ];
}

function productBody(values, withStock) {
  const currency = values.currency.toUpperCase();
  const body = {
    name: values.name,
    sku: values.sku,
    description: values.description,
    category: values.category,
    active: values.active,
    price: {amount: minorUnits(values.price, currency), currency},
  };
  if (withStock) body.stock = Number(values.stock);
  return body;
}

export function newProduct() {
  admins();
  return [
    h('h1', {}, 'New product'),
    tabs('products'),
    onSubmit(
      h('form', {'aria-label': 'New product'}, productFields(null), h('button', {type: 'submit'}, 'Create')),
      async (values) => {
        const created = await post('/api/products', productBody(values, true));
        go(`admin/products/${encodeURIComponent(created.id)}`);
      },
    ),
  ];
}

export async function editProduct(id) {
  admins();
  const answer = await call('GET', `/api/products/${encodeURIComponent(id)}/record`, {fresh: true});
  const product = answer.body;
  let etag = answer.headers.get('etag');
  const stock = h('strong', {id: 'stock'}, String(product.stock));
  return [
    h('h1', {}, product.name),
    tabs('products'),
    h('h2', {}, 'Stock'),
    h('p', {}, 'In stock: ', stock),
    onSubmit(
      h(
        'form',
        {'aria-label': 'Adjust stock'},
        h(
          'div',
          {class: 'grid'},
          field(
            'Change',
            {name: 'delta', type: 'number', required: true},
            'Units in (a restock) or, negative, out (a write-off).',
          ),
          field('Reason', {name: 'reason', required: true, maxlength: 200}),
        ),
        h('button', {type: 'submit'}, 'Adjust stock'),
      ),
      async ({delta, reason}, form) => {
        const moved = await call('POST', `/api/products/${encodeURIComponent(id)}/stock`, {
          body: {delta: Number(delta), reason},
        });
        stock.textContent = String(moved.body.stock);
        etag = moved.headers.get('etag') ?? etag;
        form.reset();
        announce(`Stock is now ${moved.body.stock}`);
      },
    ),
    h('h2', {}, 'Details'),
    onSubmit(
      h('form', {'aria-label': 'Product details'}, productFields(product), h('button', {type: 'submit'}, 'Save')),
      async (values) => {
        try {
          const saved = await call('PUT', `/api/products/${encodeURIComponent(id)}`, {
            body: productBody(values, false),
            headers: {'If-Match': etag},
          });
          etag = saved.headers.get('etag');
        } catch (error) {
          throw error.status === 412 ? new Refusal(CHANGED_MEANWHILE) : error;
        }
        announce('Saved');
        go('admin');
      },
    ),
    h('h2', {}, 'Remove'),
    h(
      'button',
      {
        type: 'button',
        class: 'contrast',
        onclick: act(async () => {
          await del(`/api/products/${encodeURIComponent(id)}`, {'If-Match': etag});
          go('admin');
        }),
      },
      'Delete product',
    ),
  ];
}

const STATUSES = ['PAID', 'SHIPPED', 'DELIVERED', 'PENDING_PAYMENT', 'CANCELLED', 'REFUNDED'];

function orderActions(order) {
  const inline = (label, fields, action) =>
    onSubmit(
      h('form', {class: 'actions', 'aria-label': `${label} ${order.id}`}, fields, h('button', {type: 'submit'}, label)),
      async (values, form) => {
        await action(values, form);
        announce(`${label}: done`);
        await redraw();
      },
    );
  const id = encodeURIComponent(order.id);
  const parts = [];
  if (order.status === 'PAID') {
    parts.push(
      inline(
        'Ship',
        field('Tracking number', {name: 'tracking_number', id: `track-${order.id}`, required: true, maxlength: 64}),
        ({tracking_number}) => put(`/api/orders/${id}/status`, {status: 'SHIPPED', tracking_number}),
      ),
    );
  }
  if (order.status === 'SHIPPED') {
    parts.push(inline('Mark delivered', [], () => put(`/api/orders/${id}/status`, {status: 'DELIVERED'})));
  }
  if (['PAID', 'SHIPPED', 'DELIVERED'].includes(order.status)) {
    parts.push(
      inline(
        'Refund',
        [
          field('Amount (empty: all that is left)', {name: 'amount', id: `amount-${order.id}`, inputmode: 'decimal'}),
          field('Reason', {name: 'reason', id: `reason-${order.id}`, required: true, maxlength: 200}),
        ],
        ({amount, reason}) =>
          post(`/api/orders/${id}/refunds`, {
            reason,
            amount: amount ? {amount: minorUnits(amount, order.total.currency), currency: order.total.currency} : null,
          }),
      ),
    );
  }
  return parts;
}

export async function orders(params) {
  admins();
  const chosen = STATUSES.includes(params.get('status')) ? params.get('status') : 'PAID';
  const found = await get(`/api/orders?status=${chosen}&limit=50`);
  return [
    h('h1', {}, 'Orders'),
    tabs('orders'),
    h(
      'label',
      {for: 'status-filter'},
      'Orders in status',
      h(
        'select',
        {id: 'status-filter', onchange: (e) => go(`admin/orders?status=${e.target.value}`)},
        STATUSES.map((s) => h('option', {value: s, selected: s === chosen}, s)),
      ),
    ),
    found.length === 0 ? h('p', {}, 'None.') : orderTable(found, orderActions),
  ];
}
