// The storefront: one page whose address after `#` names the view. Each view is a function that
// fills `main` and may read the route's parts.

import {h, show, act, useCurrencyDigits, Refusal} from './dom.js';
import {ApiError, get, me, logOut, storefront} from './api.js';
import {here, go, drawWith} from './nav.js';
import {completeSignIn, signOutUrl} from './signin.js';
import {guestToken, useLink} from './guest.js';
import * as shop from './views/shop.js';
import * as account from './views/account.js';
import * as cart from './views/cart.js';
import * as orders from './views/orders.js';
import * as admin from './views/admin.js';
import * as pricing from './views/pricing.js';
import * as staff from './views/staff.js';
import * as returns from './views/returns.js';
import * as webhooks from './views/webhooks.js';
import * as recovery from './views/recovery.js';

const routes = [
  [/^$/, shop.home],
  [/^category\/([^/]+)$/, shop.category],
  [/^search$/, shop.search],
  [/^product\/([^/]+)$/, shop.product],
  [/^login$/, account.login],
  [/^signup$/, account.signup],
  [/^confirm$/, account.confirm],
  [/^forgot$/, account.forgot],
  [/^account$/, account.profile],
  [/^notifications$/, account.notifications],
  [/^unsubscribe\/([^/]+)$/, recovery.unsubscribe],
  [/^cart$/, cart.view],
  [/^cart\/restore\/([^/]+)$/, recovery.restore],
  [/^checkout$/, cart.checkout],
  [/^orders$/, orders.list],
  [/^orders\/([^/]+)$/, orders.detail],
  [/^orders\/([^/]+)\/pay$/, cart.pay],
  [/^guest\/orders\/([^/]+)\/([^/]+)$/, linked(orders.detail)],
  [/^guest\/orders\/([^/]+)\/([^/]+)\/pay$/, linked(cart.pay)],
  [/^admin$/, admin.products],
  [/^admin\/products\/new$/, admin.newProduct],
  [/^admin\/products\/([^/]+)$/, admin.editProduct],
  [/^admin\/orders$/, admin.orders],
  [/^admin\/orders\/([^/]+)$/, admin.order],
  [/^admin\/returns$/, returns.queue],
  [/^admin\/catalogue$/, admin.catalogue],
  [/^admin\/shipping$/, pricing.shipping],
  [/^admin\/promotions$/, pricing.promotions],
  [/^admin\/staff$/, staff.members],
  [/^admin\/audit$/, staff.audit],
  [/^admin\/webhooks$/, webhooks.list],
  [/^admin\/webhooks\/([^/]+)$/, webhooks.endpoint],
];

/** The view of the order an email's link reaches (`#/guest/orders/<id>/<token>`), read and acted
 *  on with the link's token. */
function linked(view) {
  return (id, token) => {
    useLink(id, token);
    return view(id);
  };
}

let drawings = 0;

/** Draws the view the address names: the app's one drawing, whether the address changed or a
 *  view asked for itself again (`redraw`). Only the latest drawing shows: one that began before
 *  the shopper went elsewhere, still waiting for the API, draws nothing. */
async function render() {
  const drawing = ++drawings;
  const main = document.getElementById('main');
  main.setAttribute('aria-busy', 'true');
  // The address is read once the page is ready: a sign-in's return names the view to show.
  await ready;
  const address = location.hash;
  const {path, params} = here();
  const route = routes.find(([pattern]) => pattern.test(path));
  let view;
  try {
    view = route ? await route[1](...path.match(route[0]).slice(1).map(decodeURIComponent), params) : notFound();
  } catch (error) {
    // An email's link that is refused is no matter of logging in: said as the API words it.
    if (error instanceof ApiError && error.status === 401 && !path.startsWith('guest/')) {
      view = [
        h('h1', {}, 'Please log in'),
        h('p', {}, h('a', {href: `#/login?then=${encodeURIComponent(path)}`}, 'Log in'), ' to see this page.'),
      ];
    } else if (error instanceof ApiError || error instanceof Refusal) {
      view = [h('h1', {}, 'Something is not right'), h('p', {class: 'problem', role: 'alert'}, error.message)];
    } else {
      if (drawing === drawings) drawn(main, address);
      throw error;
    }
  }
  // A later drawing shows instead; a view that sent the shopper elsewhere draws nothing (the
  // next route draws).
  if (drawing !== drawings || view === undefined) return;
  // Arriving says the page's title; drawing the same view again leaves the view's own word.
  show(main, view, {announced: address !== main.dataset.shown});
  drawn(main, address);
  await header();
}

/** Marks `main` as showing `address` (tests wait on it; so could a script of the shop's). */
function drawn(main, address) {
  main.removeAttribute('aria-busy');
  main.dataset.shown = address;
}

function notFound() {
  return [h('h1', {}, 'Not found'), h('p', {}, 'There is no such page. ', h('a', {href: '#/'}, 'Go to the shop.'))];
}

let headerDrawings = 0;

/** The account links: who is signed in, their cart (a guest's too), and the back office for
 *  staff (leading to the first of its pages their roles let them use). Only the latest call
 *  draws them: one begun before a log-out, still waiting for the cart, must not put back the
 *  links of the session that ended. */
async function header() {
  const drawing = ++headerDrawings;
  const person = me();
  const links = document.getElementById('account-links');
  const items = [];
  if (person || guestToken()) {
    let count = '';
    try {
      const cartView = await get('/api/cart');
      const units = cartView.lines.reduce((sum, line) => sum + line.quantity, 0);
      count = units ? ` (${units})` : '';
    } catch {
      /* an expired session shows as logged out below */
    }
    items.push(h('li', {}, h('a', {href: '#/cart', id: 'cart-link'}, `Cart${count}`)));
  }
  if (person) {
    items.push(h('li', {}, h('a', {href: '#/orders'}, 'Orders')));
    items.push(h('li', {}, h('a', {href: '#/account'}, 'Account')));
    const office = admin.backOffice();
    if (office) items.push(h('li', {}, h('a', {href: office}, 'Back office')));
    // The session ends at once; telling the API (which revokes the refresh token) follows.
    const logOutNow = act(async () => {
      const ended = logOut();
      go('');
      await ended;
      // The sign-in's own session ends too, or its next sign-in would ask for no password.
      const {sign_in: signIn} = await storefront();
      if (signIn?.logout_url) location.assign(signOutUrl(signIn));
    });
    items.push(h('li', {}, h('button', {class: 'secondary outline', type: 'button', onclick: logOutNow}, 'Log out')));
  } else {
    items.push(h('li', {}, h('a', {href: '#/login'}, 'Log in')));
    items.push(h('li', {}, h('a', {href: '#/signup'}, 'Sign up')));
  }
  if (drawing === headerDrawings) links.replaceChildren(...items);
}

// The rules the pages mirror come from the API before the first view: money is written with the
// digits its currency has there (the browser's own are the fallback should the read fail). A load
// that is a sign-in's return completes it first (its code is good for minutes, and once).
const rulesRead = storefront().then(
  (settings) => useCurrencyDigits(settings.rules?.currency_digits),
  () => {},
);
const ready = Promise.all([rulesRead, completeSignIn()]);

shop.searchBox(document.getElementById('search'));
drawWith(render);
addEventListener('hashchange', render);
addEventListener('session', header);
// A page the browser kept while the shopper was at the sign-in comes back as it was left, maybe
// in the middle of sending them there: it is drawn again.
addEventListener('pageshow', (event) => event.persisted && render());
render();
