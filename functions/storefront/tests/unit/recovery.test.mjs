// Carts left behind (views/recovery.js), the app as a whole in jsdom against a stand-in API: a
// reminder's link restores its cart into a visitor's, made a guest first, or a signed-in
// shopper's, and the cart is shown in the link's place, saying so; a link refused is said with
// the way to the shop; the guest's cart asks where reminders go (read, refused at the field,
// saved); and the unsubscribe link asks first, then sends its token alone.

import {MUG_CART, fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {ApiError, forget, signedIn} from '../../assets/js/api.js';
import {Refusal} from '../../assets/js/dom.js';
import {guestToken} from '../../assets/js/guest.js';
import {redraw} from '../../assets/js/nav.js';
import {linkRefusal} from '../../assets/js/views/recovery.js';

const EMPTY = {lines: [], total: {amount: 0, currency: 'EUR'}, totals: null, shipping: null, ready_for_checkout: false};
/** The API's refusal of a link's token, as it words it. */
const refused = (message) => [
  422,
  {
    type: '/problems/validation',
    title: 'Unprocessable Entity',
    status: 422,
    detail: `token: ${message}`,
    errors: [{field: 'token', message}],
  },
];
const BAD_EMAIL = {
  type: '/problems/validation',
  title: 'Unprocessable Entity',
  status: 422,
  detail: 'email: must be an email address like name@example.com',
  errors: [{field: 'email', message: 'must be an email address like name@example.com'}],
};

let minted = 0;
/** The guest's cart, empty until a link restores the mug's. */
let held = EMPTY;
/** Where the guest's reminders go, once they said. */
let contact = null;
const restoring = (body) => {
  // A link to a cart whose lines are all gone (sold out, off sale) restores none of them.
  if (body.token === 'restore.emptied') return [200, {...held, restored: 0}];
  if (body.token !== 'restore.good') return refused('the link has expired');
  held = MUG_CART;
  return [200, {...MUG_CART, restored: MUG_CART.lines.length}];
};
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: {max_quantity: 10}}],
  'POST /api/guest/tokens': () => [201, {token: `guest-${++minted}`}],
  'POST /api/guest/cart/restore': restoring,
  'POST /api/cart/restore': restoring,
  'GET /api/guest/cart': () => [200, held],
  'GET /api/cart': () => [200, MUG_CART],
  'GET /api/guest/cart/contact': () =>
    contact ? [200, contact] : [404, {title: 'Not Found', status: 404, detail: 'contact not found'}],
  'PUT /api/guest/cart/contact': (body) => {
    if (body.email === 'ada@localhost') return [422, BAD_EMAIL];
    contact = body;
    return [200, body];
  },
  'POST /api/unsubscribe': (body) =>
    body.token === 'unsubscribe.good'
      ? [204, undefined, {'content-type': 'text/plain'}]
      : refused('the link is not one the shop made'),
});

const main = document.getElementById('main');
const status = document.getElementById('status');
const drawn = () => main.dataset.shown === location.hash && !main.hasAttribute('aria-busy');
const to = (path) => calls.filter((c) => c.path === path);
/** The last call to `path`: `[its body, its guest token, its bearer]`. */
function lastTo(path) {
  const call = to(path).at(-1);
  return call && [call.body, call.headers.get('guest-token'), call.headers.get('authorization')];
}
const contactForm = () => main.querySelector('form[aria-label="Email me about my cart"]');

location.hash = '#/cart/restore/restore.good';
const entries = history.length;
await import('../../assets/js/app.js');
await until(() => location.hash === '#/cart' && drawn(), 'the cart is drawn in place of the link');

test("a reminder's link makes a visitor a guest, restores the cart into theirs, and shows it in the link's place, saying it is back", async () => {
  assert.equal(guestToken(), 'guest-1');
  assert.deepEqual(
    calls.slice(0, 3).map((c) => [c.method, c.path]),
    [
      ['GET', '/storefront.json'],
      ['POST', '/api/guest/tokens'],
      ['POST', '/api/guest/cart/restore'],
    ],
  );
  assert.deepEqual(lastTo('/api/guest/cart/restore'), [{token: 'restore.good'}, 'guest-1', null]);
  assert.equal(history.length, entries, 'going back does not restore it again');
  assert.equal(main.querySelector('h1').textContent, 'Your cart');
  assert.equal(document.title, 'Your cart · Shop');
  assert.equal(document.getElementById('restored').textContent, 'Your cart is back.');
  assert.equal(main.querySelector('tbody th a').textContent, 'Mug');
  await until(() => status.textContent === 'Your cart is back', 'said after the title');

  // Drawn again, the cart no longer says it.
  await redraw();
  assert.equal(document.getElementById('restored'), null);
});

test("the guest's cart asks where reminders go: nothing said yet, an address refused at its field, then saved with consent", async () => {
  const form = contactForm();
  assert.ok(form, 'a guest is asked');
  assert.equal(main.querySelector('#cart-contact').textContent, 'Email me about my cart');
  assert.deepEqual(lastTo('/api/guest/cart/contact'), [undefined, 'guest-1', null]);
  const email = form.elements.namedItem('email');
  const marketing = form.elements.namedItem('marketing');
  assert.equal(email.labels[0].textContent, 'Email');
  assert.equal(email.type, 'email');
  assert.equal(email.autocomplete, 'email');
  assert.equal(email.value, '', 'none said yet (404)');
  assert.equal(marketing.type, 'checkbox');
  assert.equal(marketing.checked, false, 'no marketing email until the guest says so');
  assert.equal(marketing.closest('label').textContent, 'Remind me if I leave my cart (marketing email)');

  email.value = 'ada@localhost';
  marketing.checked = true;
  form.requestSubmit();
  await until(() => document.getElementById('f-email-error'), 'the refusal is said at the field');
  assert.equal(document.getElementById('f-email-error').textContent, BAD_EMAIL.errors[0].message);
  assert.equal(email.getAttribute('aria-invalid'), 'true');
  assert.equal(contact, null);

  email.value = ' ada@example.com ';
  form.requestSubmit();
  const saved = form.querySelector('[role=status]');
  await until(() => saved.textContent, 'saved');
  assert.equal(saved.textContent, 'Saved: if you leave your cart, a reminder goes to ada@example.com.');
  assert.equal(email.hasAttribute('aria-invalid'), false);
  assert.equal(form.querySelector('[role=alert]'), null);
  const put = calls.findLast((c) => c.method === 'PUT');
  assert.deepEqual([put.path, put.body], ['/api/guest/cart/contact', {email: 'ada@example.com', marketing: true}]);
  assert.equal(put.headers.get('guest-token'), 'guest-1');
  assert.equal(put.headers.has('authorization'), false);
  await until(() => status.textContent === 'Your email is saved');

  // Drawn again, the form holds what the guest said.
  await redraw();
  assert.equal(contactForm().elements.namedItem('email').value, 'ada@example.com');
  assert.equal(contactForm().elements.namedItem('marketing').checked, true);
});

test('a link whose cart had nothing left to bring back says so over the cart as it is', async () => {
  location.hash = '#/cart/restore/restore.emptied';
  await until(() => location.hash === '#/cart' && drawn(), 'the cart is drawn in place of the link');
  assert.deepEqual(lastTo('/api/guest/cart/restore'), [{token: 'restore.emptied'}, 'guest-1', null]);
  assert.equal(document.getElementById('restored').textContent, 'Nothing was left in that cart.');
  assert.equal(main.querySelector('tbody th a').textContent, 'Mug', 'the cart keeps what it held');
  await until(() => status.textContent === 'Nothing was left in that cart', 'said after the title');
});

test('a link the shop refuses is said, with the way to the shop, and restores nothing', async () => {
  location.hash = '#/cart/restore/restore.stale';
  await until(drawn, 'the refusal is drawn');
  assert.equal(document.title, 'Your cart could not be restored · Shop');
  assert.equal(main.querySelector('[role=alert]').textContent, 'The link has expired.');
  const shop = main.querySelector('a[href="#/"]');
  assert.equal(shop.textContent, 'Go to the shop.');
  assert.deepEqual(lastTo('/api/guest/cart/restore'), [{token: 'restore.stale'}, 'guest-1', null]);
  assert.equal(minted, 1, 'a guest is one already');
});

test("a signed-in shopper's link restores into the account's cart with the session's token; their cart asks no guest's address", async () => {
  signedIn({
    id_token: idToken({sub: 'u1', email: 'ada@example.com'}),
    access_token: 'a',
    refresh_token: 'r',
    expires_in: 3600,
  });
  const asked = to('/api/guest/cart/contact').length;
  location.hash = '#/cart/restore/restore.good';
  await until(() => location.hash === '#/cart' && drawn(), 'the cart is drawn in place of the link');
  const [body, guest, bearer] = lastTo('/api/cart/restore');
  assert.deepEqual(body, {token: 'restore.good'});
  assert.equal(guest, null);
  assert.match(bearer, /^Bearer /);
  assert.equal(minted, 1, 'a signed-in shopper is made no guest');
  assert.equal(document.getElementById('restored').textContent, 'Your cart is back.');
  assert.equal(contactForm(), null, "an account's reminders follow its profile");
  assert.equal(to('/api/guest/cart/contact').length, asked);
});

test('the unsubscribe link asks first, then stops marketing email with the link’s token alone', async () => {
  location.hash = '#/unsubscribe/unsubscribe.good';
  await until(drawn, 'the question is drawn');
  assert.equal(document.title, 'Stop marketing email? · Shop');
  assert.equal(to('/api/unsubscribe').length, 0, 'arriving (a mail scanner opening the link) does nothing');
  const stop = [...main.querySelectorAll('button')].find((b) => b.textContent === 'Stop marketing email');
  assert.equal(stop.type, 'button');
  stop.click();
  const done = main.querySelector('[role=status]');
  await until(() => done.textContent, 'unsubscribed');
  assert.equal(done.textContent, 'You will get no more marketing email from the shop.');
  assert.equal(stop.hidden, true);
  // Signed in as the shopper is, the call sends neither the session's token nor a guest's.
  assert.deepEqual(lastTo('/api/unsubscribe'), [{token: 'unsubscribe.good'}, null, null]);

  location.hash = '#/unsubscribe/forged';
  await until(() => drawn() && main.querySelector('button')?.textContent === 'Stop marketing email');
  const again = main.querySelector('button');
  again.click();
  await until(() => main.querySelector('[role=alert]'), 'the refusal is said');
  assert.equal(main.querySelector('[role=alert]').textContent, 'The link is not one the shop made.');
  assert.equal(again.nextElementSibling.getAttribute('role'), 'alert', 'said at the button');
  assert.equal(again.hidden, false);
  assert.equal(main.querySelector('[role=status]').textContent, '');
  forget();
});

test("linkRefusal() words a link's refused token as the page's own sentence; any other problem is left as it is", () => {
  const [, expired] = refused('the link has expired');
  const said = linkRefusal(new ApiError(422, expired));
  assert.ok(said instanceof Refusal);
  assert.equal(said.message, 'The link has expired.');
  const dotted = {...expired, errors: [{field: 'token', message: 'the link has expired.'}]};
  assert.equal(linkRefusal(new ApiError(422, dotted)).message, 'The link has expired.');
  const other = new ApiError(422, BAD_EMAIL);
  assert.equal(linkRefusal(other), other);
  const down = new ApiError(503, null);
  assert.equal(linkRefusal(down), down);
});
