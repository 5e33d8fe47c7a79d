// Signing in by OAuth 2.0's authorization code with PKCE (RFC 6749, RFC 7636), where
// `/storefront.json` names a sign-in (`sign_in`: Cognito's managed login in AWS, the local
// stack's own page): the page sends the shopper there with the challenge of a secret verifier,
// and trades the code it is sent back with, and the verifier, for the session's tokens. The
// password is typed on the sign-in's page only; a code caught on the way back is worth nothing
// without the verifier, which never leaves this tab but for the token endpoint.

import {signedIn, storefront} from './api.js';
import {Refusal} from './dom.js';

/** The sign-in under way: its verifier, its state, and the view to come back to. It waits in
 *  this tab's session storage: the way back is a fresh load of the page. */
const KEY = 'shop.signin';

/** Bytes as base64url, without padding (RFC 4648, section 5). */
export function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A new code verifier: 32 random bytes as base64url, 43 characters of RFC 7636's alphabet. */
export function newVerifier() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The S256 challenge of a verifier: base64url(SHA-256(verifier)). */
export async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Where the sign-in sends the shopper back: this page without query or fragment, which must be
 *  one of the app client's callback URLs. */
export function redirectUri() {
  return location.origin + location.pathname;
}

/** The sign-in's address for a new attempt, which is remembered (replacing any earlier one):
 *  the shopper comes back to the view `then`. */
export async function authorizeUrl(signIn, then = '') {
  // Browsers give hashing to pages of a secure origin only (https, or this machine's).
  if (!crypto.subtle) throw new Refusal('Logging in needs the shop at an https address.');
  const verifier = newVerifier();
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const redirect = redirectUri();
  sessionStorage.setItem(KEY, JSON.stringify({verifier, state, then, redirect_uri: redirect}));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: signIn.client_id,
    redirect_uri: redirect,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
    state,
    scope: 'openid email profile',
  });
  return `${signIn.authorize_url}?${query}`;
}

/** Where signing out sends the browser: the sign-in's sign-out, which ends its own session and
 *  sends the browser back to this page (one of the app client's sign-out URLs). */
export function signOutUrl(signIn) {
  const query = new URLSearchParams({client_id: signIn.client_id, logout_uri: redirectUri()});
  return `${signIn.logout_url}?${query}`;
}

/** Sends the shopper to sign in (`signIn`, the deployment's `sign_in`), to come back to the
 *  view `then`. The sign-in's page takes the place of the one that sent them there: going back
 *  from it does not land on a view that sends them on again. */
export async function startSignIn(signIn, then = '') {
  location.replace(await authorizeUrl(signIn, then));
}

/** Why the last sign-in did not complete, and the view it set out for. */
let failed = null;

/** Why the last sign-in did not complete (`{message, then}`), told once; or null. */
export function takeFailure() {
  const told = failed;
  failed = null;
  return told;
}

/** The sign-in under way, taken: it is good for one return only. */
function takePending() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  } finally {
    sessionStorage.removeItem(KEY);
  }
}

const AGAIN = 'Please log in again.';

/** Completes the sign-in this load of the page is the return of, if it is one (a `code` or an
 *  `error` in the query): the code and the verifier are traded for the session's tokens, and
 *  the address names the view the shopper set out for. A return this tab did not start (its
 *  `state` is not the one sent), a refusal, or a code the token endpoint does not take starts no
 *  session: the address names the login view, which tells why (`takeFailure`). Either way the
 *  code and state leave the address bar at once, before the code is spent. */
export async function completeSignIn() {
  const query = new URLSearchParams(location.search);
  if (!query.has('code') && !query.has('error')) return;
  const pending = takePending();
  history.replaceState(history.state, '', location.pathname);
  let then = 'login';
  try {
    then = await redeem(query, pending);
  } catch (error) {
    failed = {message: error.message, then: pending?.then ?? ''};
  }
  history.replaceState(history.state, '', `${location.pathname}#/${then}`);
}

/** The tokens for a return whose state is the pending sign-in's: the view to show then. */
async function redeem(query, pending) {
  // The state is checked first: only then is anything the return says believed, its error's
  // description included (a link made elsewhere could say anything).
  if (!pending?.state || query.get('state') !== pending.state) {
    throw new Error(`This sign-in was not started on this page, so it was not completed. ${AGAIN}`);
  }
  if (query.has('error')) {
    const why = query.get('error_description') || query.get('error');
    throw new Error(`The sign-in did not complete: ${why}. ${AGAIN}`);
  }
  const {sign_in: signIn} = await storefront();
  if (!signIn) throw new Error(`The shop names no sign-in any more. ${AGAIN}`);
  const sent = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: signIn.client_id,
    code: query.get('code'),
    redirect_uri: pending.redirect_uri,
    code_verifier: pending.verifier,
  });
  let answer;
  try {
    answer = await fetch(signIn.token_url, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: sent.toString(),
      cache: 'no-store',
    });
  } catch {
    throw new Error(`The sign-in service could not be reached. ${AGAIN}`);
  }
  const tokens = await answer.json().catch(() => ({}));
  if (!answer.ok || !tokens.id_token) {
    throw new Error(
      tokens.error === 'invalid_grant'
        ? `The sign-in could not be completed: its code was refused (a code is good once, for minutes). ${AGAIN}`
        : `The sign-in could not be completed (${tokens.error ?? answer.status}). ${AGAIN}`,
    );
  }
  signedIn(tokens);
  return pending.then ?? '';
}
