// An order's invoice and credit note, and the back office's page of an order, in jsdom against a
// stand-in API: each document the order has is listed with its number and downloaded as a PDF
// (read with the session's token, saved through an object URL as invoice-<number>.pdf); one the
// API refuses is said at its button; the back office's order list leads to its own page of each
// order, with the same breakdown and documents, and what can be done to it.

import {downloads, fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show, money, useCurrencyDigits} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';

useCurrencyDigits({EUR: 2});
const eur = (amount) => ({amount, currency: 'EUR'});
const PDF = '%PDF-1.7\n% an invoice\n%%EOF\n';
const INVOICE = {number: 'INV-2026-000042', issued_at: '2026-12-06T10:00:00Z'};
const CREDIT_NOTE = {number: 'CN-2026-000003', issued_at: '2026-12-07T09:00:00Z'};
/** A paid order of a €12.50 mug, €1.25 off it, shipped to Germany by Standard, 19 % VAT included. */
const ORDER = {
  id: 'o1',
  user_id: 'u7',
  status: 'PAID',
  lines: [
    {
      product_id: 'p1',
      variant_id: 'p1',
      name: 'Mug',
      options: {},
      sku: 'MUG-1',
      quantity: 1,
      unit_price: eur(1250),
      line_total: eur(1250),
      discount: eur(125),
      tax: {net: eur(945), tax: eur(180), rate: '19'},
    },
  ],
  total: eur(1615),
  totals: {
    subtotal: eur(1250),
    discount: eur(125),
    shipping: eur(490),
    tax: eur(258),
    total: eur(1615),
    tax_included: true,
  },
  shipping: {
    option_id: 'de-standard',
    name: 'Standard',
    min_days: 2,
    max_days: 4,
    price: eur(490),
    discount: eur(0),
    net: eur(412),
    tax: eur(78),
    rate: '19',
  },
  promotions: [{id: 'save10', name: 'Ten percent off', code: 'SAVE10', amount: eur(125)}],
  invoice: INVOICE,
  shipping_address: {name: 'Ada', line1: '1 Main St', postal_code: '10115', city: 'Berlin', country: 'DE'},
  payment: {paid: 1615, refunded: 0, status: 'succeeded', attempt: 1},
  history: [
    {status: 'PENDING_PAYMENT', at: '2026-12-06T09:59:00Z'},
    {status: 'PAID', at: '2026-12-06T10:00:00Z'},
  ],
  created_at: '2026-12-06T09:59:00Z',
};
/** The same order refunded in full: its credit note too. */
const REFUNDED = {
  ...ORDER,
  id: 'o2',
  status: 'REFUNDED',
  credit_note: CREDIT_NOTE,
  payment: {...ORDER.payment, refunded: 1615},
};
/** An order not paid yet: no document. */
const UNPAID = {...ORDER, id: 'o3', status: 'PENDING_PAYMENT', invoice: undefined, payment: undefined};
/** An order the shopper cancelled. */
const CANCELLED = {
  ...UNPAID,
  id: 'o4',
  status: 'CANCELLED',
  history: [...UNPAID.history.slice(0, 1), {status: 'CANCELLED', at: '2026-12-06T10:05:00Z', reason: 'shopper'}],
};
const pdf = () => [200, PDF, {'content-type': 'application/pdf'}];

const calls = fakeApi({
  'GET /api/orders/o1': () => [200, ORDER],
  'GET /api/orders/o2': () => [200, REFUNDED],
  'GET /api/orders/o3': () => [200, UNPAID],
  'GET /api/orders/o4': () => [200, CANCELLED],
  'GET /api/orders/o5': () => [200, {...ORDER, id: 'o5'}],
  'GET /api/orders/o1/invoice': pdf,
  'GET /api/orders/o2/invoice': pdf,
  'GET /api/orders/o2/credit-note': pdf,
  'GET /api/orders?status=PAID&limit=50': () => [200, [ORDER]],
});

const TOKEN = idToken({sub: 'u1', email: 'admin@shop.test', 'cognito:groups': ['admin']});
signedIn({id_token: TOKEN, access_token: 'access', refresh_token: 'refresh', expires_in: 3600});
const orders = await import('../../assets/js/views/orders.js');
const admin = await import('../../assets/js/views/admin.js');

const main = document.getElementById('main');
const text = (element) => element.textContent.trim();
const button = (name) => [...main.querySelectorAll('button')].find((b) => text(b) === name);
const documents = () => [...main.querySelectorAll('ul.documents li span')].map(text);
const rows = () => [...main.querySelectorAll('tfoot tr')].map((tr) => [...tr.cells].map(text));

test('a document is saved as its kind and number, a PDF', () => {
  assert.equal(orders.documentFile('invoice', 'INV-2026-000042'), 'invoice-INV-2026-000042.pdf');
  assert.equal(orders.documentFile('credit-note', 'CN-2026-000003'), 'credit-note-CN-2026-000003.pdf');
});

test("a paid order's invoice is listed with its number and downloaded as a PDF with the session's token", async (t) => {
  const {saved, revoked} = downloads(t);
  show(main, await orders.detail('o1'));
  assert.deepEqual(documents(), [`Invoice INV-2026-000042, issued ${new Date(INVOICE.issued_at).toLocaleString()}`]);
  assert.equal(main.querySelector('ul.documents').getAttribute('aria-label'), 'Documents');
  assert.equal(main.querySelector('ul.documents time').getAttribute('datetime'), INVOICE.issued_at);
  assert.equal(button('Download credit note (PDF)'), undefined, 'no credit note before a full refund');

  button('Download invoice (PDF)').click();
  await until(() => revoked.length > 0, 'the object URL is revoked');
  const call = calls.findLast((c) => c.path === '/api/orders/o1/invoice');
  assert.equal(call.method, 'GET');
  assert.equal(call.headers.get('accept'), 'application/pdf');
  assert.equal(call.headers.get('authorization'), `Bearer ${TOKEN}`);
  assert.deepEqual(
    saved.map(({url, download}) => ({url, download})),
    [{url: 'blob:http://shop.test/1', download: 'invoice-INV-2026-000042.pdf'}],
  );
  assert.equal(await saved[0].blob.text(), PDF);
  assert.deepEqual(revoked, ['blob:http://shop.test/1']);
  assert.equal(document.querySelector('a[download]'), null, 'the link is gone');
  assert.equal(main.querySelector('[role=alert]'), null);
});

test('an order refunded in full has its credit note beside its invoice', async (t) => {
  const {saved} = downloads(t);
  show(main, await orders.detail('o2'));
  assert.deepEqual(documents(), [
    `Invoice INV-2026-000042, issued ${new Date(INVOICE.issued_at).toLocaleString()}`,
    `Credit note CN-2026-000003, issued ${new Date(CREDIT_NOTE.issued_at).toLocaleString()}`,
  ]);
  button('Download credit note (PDF)').click();
  await until(() => saved.length > 0, 'the credit note is saved');
  assert.equal(calls.at(-1).path, '/api/orders/o2/credit-note');
  assert.equal(calls.at(-1).headers.get('accept'), 'application/pdf');
  assert.equal(saved[0].download, 'credit-note-CN-2026-000003.pdf');
});

test('an order not paid has no document; a document the API refuses is said at its button', async (t) => {
  show(main, await orders.detail('o3'));
  assert.equal(main.querySelector('ul.documents'), null);
  assert.equal(button('Download invoice (PDF)'), undefined);

  // An invoice the API does not answer (the stand-in has none for o5): its 404 is told.
  const {saved} = downloads(t);
  show(main, await orders.detail('o5'));
  button('Download invoice (PDF)').click();
  await until(() => main.querySelector('[role=alert]'), 'the refusal is shown');
  assert.equal(text(main.querySelector('ul.documents [role=alert]')), 'No /api/orders/o5/invoice.');
  assert.equal(calls.at(-1).path, '/api/orders/o5/invoice');
  assert.equal(button('Download invoice (PDF)').disabled, false, 'it can be tried again');
  assert.deepEqual(saved, []);
});

test("the back office's order list leads to the order's page: its breakdown, documents and actions", async (t) => {
  show(main, await admin.orders(new URLSearchParams()));
  const link = main.querySelector('tr[data-order="o1"] a');
  assert.equal(link.getAttribute('href'), '#/admin/orders/o1');

  const {saved} = downloads(t);
  show(main, await admin.order('o1'));
  assert.equal(text(main.querySelector('h1')), 'Order o1');
  const current = main.querySelector('nav[aria-label="Back office"] [aria-current=page]');
  assert.equal(text(current), 'Orders');
  assert.match(text(main), /Placed .* by customer u7/);
  // The same breakdown as the shopper's page: the discount, the shipping by its option, the VAT
  // said with the total.
  assert.deepEqual(rows(), [
    ['Subtotal', money(eur(1250))],
    ['Discount', `−${money(eur(125))}`],
    ['Shipping (Standard)', money(eur(490))],
    ['Total', `${money(eur(1615))}incl. ${money(eur(258))} tax`],
  ]);
  assert.equal(text(main.querySelector('tbody .line-discount')), `−${money(eur(125))} discount`);
  assert.ok(main.querySelector('form[aria-label="Ship o1"]'), 'a paid order can be shipped from here');
  assert.ok(main.querySelector('form[aria-label="Refund o1"]'));
  button('Download invoice (PDF)').click();
  await until(() => saved.length > 0, 'the invoice is saved');
  assert.equal(saved[0].download, 'invoice-INV-2026-000042.pdf');
});

test('the back office says who cancelled an order as the shop would, the shopper’s page as the shopper would', async () => {
  show(main, await admin.order('o4'));
  assert.match(text(main.querySelector('ol.history')), /Cancelled \(by the shopper\)/);
  show(main, await orders.detail('o4'));
  assert.match(text(main.querySelector('ol.history')), /Cancelled \(by you\)/);
});
