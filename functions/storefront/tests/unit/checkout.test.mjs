// The checkout's refusals are told in its form, the limit on unpaid orders and on units of one
// product among them: in jsdom against a stand-in API.

import {fakeApi, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';

const eur = (amount) => ({amount, currency: 'EUR'});
const LIMIT = {
  type: '/problems/order-limit',
  title: 'Conflict',
  status: 409,
  detail: 'an order may hold at most 10 units of one product',
  limit: 'units_per_product',
  max: 10,
};
const CART = {
  lines: [
    {
      product_id: 'p1',
      variant_id: 'v1',
      name: 'Lamp',
      options: {},
      quantity: 11,
      unit_price: eur(100),
      line_total: eur(1100),
    },
  ],
  total: eur(1100),
  ready_for_checkout: true,
};
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
  // A shop without shipping zones: no option to choose, and shipping for nothing.
  'GET /api/cart/shipping-options?country=DE': () => [200, []],
  'GET /api/cart?country=DE': () => [
    200,
    {
      ...CART,
      totals: {
        subtotal: eur(1100),
        discount: eur(0),
        shipping: eur(0),
        tax: eur(0),
        total: eur(1100),
        tax_included: true,
      },
      shipping: null,
    },
  ],
  'POST /api/orders': () => [409, LIMIT],
});
const cart = await import('../../assets/js/views/cart.js');
const main = document.getElementById('main');

test("an order over the shop's limits is refused with the API's word, and the shopper stays", async () => {
  location.hash = '#/checkout';
  show(main, await cart.checkout());
  const form = main.querySelector('form[aria-label="Shipping address"]');
  form.requestSubmit();
  await until(() => form.querySelector('[role=alert]'), 'the refusal is shown');
  assert.equal(form.querySelector('[role=alert]').textContent, LIMIT.detail);
  assert.equal(calls.filter((c) => c.path === '/api/orders').length, 1);
  assert.equal(location.hash, '#/checkout');
  assert.equal(form.querySelector('button[type=submit]').disabled, false, 'it can be tried again');
});
