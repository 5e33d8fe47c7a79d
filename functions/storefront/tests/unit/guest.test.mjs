// Shopping as a guest (guest.js, and api.js's calls), in jsdom against a stand-in API: the
// visitor's token, kept in localStorage, minted at the first add to a cart (once however many
// ask) and again, once, when the shop says it ended; which calls go to the guest routes, with
// which token (the visitor's, or an order's link's) and never a session's; a guest's checkout,
// which asks for the email and offers no address book; an order read through its email's link;
// and signing in, which leaves the guest's cart behind.

import {ADA_IN_BERLIN, MUG_CART, fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';
import {forget, get, signedIn, startGuest} from '../../assets/js/api.js';
import {forgetGuest, guestRoute, guestToken, keepGuest, orderRoute, useLink} from '../../assets/js/guest.js';

const eur = (amount) => ({amount, currency: 'EUR'});
const problem = (detail) => [401, {title: 'Unauthorized', status: 401, detail}];
const ENDED = problem('this guest token has expired; start a new cart');
const FORGED = problem('the guest token is not valid; start a new cart');
const MUG = {
  id: 'p1',
  name: 'Mug',
  description: 'A mug.',
  category: 'kitchen',
  active: true,
  options: [],
  variants: [{id: 'v1', sku: 'MUG-1', options: {}, price: eur(1250), stock: 5}],
  price: eur(1250),
  stock: 5,
};
const ORDER = {
  id: 'o7',
  status: 'PENDING_PAYMENT',
  lines: [{name: 'Mug', options: {}, quantity: 1, unit_price: eur(1250), line_total: eur(1250)}],
  total: eur(1250),
  shipping_address: {name: 'Ada', line1: '1 Main St', postal_code: '10115', city: 'Berlin', country: 'DE'},
  history: [{status: 'PENDING_PAYMENT', at: '2026-12-06T10:00:00Z'}],
};

let minted = 0;
/** The guest tokens the stand-in refuses as ended. */
const ended = new Set();
/** The guest token the call being answered sent. */
const sent = () => calls.at(-1).headers.get('guest-token');
const asGuest = (answer) => () => (ended.has(sent()) ? ENDED : answer);
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: {max_quantity: 10}}],
  'GET /api/products/p1': () => [200, MUG],
  'POST /api/guest/tokens': () => [201, {token: `guest-${++minted}`}],
  'GET /api/guest/cart': asGuest([200, MUG_CART]),
  'PUT /api/guest/cart/items/v1': asGuest([200, MUG_CART]),
  'GET /api/guest/cart/shipping-options?country=DE': asGuest([200, []]),
  'GET /api/guest/cart?country=DE': asGuest([200, MUG_CART]),
  'POST /api/guest/orders': asGuest([201, {...ORDER, id: 'o9'}]),
  'GET /api/guest/orders/o7': () => (sent() === 'link.o7' ? [200, ORDER] : FORGED),
  'GET /api/guest/orders/o6': () => FORGED,
  'GET /api/cart': () => [200, MUG_CART],
});
const shop = await import('../../assets/js/views/shop.js');
const cart = await import('../../assets/js/views/cart.js');
const orders = await import('../../assets/js/views/orders.js');
const main = document.getElementById('main');

/** The last call to `path`: `[path, its guest token, whether it sent a session's]`. */
function lastTo(path) {
  const call = calls.findLast((c) => c.path === path);
  return call && [call.path, call.headers.get('guest-token'), call.headers.has('authorization')];
}
const mints = () => calls.filter((c) => c.path === '/api/guest/tokens').length;

test('the guest token is kept in localStorage until it is forgotten', () => {
  assert.equal(guestToken(), null);
  keepGuest('guest-0');
  assert.equal(window.localStorage.getItem('shop.guest'), 'guest-0');
  assert.equal(guestToken(), 'guest-0');
  forgetGuest();
  assert.equal(guestToken(), null);
});

test("a guest's calls to the cart, the checkout and an order go to the guest routes with their token; others, and a signed-in shopper's, as they are", () => {
  assert.equal(guestRoute('GET', '/api/cart', false), null, 'a visitor with no token is no guest yet');
  keepGuest('guest-0');
  const twinned = [
    ['GET', '/api/cart'],
    ['DELETE', '/api/cart'],
    ['GET', '/api/cart?country=US&region=CA&shipping_option=ground'],
    ['GET', '/api/cart/shipping-options?country=DE'],
    ['PUT', '/api/cart/items/v1'],
    ['DELETE', '/api/cart/items/v1'],
    ['PUT', '/api/cart/promotion'],
    ['DELETE', '/api/cart/promotion'],
    ['POST', '/api/orders'],
    ['GET', '/api/orders/o1'],
    ['POST', '/api/orders/o1/cancel'],
    ['GET', '/api/orders/o1/invoice'],
    ['GET', '/api/orders/o1/credit-note'],
    ['POST', '/api/orders/o1/payment'],
    ['POST', '/api/orders/o1/payment/capture'],
    ['POST', '/api/orders/o1/returns'],
  ];
  for (const [method, path] of twinned) {
    const twin = path.replace('/api/', '/api/guest/');
    assert.deepEqual(guestRoute(method, path, false), {path: twin, token: 'guest-0', stored: true}, path);
    assert.equal(guestRoute(method, path, true), null, `${path} signed in`);
  }
  const asIs = [
    ['GET', '/api/orders?limit=20'],
    ['GET', '/api/users/me'],
    ['GET', '/api/users/me/addresses'],
    ['GET', '/api/products/p1'],
    ['POST', '/api/orders/o1/refunds'],
    ['PUT', '/api/orders/o1/status'],
    ['GET', '/api/cartography'],
    ['POST', '/_simulator/payments/pay1/confirm'],
  ];
  for (const [method, path] of asIs) assert.equal(guestRoute(method, path, false), null, path);
  forgetGuest();
});

test("an order's link token reaches that order alone, whoever is signed in, and its views are the link's", () => {
  useLink('o7', 'link.o7');
  for (const signedIn of [false, true]) {
    const link = (path) => ({path: path.replace('/api/', '/api/guest/'), token: 'link.o7', stored: false});
    assert.deepEqual(guestRoute('GET', '/api/orders/o7', signedIn), link('/api/orders/o7'));
    assert.deepEqual(guestRoute('POST', '/api/orders/o7/payment', signedIn), link('/api/orders/o7/payment'));
    assert.equal(guestRoute('GET', '/api/orders/o8', signedIn), null);
    assert.equal(guestRoute('GET', '/api/cart', signedIn), null, 'a link reaches no cart');
  }
  assert.equal(orderRoute('o7'), 'guest/orders/o7/link.o7');
  assert.equal(orderRoute('o8'), 'orders/o8');
});

test('a visitor is offered the cart, and their first add makes them a guest, minted once however many ask', async () => {
  show(main, await shop.product('p1'));
  const form = main.querySelector('form[aria-label="Add to cart"]');
  form.requestSubmit();
  await until(() => main.querySelector('p.ok[role=status]'), 'the line is added');
  assert.equal(guestToken(), 'guest-1');
  assert.deepEqual(
    calls.slice(-3).map((c) => [c.method, c.path, c.headers.get('guest-token')]),
    [
      ['POST', '/api/guest/tokens', null],
      ['GET', '/api/guest/cart', 'guest-1'],
      ['PUT', '/api/guest/cart/items/v1', 'guest-1'],
    ],
  );
  assert.deepEqual(calls.at(-1).body, {quantity: 1});
  assert.equal(calls.at(-1).headers.has('authorization'), false);
  await startGuest();
  assert.equal(mints(), 1, 'a guest is one already');
  forgetGuest();
  await Promise.all([startGuest(), startGuest()]);
  assert.equal(mints(), 2);
  assert.equal(guestToken(), 'guest-2');
});

test('a guest token the shop says ended is dropped and a new one minted, once', async () => {
  ended.add('guest-2');
  assert.deepEqual(await get('/api/cart'), MUG_CART);
  assert.equal(guestToken(), 'guest-3');
  assert.deepEqual(
    calls.slice(-3).map((c) => [c.path, c.headers.get('guest-token')]),
    [
      ['/api/guest/cart', 'guest-2'],
      ['/api/guest/tokens', null],
      ['/api/guest/cart', 'guest-3'],
    ],
  );
  ended.add('guest-3').add('guest-4');
  await assert.rejects(get('/api/cart'), {status: 401});
  assert.equal(mints(), 4, 'one new token, not one after another');
  ended.clear();
});

test("a link's token refused leaves the visitor's own alone", async () => {
  useLink('o6', 'forged');
  const held = guestToken();
  await assert.rejects(get('/api/orders/o6'), {status: 401, message: /not valid/});
  assert.equal(guestToken(), held);
  assert.equal(mints(), 4);
});

test("a guest's checkout asks for the email, labelled as the other fields are, offers no address book, and places the order as the guest", async () => {
  location.hash = '#/checkout';
  show(main, await cart.checkout());
  const form = main.querySelector('form[aria-label="Shipping address"]');
  const email = form.elements.namedItem('email');
  assert.equal(email.type, 'email');
  assert.equal(email.required, true);
  assert.equal(email.autocomplete, 'email');
  assert.equal(email.labels[0].textContent, 'Email');
  assert.equal(
    document.getElementById(email.getAttribute('aria-describedby')).textContent,
    form.querySelector('small').textContent,
  );
  assert.equal(form.querySelector('.ship-to'), null);
  assert.equal(form.elements.namedItem('save_address'), null);
  assert.equal(calls.filter((c) => c.path.startsWith('/api/users/')).length, 0, 'a guest has no profile');

  const values = {
    email: 'ada@example.com',
    address_name: 'Ada',
    line1: '1 Main St',
    postal_code: '10115',
    city: 'Berlin',
  };
  for (const [name, value] of Object.entries(values)) form.elements.namedItem(name).value = value;
  const country = form.elements.namedItem('country');
  country.value = 'DE';
  country.dispatchEvent(new window.Event('input', {bubbles: true}));
  await until(() => lastTo('/api/guest/cart?country=DE'), 'priced for Germany as the guest');
  form.requestSubmit();
  await until(() => location.hash === '#/orders/o9/pay', 'on to paying');
  const placed = calls.findLast((c) => c.path === '/api/guest/orders');
  assert.deepEqual(placed.body, {
    shipping_address: ADA_IN_BERLIN,
    email: 'ada@example.com',
  });
  assert.equal(placed.headers.get('guest-token'), 'guest-4');
  assert.ok(placed.headers.get('idempotency-key'));
  assert.deepEqual(lastTo('/api/guest/cart/shipping-options?country=DE'), [
    '/api/guest/cart/shipping-options?country=DE',
    'guest-4',
    false,
  ]);
});

test("an order's page through its link reads it with the link's token, and pays it through the link", async () => {
  show(main, await orders.detail('o7'));
  assert.equal(main.querySelector('h1').textContent, 'Order o7');
  assert.deepEqual(lastTo('/api/guest/orders/o7'), ['/api/guest/orders/o7', 'link.o7', false]);
  const pay = [...main.querySelectorAll('a')].find((a) => a.textContent === 'Pay now');
  assert.equal(pay.getAttribute('href'), '#/guest/orders/o7/link.o7/pay');
  assert.ok([...main.querySelectorAll('button')].some((b) => b.textContent === 'Cancel order'));
});

test("signing in leaves the guest's cart behind; an order's link still reads it as the link", async () => {
  assert.ok(guestToken());
  signedIn({
    id_token: idToken({sub: 'u1', email: 'ada@example.com'}),
    access_token: 'a',
    refresh_token: 'r',
    expires_in: 3600,
  });
  assert.equal(guestToken(), null);
  await get('/api/cart');
  assert.deepEqual(lastTo('/api/cart'), ['/api/cart', null, true]);
  await get('/api/orders/o7');
  assert.deepEqual(lastTo('/api/guest/orders/o7'), ['/api/guest/orders/o7', 'link.o7', false]);
  forget();
});
