// Shopping without an account. A visitor's first add to a cart makes them a guest: the shop
// mints a token (api.js, `startGuest`) that this page keeps in localStorage (the cart lasts 30
// days, past the tab) and sends as `Guest-Token` on the twins of the cart's, the checkout's and
// an order's routes under `/api/guest/`. The link in a guest's order email carries a token of
// its own that reaches that one order: the page uses it for that order once the link's address
// (`#/guest/orders/<id>/<token>`) names it. A signed-in shopper's calls go as they are.

const KEY = 'shop.guest';

/** The link tokens in use, by order id. */
const links = new Map();

/** The visitor's guest token, or null. */
export function guestToken() {
  return localStorage.getItem(KEY);
}

export function keepGuest(token) {
  localStorage.setItem(KEY, token);
}

export function forgetGuest() {
  localStorage.removeItem(KEY);
}

/** Reads and acts on the order `id` with `token`, the one of its email's link. */
export function useLink(id, token) {
  links.set(id, token);
}

/** The view of the order `id`: its link's where one is in use (`orderRoute(id)/pay` pays it). */
export function orderRoute(id) {
  const order = encodeURIComponent(id);
  return links.has(id) ? `guest/orders/${order}/${encodeURIComponent(links.get(id))}` : `orders/${order}`;
}

const CART = /^\/api\/cart(?:[/?]|$)/;
const ORDER = /^\/api\/orders\/([^/?]+)(?:\/cancel|\/invoice|\/credit-note|\/payment|\/payment\/capture|\/returns)?$/;

/** Where a call to the shop's `method` `path` goes as a guest's: `{path, token, stored}`, the
 *  route's twin and the token to send (`stored`: the visitor's own, not a link's), or null where
 *  it goes as it is. An order's routes take its link's token where one is in use, whoever is
 *  signed in; the cart's, the checkout's and an order's take the guest's token of a visitor who
 *  is not `signedIn` and has one. */
export function guestRoute(method, path, signedIn) {
  const twin = path.replace(/^\/api\//, '/api/guest/');
  const order = path.match(ORDER);
  const link = order && links.get(decodeURIComponent(order[1]));
  if (link) return {path: twin, token: link, stored: false};
  const token = signedIn ? null : guestToken();
  const twinned = CART.test(path) || Boolean(order) || (method === 'POST' && path === '/api/orders');
  return token && twinned ? {path: twin, token, stored: true} : null;
}
