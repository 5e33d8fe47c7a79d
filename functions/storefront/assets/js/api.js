// The shop's API, on this page's own origin. The session's tokens live in sessionStorage (gone
// with the tab, never in a URL); the ID token is the bearer, refreshed before it expires. They
// come from the sign-in's token endpoint (signin.js), or, where the deployment names no
// sign-in, from the API's own password log-in (`logIn`). A visitor who is not signed in shops as
// a guest (guest.js): their calls to the cart, the checkout and their orders go to the guest
// routes, with their guest token.

import {forgetGuest, guestRoute, guestToken, keepGuest} from './guest.js';

const KEY = 'shop.session';

/** A refusal of the API: `status`, and the problem+json document when there is one. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `The shop answered ${status}.`);
    this.status = status;
    this.problem = problem;
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

/** The back office's roles, as the API and the ID token's groups name them. */
export const ROLES = ['admin', 'catalogue', 'fulfilment', 'support'];

/** The signed-in person as the ID token names them: `{id, email, roles, admin}` (`roles`: the
 *  staff roles among their groups, none for a customer), or null. */
export function me() {
  const current = session();
  if (!current) return null;
  const claims = JSON.parse(atob(current.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  const roles = rolesOf(claims['cognito:groups']);
  return {id: claims.sub, email: claims.email, roles, admin: roles.includes('admin')};
}

/** The staff roles among a token's groups: a JSON array, or the string `"a,b"` (or `"[a b]"`)
 *  some gateways hand over. */
export function rolesOf(groups) {
  const names = Array.isArray(groups)
    ? groups
    : String(groups ?? '')
        .replace(/^\[|\]$/g, '')
        .split(/[,\s]+/);
  return ROLES.filter((role) => names.includes(role));
}

/** Whether the signed-in person holds `role`: an admin holds every one. */
export function holds(role) {
  const roles = me()?.roles ?? [];
  return roles.includes('admin') || roles.includes(role);
}

function keep(tokens, previous) {
  // A guest who signs in leaves the guest's cart behind (carts are not merged): the account's
  // is the cart from now on, and after logging out the visitor starts a new one.
  forgetGuest();
  const refresh = tokens.refresh_token ?? previous?.refresh_token;
  sessionStorage.setItem(
    KEY,
    JSON.stringify({
      id_token: tokens.id_token,
      access_token: tokens.access_token,
      refresh_token: refresh,
      expires_at: Date.now() + (tokens.expires_in - 60) * 1000,
    }),
  );
  dispatchEvent(new Event('session'));
}

/** Starts the session the tokens a sign-in answered make (`{id_token, access_token,
 *  refresh_token, expires_in}`, as the API's log-in answers them). */
export function signedIn(tokens) {
  keep(tokens);
}

export function forget() {
  sessionStorage.removeItem(KEY);
  dispatchEvent(new Event('session'));
}

/** The password log-in, for where `/storefront.json` names no sign-in (the local stack against
 *  an emulator's Cognito); everywhere else the password is typed on the sign-in's page only. */
export async function logIn(email, password) {
  keep((await call('POST', '/api/auth/login', {body: {email, password}, anonymous: true})).body);
}

export async function logOut() {
  const current = session();
  forget();
  if (!current) return;
  // The API ends every session of the account (its refresh tokens, and its ID tokens on every
  // route); the session has ended here either way.
  const headers = {Authorization: `Bearer ${current.id_token}`};
  await call('POST', '/api/auth/logout', {headers, anonymous: true}).catch(() => {});
}

let refreshing = null;

async function bearer() {
  const current = session();
  if (!current) return null;
  if (Date.now() < current.expires_at) return current.id_token;
  refreshing ??= call('POST', '/api/auth/refresh', {body: {refresh_token: current.refresh_token}, anonymous: true})
    .then(
      (answer) => keep(answer.body, current),
      () => forget(),
    )
    .finally(() => {
      refreshing = null;
    });
  await refreshing;
  return session()?.id_token ?? null;
}

/** Whether the page shops as a guest: nobody is signed in, and the visitor has a guest token. */
export function asGuest() {
  return !session() && Boolean(guestToken());
}

let minting = null;

/** A new guest token, kept for the visitor (one at a time however many ask). */
function mintGuest() {
  minting ??= send('POST', '/api/guest/tokens', {anonymous: true})
    .then(({body}) => {
      keepGuest(body.token);
      return body.token;
    })
    .finally(() => {
      minting = null;
    });
  return minting;
}

/** Makes the visitor a guest, at their first add to a cart: nothing for a signed-in shopper or a
 *  visitor who is one already. */
export async function startGuest() {
  if (!session() && !guestToken()) await mintGuest();
}

/** One call: `{status, body, headers}` for a 2xx, an `ApiError` otherwise. `body` goes as JSON,
 *  or as it is (a file, say) when `type` names its content type. `blob` reads a 2xx answer as a
 *  `Blob` (a file to save). `fresh` asks past any cache (public reads may be kept for seconds; an
 *  editor needs the current version). A guest's call to the cart, the checkout or an order goes
 *  to the route's guest twin, with the guest's token or the order's link's (`guestRoute`). */
export async function call(method, path, options = {}) {
  const guest = options.anonymous ? null : guestRoute(method, path, Boolean(session()));
  if (!guest) return send(method, path, options);
  // A guest sends their token, and no session's.
  const sent = (token) =>
    send(method, guest.path, {...options, anonymous: true, headers: {...options.headers, 'Guest-Token': token}});
  try {
    return await sent(guest.token);
  } catch (error) {
    // A guest's own token ends 30 days after it was minted (or with the shop's key): the visitor
    // starts again as a new guest, once.
    if (!guest.stored || error.status !== 401 || !/expired|not valid/.test(error.message)) throw error;
    if (guestToken() === guest.token) forgetGuest();
    return sent(guestToken() ?? (await mintGuest()));
  }
}

/** One call to `path` as it is. */
async function send(method, path, {body, type, headers = {}, anonymous = false, fresh = false, blob = false} = {}) {
  const sent = {...headers};
  if (body !== undefined) sent['Content-Type'] = type ?? 'application/json';
  const token = anonymous ? null : await bearer();
  if (token) sent.Authorization = `Bearer ${token}`;
  const answer = await fetch(path, {
    method,
    headers: sent,
    body: body === undefined || type ? body : JSON.stringify(body),
    cache: fresh ? 'no-cache' : 'default',
  });
  const answered = answer.headers.get('content-type') ?? '';
  const parsed =
    blob && answer.ok ? await answer.blob() : answered.includes('json') ? await answer.json() : await answer.text();
  if (answer.status === 401 && token) forget();
  if (!answer.ok) throw new ApiError(answer.status, typeof parsed === 'object' ? parsed : null);
  return {status: answer.status, body: parsed, headers: answer.headers};
}

export const get = (path) => call('GET', path).then((a) => a.body);
export const post = (path, body, headers) => call('POST', path, {body: body ?? {}, headers}).then((a) => a.body);
export const put = (path, body, headers) => call('PUT', path, {body, headers}).then((a) => a.body);
export const del = (path, headers) => call('DELETE', path, {headers});

/** One page of a list: the first (`first`), or the page the view's `page` parameter names when
 *  it is a page of the same list. `next` is the following page's path, or null. */
export async function listPage(params, first, {fresh = false} = {}) {
  const page = params.get('page');
  const path = page?.startsWith(`${first.split('?')[0]}?`) ? page : first;
  const answer = await call('GET', path, {fresh});
  return {items: answer.body, next: nextPage(answer.headers, path)};
}

/** The `next` page of a list read at `path`, from its `Link` header: its path and query, or
 *  null on the last page. The link may be only a query (`<?cursor=…>`), which stands for the
 *  list's own path; the cursor is opaque. */
export function nextPage(headers, path) {
  const link = headers.get('link') ?? '';
  const match = link.match(/<([^>]+)>;\s*rel="next"/);
  if (!match) return null;
  const url = new URL(match[1], new URL(path, location.origin));
  return url.pathname + url.search;
}

let settings = null;

/** What the deployment tells the pages (`/storefront.json`), read once: how cards are paid
 *  (`cards`), where shoppers sign in (`sign_in`: `authorize_url`, `token_url`, `client_id`;
 *  absent where the pages log in with the password themselves), and the shop's rules the pages mirror rather than copy (`rules`: `max_quantity`,
 *  the most units a cart line, one variant of a product, holds, and `currency_digits`, each currency's digits of
 *  minor units). A failed read is tried again at the next call. */
export function storefront() {
  settings ??= call('GET', '/storefront.json', {anonymous: true}).then(
    (answer) => answer.body,
    (error) => {
      settings = null;
      throw error;
    },
  );
  return settings;
}
