// The checkout's shipping and totals, in jsdom against a stand-in API: the options for the
// address's country (the cheapest chosen), the totals asked again as the country, the region or
// the option changes, the option sent with the order, a country not shipped to and a malformed
// address said where they belong; a region asked for in the US; and an order's totals.

import {ADA_IN_BERLIN, MUG_CART, fakeApi, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show, money, useCurrencyDigits} from '../../assets/js/dom.js';

useCurrencyDigits({EUR: 2, USD: 2});
const eur = (amount) => ({amount, currency: 'EUR'});
const usd = (amount) => ({amount, currency: 'USD'});
const CART = MUG_CART;
const OPTIONS = [
  {id: 'de-standard', name: 'Standard', price: eur(490), min_days: 2, max_days: 4},
  {id: 'de-express', name: 'Express', price: eur(990), min_days: 1, max_days: 1},
];
/** The cart priced going to Germany by `option` (one of `OPTIONS`), 19 % VAT included. */
function germany(option, tax) {
  const shipping = {
    option_id: option.id,
    name: option.name,
    min_days: option.min_days,
    max_days: option.max_days,
    price: option.price,
    net: eur(option.price.amount - tax),
    tax: eur(tax),
    rate: '19',
  };
  const totals = {
    subtotal: eur(1250),
    discount: eur(0),
    shipping: option.price,
    tax: eur(200 + tax),
    total: eur(1250 + option.price.amount),
    tax_included: true,
  };
  return [200, {...CART, totals, shipping}];
}
const problem = (type, detail, more = {}) => [422, {type, title: 'Unprocessable Entity', status: 422, detail, ...more}];
const NOT_SHIPPED = problem('/problems/shipping-unavailable', 'the shop does not ship to JP');
const BAD_POSTAL_CODE = problem('/problems/invalid-address', 'shipping_address.postal_code is invalid', {
  errors: [{field: 'shipping_address.postal_code', message: 'is not a postal code of DE (like 11111)'}],
});
const ORDER = {
  id: 'o1',
  status: 'PENDING_PAYMENT',
  total: eur(2240),
  totals: {
    subtotal: eur(1250),
    discount: eur(0),
    shipping: eur(990),
    tax: eur(358),
    total: eur(2240),
    tax_included: true,
  },
  shipping: germany(OPTIONS[1], 158)[1].shipping,
  lines: [
    {
      product_id: 'p1',
      variant_id: 'p1',
      name: 'Mug',
      options: {},
      unit_price: eur(1250),
      quantity: 1,
      line_total: eur(1250),
      tax: {net: eur(1050), tax: eur(200), rate: '19'},
    },
  ],
  shipping_address: {name: 'Ada', line1: '1 Main St', postal_code: '10115', city: 'Berlin', country: 'DE'},
  history: [{status: 'PENDING_PAYMENT', at: '2026-12-01T10:00:00Z'}],
};

/** How the API answers the next order placed. */
let placing = () => [201, ORDER];
const calls = fakeApi({
  'GET /api/cart': () => [200, CART],
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
  'GET /api/cart/shipping-options?country=DE': () => [200, OPTIONS],
  'GET /api/cart?country=DE&shipping_option=de-standard': () => germany(OPTIONS[0], 78),
  'GET /api/cart?country=DE&shipping_option=de-express': () => germany(OPTIONS[1], 158),
  'GET /api/cart/shipping-options?country=JP': () => [200, []],
  'GET /api/cart?country=JP': () => NOT_SHIPPED,
  // A shop without zones: no option, and shipping for nothing.
  'GET /api/cart/shipping-options?country=CH': () => [200, []],
  'GET /api/cart?country=CH': () => [
    200,
    {
      ...CART,
      totals: {
        subtotal: eur(1250),
        discount: eur(0),
        shipping: eur(0),
        tax: eur(0),
        total: eur(1250),
        tax_included: true,
      },
    },
  ],
  'GET /api/cart/shipping-options?country=US': () => [200, []],
  'GET /api/cart?country=US': () => [200, CART],
  'GET /api/cart/shipping-options?country=US&region=CA': () => [200, []],
  'GET /api/cart?country=US&region=CA': () => [
    200,
    {
      ...CART,
      total: usd(1250),
      totals: {
        subtotal: usd(1250),
        discount: usd(0),
        shipping: usd(0),
        tax: usd(91),
        total: usd(1341),
        tax_included: false,
      },
    },
  ],
  'POST /api/orders': (body) => placing(body),
  'GET /api/orders/o1': () => [200, ORDER],
  'GET /api/orders/o0': () => [200, {...ORDER, id: 'o0', totals: undefined, shipping: undefined, total: eur(1250)}],
});
const cart = await import('../../assets/js/views/cart.js');
const orders = await import('../../assets/js/views/orders.js');
const main = document.getElementById('main');

async function checkout() {
  location.hash = '#/checkout';
  show(main, await cart.checkout());
  return main.querySelector('form[aria-label="Shipping address"]');
}

/** Types `value` into the form's field `name`, as a person does (its change once it is left). */
function type(form, name, value) {
  const input = form.elements.namedItem(name);
  input.value = value;
  input.dispatchEvent(new window.Event('input', {bubbles: true}));
  input.dispatchEvent(new window.Event('change', {bubbles: true}));
}

const radios = (form) =>
  [...form.querySelectorAll('input[name=shipping_option]')].map((r) => [r.parentElement.textContent, r.checked]);
const totals = () => [...main.querySelectorAll('#totals tr')].map((tr) => [...tr.cells].map((c) => c.textContent));
const shippingProblem = () => main.querySelector('.shipping-problem [role=alert]')?.textContent ?? null;

test("the options for the address's country are offered, the cheapest chosen, with the totals it makes", async () => {
  const form = await checkout();
  assert.deepEqual(radios(form), [
    [`Standard — ${money(eur(490))}, 2–4 days`, true],
    [`Express — ${money(eur(990))}, 1 day`, false],
  ]);
  assert.equal(form.querySelector('.shipping-options').hidden, false);
  assert.equal(form.querySelector('.shipping-options legend').textContent, 'Shipping');
  assert.deepEqual(totals(), [
    ['Subtotal', money(eur(1250))],
    ['Shipping (Standard)', money(eur(490))],
    ['Total', `${money(eur(1740))}incl. ${money(eur(278))} tax`],
  ]);
  assert.equal(shippingProblem(), null);
  // The region is not asked for in Germany.
  assert.equal(form.elements.namedItem('region').closest('.field').hidden, true);
});

test('another option prices the cart again, and the order is placed with it', async () => {
  let sent = null;
  placing = (body) => ((sent = body), [201, ORDER]);
  const form = await checkout();
  form.querySelector('input[value=de-express]').click();
  await until(() => totals()[1]?.[0] === 'Shipping (Express)', 'the totals follow the option');
  assert.deepEqual(totals(), [
    ['Subtotal', money(eur(1250))],
    ['Shipping (Express)', money(eur(990))],
    ['Total', `${money(eur(2240))}incl. ${money(eur(358))} tax`],
  ]);
  assert.ok(calls.some((c) => c.path === '/api/cart?country=DE&shipping_option=de-express'));
  form.requestSubmit();
  await until(() => location.hash === '#/orders/o1/pay', 'the order is placed');
  assert.deepEqual(sent, {
    shipping_address: ADA_IN_BERLIN,
    shipping_option: 'de-express',
  });
});

test('a country the shop does not ship to is said at the options, with no option and no totals', async () => {
  const form = await checkout();
  type(form, 'country', 'jp');
  await until(() => shippingProblem(), 'the refusal is shown');
  assert.equal(shippingProblem(), 'the shop does not ship to JP');
  assert.equal(form.querySelector('.shipping-options').hidden, true);
  assert.deepEqual(radios(form), []);
  assert.deepEqual(totals(), []);
  // Back to Germany: its options again, and the refusal gone.
  type(form, 'country', 'DE');
  await until(() => totals().length > 0, 'the totals are shown again');
  assert.equal(shippingProblem(), null);
  assert.equal(radios(form).length, 2);
});

test('a shop without shipping zones offers no option, ships for nothing, and the order names none', async () => {
  let sent = null;
  placing = (body) => ((sent = body), [201, ORDER]);
  const form = await checkout();
  type(form, 'postal_code', '8001');
  type(form, 'country', 'CH');
  await until(() => totals()[1]?.[1] === 'Free', 'the free shipping is shown');
  assert.deepEqual(totals(), [
    ['Subtotal', money(eur(1250))],
    ['Shipping', 'Free'],
    ['Total', money(eur(1250))],
  ]);
  assert.equal(form.querySelector('.shipping-options').hidden, true);
  assert.equal(shippingProblem(), null);
  form.requestSubmit();
  await until(() => sent, 'the order is placed');
  assert.equal('shipping_option' in sent, false);
  assert.equal(sent.shipping_address.country, 'CH');
});

test('a postal code that does not fit the country is said at its field', async () => {
  placing = () => BAD_POSTAL_CODE;
  const form = await checkout();
  type(form, 'postal_code', '1011');
  form.requestSubmit();
  await until(() => document.getElementById('f-postal_code-error'), 'the field is marked');
  assert.equal(document.getElementById('f-postal_code-error').textContent, 'is not a postal code of DE (like 11111)');
  assert.equal(form.elements.namedItem('postal_code').getAttribute('aria-invalid'), 'true');
  assert.equal(location.hash, '#/checkout');
});

test('an order refused its shipping says why at the options, asked for again', async () => {
  const detail = 'shipping option de-express is not available here; choose one of: de-standard';
  placing = () => problem('/problems/shipping-unavailable', detail);
  const form = await checkout();
  const asked = calls.filter((c) => c.path === '/api/cart/shipping-options?country=DE').length;
  form.requestSubmit();
  await until(() => shippingProblem(), 'the refusal is shown at the options');
  assert.equal(shippingProblem(), detail);
  assert.equal(calls.filter((c) => c.path === '/api/cart/shipping-options?country=DE').length, asked + 1);
  assert.equal(form.querySelector('.form-problem'), null, 'said once, where it belongs');
  assert.equal(form.querySelector('button[type=submit]').disabled, false);
  assert.equal(location.hash, '#/checkout');
});

test('the US asks for a state, prices with it, and adds the tax as a line of its own', async () => {
  const form = await checkout();
  const region = form.elements.namedItem('region');
  type(form, 'country', 'US');
  assert.equal(region.closest('.field').hidden, false);
  assert.equal(region.required, true);
  type(form, 'region', 'ca');
  await until(() => totals().some(([label]) => label === 'Tax'), 'the tax is added');
  assert.deepEqual(totals(), [
    ['Subtotal', money(usd(1250))],
    ['Shipping', 'Free'],
    ['Tax', money(usd(91))],
    ['Total', money(usd(1341))],
  ]);
  assert.ok(calls.some((c) => c.path === '/api/cart/shipping-options?country=US&region=CA'));
});

test('an order shows its totals and how it ships; an order from before them shows its total alone', async () => {
  show(main, await orders.detail('o1'));
  const rows = [...main.querySelectorAll('tfoot tr')].map((tr) => [...tr.cells].map((c) => c.textContent));
  assert.deepEqual(rows, [
    ['Subtotal', money(eur(1250))],
    ['Shipping (Express)', money(eur(990))],
    ['Total', `${money(eur(2240))}incl. ${money(eur(358))} tax`],
  ]);
  assert.equal(main.querySelector('#shipping-option').textContent, 'By Express (1 day)');

  show(main, await orders.detail('o0'));
  const old = [...main.querySelectorAll('tfoot tr')].map((tr) => [...tr.cells].map((c) => c.textContent));
  assert.deepEqual(old, [['Total', money(eur(1250))]]);
  assert.equal(main.querySelector('#shipping-option'), null);
  assert.doesNotMatch(main.textContent, /incl\./);
});
