// Discount codes, in jsdom against a stand-in API: a code applied at checkout (sent as typed,
// shown with the promotions it gives, and the totals priced again with its discount), a code the
// API refuses said at the field (unknown: 409; malformed: 422), a code taken off, a code that
// gives nothing now said as the cart says it, a checkout refused because the code was used up
// meanwhile; the cart's lines and total with their discounts; and an order's.

import {MUG_CART, fakeApi, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show, money, useCurrencyDigits} from '../../assets/js/dom.js';
import {drawWith} from '../../assets/js/nav.js';

useCurrencyDigits({EUR: 2});
const eur = (amount) => ({amount, currency: 'EUR'});
const off = (amount) => `−${money(eur(amount))}`;
const SAVE10 = {id: 'save10', name: 'Ten percent off', code: 'SAVE10', amount: eur(125)};

/** The cart's code (as the API upper-cases it), and why it gives nothing now (if it does not). */
let code = null;
let codeProblem = null;
/** The cart as the API answers it: a mug of €12.50, 10 % off while the code gives it; with
 *  totals when asked for a destination (a shop without zones: shipping for nothing). */
function cartView(priced) {
  const discount = code && !codeProblem ? eur(125) : null;
  const view = {
    lines: [{...MUG_CART.lines[0], discount, stock: 5}],
    total: eur(1250),
    promotion_code: code,
    promotion_problem: codeProblem,
    promotions: discount ? [SAVE10] : [],
    totals: null,
    shipping: null,
    ready_for_checkout: true,
  };
  if (priced) {
    view.totals = {
      subtotal: eur(1250),
      discount: discount ?? eur(0),
      shipping: eur(0),
      tax: eur(0),
      total: eur(1250 - (discount?.amount ?? 0)),
      tax_included: true,
    };
  }
  return [200, view];
}
const problem = (status, type, detail, more = {}) => [
  status,
  {type, title: status === 409 ? 'Conflict' : 'Unprocessable Entity', status, detail, ...more},
];
const USED_UP = 'code SAVE10 has been used as often as it may be';
const ORDER = {
  id: 'o1',
  status: 'PENDING_PAYMENT',
  total: eur(2125),
  totals: {
    subtotal: eur(2500),
    discount: eur(375),
    shipping: eur(0),
    tax: eur(0),
    total: eur(2125),
    tax_included: true,
  },
  promotions: [SAVE10, {id: 'books', name: 'Books week', amount: eur(250)}],
  lines: [
    {
      product_id: 'p1',
      variant_id: 'p1',
      name: 'Mug',
      options: {},
      unit_price: eur(1250),
      quantity: 1,
      line_total: eur(1250),
      discount: eur(125),
    },
    {
      product_id: 'p2',
      variant_id: 'p2',
      name: 'Atlas',
      options: {},
      unit_price: eur(1250),
      quantity: 1,
      line_total: eur(1250),
      discount: eur(250),
    },
  ],
  shipping_address: {name: 'Ada', line1: '1 Main St', postal_code: '10115', city: 'Berlin', country: 'DE'},
  history: [{status: 'PENDING_PAYMENT', at: '2026-12-01T10:00:00Z'}],
};

/** How the API answers the next order placed. */
let placing = () => [201, ORDER];
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: {max_quantity: 10}}],
  'GET /api/cart': () => cartView(false),
  'GET /api/cart?country=DE': () => cartView(true),
  'GET /api/cart/shipping-options?country=DE': () => [200, []],
  'GET /api/users/me': () => [
    200,
    {
      id: 'u1',
      name: 'Ada',
      address: {name: 'Ada', line1: '1 Main St', postal_code: '10115', city: 'Berlin', country: 'DE'},
    },
  ],
  // No saved addresses: the checkout's form is the address.
  'GET /api/users/me/addresses': () => [200, []],
  'PUT /api/cart/promotion': (body) => {
    const wanted = body.code.trim().toUpperCase();
    if (!/^[A-Z0-9_-]{3,32}$/.test(wanted)) {
      return problem(422, '/problems/validation', "code: a code is 3 to 32 letters, digits, '-' or '_'", {
        errors: [{field: 'code', message: "a code is 3 to 32 letters, digits, '-' or '_'"}],
      });
    }
    if (wanted !== 'SAVE10')
      return problem(409, '/problems/promotion-unavailable', `there is no promotion with code ${wanted}`);
    code = wanted;
    return cartView(false);
  },
  'DELETE /api/cart/promotion': () => {
    code = null;
    codeProblem = null;
    return [204, undefined, {'content-type': 'text/plain'}];
  },
  'POST /api/orders': (body) => placing(body),
  'GET /api/orders/o1': () => [200, ORDER],
  'GET /api/orders/o2': () => [
    200,
    {
      ...ORDER,
      id: 'o2',
      total: eur(2500),
      totals: {...ORDER.totals, discount: eur(0), total: eur(2500)},
      promotions: undefined,
      lines: ORDER.lines.map((line) => ({...line, discount: undefined})),
    },
  ],
});
const cart = await import('../../assets/js/views/cart.js');
const orders = await import('../../assets/js/views/orders.js');
const main = document.getElementById('main');
// An action's redrawing draws the cart again, as the app's router does.
drawWith(async () => show(main, await cart.view()));

async function checkout() {
  location.hash = '#/checkout';
  show(main, await cart.checkout());
  await until(() => totals().length > 0, 'the totals are shown');
}

const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const codeForm = () => main.querySelector('form[aria-label="Discount code"]');
const totals = () => [...main.querySelectorAll('#totals tr')].map((tr) => [...tr.cells].map(text));
const applied = () => main.querySelector('#promotion-code')?.textContent ?? null;
const promotions = () => [...main.querySelectorAll('ul.promotions li')].map(text);
const button = (name) => [...main.querySelectorAll('button')].find((b) => text(b) === name);

/** Types `value` in the code field and applies it. */
function apply(value) {
  const form = codeForm();
  form.elements.namedItem('code').value = value;
  form.requestSubmit();
  return form;
}

test('a code applied at checkout is sent as typed, shown with what it takes off, and the totals priced again', async () => {
  code = null;
  await checkout();
  assert.deepEqual(totals(), [
    ['Subtotal', money(eur(1250))],
    ['Shipping', 'Free'],
    ['Total', money(eur(1250))],
  ]);
  assert.equal(applied(), null);
  assert.equal(button('Remove code'), undefined);
  const priced = calls.filter((c) => c.path === '/api/cart?country=DE').length;

  const form = apply('save10');
  await until(() => totals().some(([label]) => label === 'Discount'), 'the totals are priced again');
  assert.deepEqual(
    calls.findLast((c) => c.path === '/api/cart/promotion'),
    {method: 'PUT', path: '/api/cart/promotion', body: {code: 'save10'}},
  );
  assert.deepEqual(totals(), [
    ['Subtotal', money(eur(1250))],
    ['Discount', off(125)],
    ['Shipping', 'Free'],
    ['Total', money(eur(1125))],
  ]);
  assert.equal(calls.filter((c) => c.path === '/api/cart?country=DE').length, priced + 1);
  assert.equal(applied(), 'SAVE10');
  assert.deepEqual(promotions(), [`Ten percent off (SAVE10): ${off(125)}`]);
  assert.equal(form.elements.namedItem('code').value, '', 'the field is ready for another');
  assert.equal(form.querySelector('[role=alert]'), null);
  assert.ok(button('Remove code'));
});

test('a code no promotion has is said at the field, and the cart stays as it was', async () => {
  code = null;
  await checkout();
  const form = apply('nope');
  await until(() => form.querySelector('[role=alert]'), 'the refusal is shown');
  assert.equal(text(form.querySelector('[role=alert]')), 'there is no promotion with code NOPE');
  assert.equal(form.elements.namedItem('code').value, 'nope', 'what was typed stays, to be corrected');
  assert.equal(applied(), null);
  assert.deepEqual(promotions(), []);
  assert.equal(
    totals().find(([label]) => label === 'Discount'),
    undefined,
  );
  assert.equal(form.querySelector('button[type=submit]').disabled, false);

  // Corrected, the refusal goes.
  apply('SAVE10');
  await until(() => applied() === 'SAVE10', 'the code is applied');
  assert.equal(form.querySelector('[role=alert]'), null);
});

test('a malformed code is refused at its input with the API’s word, and an empty one is not sent', async () => {
  code = null;
  await checkout();
  const sent = calls.filter((c) => c.path === '/api/cart/promotion').length;
  const form = apply('  ');
  await until(() => form.querySelector('[role=alert]'), 'the refusal is shown');
  assert.equal(text(form.querySelector('[role=alert]')), 'Enter a discount code.');
  assert.equal(calls.filter((c) => c.path === '/api/cart/promotion').length, sent);

  apply('x!');
  await until(() => document.getElementById('f-code-error'), 'the field is marked');
  assert.equal(document.getElementById('f-code-error').textContent, "a code is 3 to 32 letters, digits, '-' or '_'");
  assert.equal(form.elements.namedItem('code').getAttribute('aria-invalid'), 'true');
});

test('a code taken off is no longer shown, nor its discount', async () => {
  code = 'SAVE10';
  await checkout();
  assert.equal(applied(), 'SAVE10');
  assert.equal(totals()[1][0], 'Discount');
  button('Remove code').click();
  await until(() => totals().length && !totals().some(([label]) => label === 'Discount'), 'priced without it');
  assert.ok(calls.some((c) => c.method === 'DELETE' && c.path === '/api/cart/promotion'));
  assert.equal(applied(), null);
  assert.deepEqual(promotions(), []);
  assert.equal(button('Remove code'), undefined);
});

test('a code that gives nothing now is said as the cart says it, and the totals have no discount', async () => {
  code = 'SAVE10';
  codeProblem = USED_UP;
  await checkout();
  assert.equal(applied(), 'SAVE10');
  assert.equal(main.querySelector('#promotion-problem').textContent, USED_UP);
  assert.equal(
    totals().find(([label]) => label === 'Discount'),
    undefined,
  );
  codeProblem = null;
});

test('a checkout refused because the code was used up meanwhile says so at the code, priced without it', async () => {
  code = 'SAVE10';
  codeProblem = null;
  await checkout();
  assert.equal(totals()[1][0], 'Discount');
  placing = () => {
    codeProblem = USED_UP;
    return problem(409, '/problems/promotion-unavailable', USED_UP);
  };
  const address = main.querySelector('form[aria-label="Shipping address"]');
  address.requestSubmit();
  await until(() => codeForm().querySelector('[role=alert]'), 'the refusal is shown at the code');
  assert.equal(text(codeForm().querySelector('[role=alert]')), USED_UP);
  assert.equal(main.querySelector('#promotion-problem').textContent, USED_UP);
  assert.equal(
    totals().find(([label]) => label === 'Discount'),
    undefined,
  );
  assert.equal(address.querySelector('[role=alert]'), null, 'said once, where it belongs');
  assert.equal(address.querySelector('button[type=submit]').disabled, false);
  assert.equal(location.hash, '#/checkout');

  // Taken off, the order goes through, naming no code: the cart's own is the one used.
  let sent = null;
  placing = (body) => ((sent = body), [201, ORDER]);
  button('Remove code').click();
  await until(() => applied() === null, 'the code is taken off');
  assert.equal(codeForm().querySelector('[role=alert]'), null);
  address.requestSubmit();
  await until(() => location.hash === '#/orders/o1/pay', 'the order is placed');
  assert.equal('promotion_code' in sent, false);
});

test("the cart shows each line's discount and the total after it, and a code taken off there redraws it", async () => {
  code = 'SAVE10';
  location.hash = '#/cart';
  show(main, await cart.view());
  const line = main.querySelector('tbody tr');
  assert.equal(text(line.cells[3]), `${money(eur(1250))}${off(125)} discount`);
  const footer = [...main.querySelectorAll('tfoot tr')].map((tr) => [...tr.cells].slice(0, 2).map(text));
  assert.deepEqual(footer, [
    ['Subtotal', money(eur(1250))],
    ['Discount', off(125)],
    ['Total', money(eur(1125))],
  ]);
  assert.equal(document.getElementById('cart-total').textContent, money(eur(1125)));
  assert.deepEqual(promotions(), [`Ten percent off (SAVE10): ${off(125)}`]);

  button('Remove code').click();
  await until(() => !main.querySelector('#promotion-code'), 'the cart is drawn again');
  assert.equal(main.querySelector('.line-discount'), null);
  assert.deepEqual(
    [...main.querySelectorAll('tfoot tr')].map((tr) => text(tr.cells[0])),
    ['Total'],
  );
  assert.equal(document.getElementById('cart-total').textContent, money(eur(1250)));

  apply('save10');
  await until(() => main.querySelector('#promotion-code'), 'the cart is drawn with the code');
  assert.equal(document.getElementById('cart-total').textContent, money(eur(1125)));
});

test("an order shows each line's discount, the promotions it got, and the discount in its totals", async () => {
  show(main, await orders.detail('o1'));
  const lines = [...main.querySelectorAll('tbody tr')].map((tr) => text(tr.cells[3]));
  assert.deepEqual(lines, [`${money(eur(1250))}${off(125)} discount`, `${money(eur(1250))}${off(250)} discount`]);
  const rows = [...main.querySelectorAll('tfoot tr')].map((tr) => [...tr.cells].map(text));
  assert.deepEqual(rows, [
    ['Subtotal', money(eur(2500))],
    ['Discount', off(375)],
    ['Shipping', 'Free'],
    ['Total', money(eur(2125))],
  ]);
  assert.deepEqual(promotions(), [`Ten percent off (SAVE10): ${off(125)}`, `Books week: ${off(250)}`]);
  assert.equal(main.querySelector('ul.promotions').getAttribute('aria-label'), 'Promotions applied');

  // An order without promotions lists none, and no line says a discount.
  show(main, await orders.detail('o2'));
  assert.deepEqual(promotions(), []);
  assert.equal(main.querySelector('ul.promotions, .line-discount'), null);
  assert.doesNotMatch(text(main.querySelector('tfoot')), /Discount/);
});
