// The app as a whole in jsdom, against a stand-in API: every view is drawn by the one drawing
// (title, focus, what `main` shows), a view's action redraws through it, and the rules the pages
// mirror (the cart's quantity cap, each currency's digits) come from `/storefront.json`.

import {fakeApi, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';

// Numbers no browser and no copy in the page would give: they can only come from the API.
const RULES = {max_quantity: 7, currency_digits: {HUF: 2, EUR: 2}};
let quantity = 2;
const huf = (amount) => ({amount, currency: 'HUF'});
const cart = () => ({
  lines: [
    {
      product_id: 'p1',
      variant_id: 'v1',
      name: 'Lamp',
      options: {},
      quantity,
      unit_price: huf(1999),
      line_total: huf(1999 * quantity),
    },
  ],
  total: huf(1999 * quantity),
  ready_for_checkout: true,
});
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: RULES}],
  'GET /api/cart': () => [200, cart()],
  'PUT /api/cart/items/v1': (body) => {
    if (body.quantity === 5) return [409, {title: 'Conflict', status: 409, detail: 'Only 4 left.'}];
    quantity = body.quantity;
    return [200, cart()];
  },
});

const main = document.getElementById('main');
const drawn = () => main.dataset.shown === location.hash && !main.hasAttribute('aria-busy');

location.hash = '#/cart';
await import('../../assets/js/app.js');
await until(drawn, 'the cart is drawn');

function setQuantity(value) {
  const input = document.getElementById('qty-v1');
  input.value = String(value);
  input.dispatchEvent(new window.Event('change'));
  return input;
}

test('the cart is drawn with its title, focus on it, and money in the digits the API counts', () => {
  assert.equal(document.title, 'Your cart · Shop');
  assert.equal(document.activeElement, main);
  assert.match(document.getElementById('cart-total').textContent, /\b39[.,]98\b/);
});

test("the quantity's cap is the API's", async () => {
  assert.equal(document.getElementById('qty-v1').getAttribute('max'), String(RULES.max_quantity));
  const input = setQuantity(8);
  await until(() => input.nextElementSibling?.getAttribute('role') === 'alert');
  assert.equal(input.nextElementSibling.textContent, 'Enter a whole number from 1 to 7.');
  assert.equal(calls.filter((c) => c.method === 'PUT').length, 0);
});

test('a quantity the API refuses says why at the field', async () => {
  const input = setQuantity(5);
  await until(() => input.nextElementSibling?.textContent === 'Only 4 left.');
  assert.equal(quantity, 2);
});

test('a changed quantity is sent, and the cart drawn again as arriving at it draws it', async () => {
  const before = document.getElementById('qty-v1');
  document.title = 'stale';
  setQuantity(3);
  await until(() => document.getElementById('qty-v1') !== before && drawn(), 'the cart is drawn again');
  assert.deepEqual(calls.findLast((c) => c.method === 'PUT').body, {quantity: 3});
  assert.equal(document.getElementById('qty-v1').value, '3');
  assert.match(document.getElementById('cart-total').textContent, /\b59[.,]97\b/);
  assert.equal(document.title, 'Your cart · Shop');
  assert.equal(document.activeElement, main);
});

test('a page the API refuses is drawn as a problem, titled like any other', async () => {
  location.hash = '#/orders/o1';
  await until(drawn, 'the order is drawn');
  assert.equal(document.title, 'Something is not right · Shop');
  assert.equal(main.querySelector('[role=alert]').textContent, 'No /api/orders/o1.');
  assert.equal(document.activeElement, main);
});
