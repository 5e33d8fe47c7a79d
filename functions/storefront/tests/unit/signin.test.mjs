// Signing in by the authorization code with PKCE (signin.js), in jsdom against a stand-in API
// and token endpoint: the verifier and its challenge, the sign-in's address, and the return:
// a code traded for the session, and a return this tab did not start, a refusal or a code the
// token endpoint does not take, each starting no session and telling why on the login view.

import {fakeApi, idToken} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';

const SIGN_IN = {
  authorize_url: 'https://auth.test/oauth2/authorize',
  token_url: 'https://auth.test/oauth2/token',
  client_id: 'web',
};
let tokenAnswer;
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, sign_in: SIGN_IN, rules: {}}],
  'POST https://auth.test/oauth2/token': () => tokenAnswer,
});
const signin = await import('../../assets/js/signin.js');
const account = await import('../../assets/js/views/account.js');
const main = document.getElementById('main');

const tokens = {
  id_token: idToken({sub: 'u1', email: 'ada@shop.test'}),
  access_token: 'access',
  refresh_token: 'refresh',
  expires_in: 3600,
  token_type: 'Bearer',
};

/** Starts a sign-in for the view `then`: the query the sign-in's page is sent. */
async function started(then) {
  const url = new URL(await signin.authorizeUrl(SIGN_IN, then));
  assert.equal(url.origin + url.pathname, SIGN_IN.authorize_url);
  return url.searchParams;
}

/** This page loaded again as the sign-in's return with `query`. */
function returnWith(query) {
  history.replaceState(null, '', `/?${new URLSearchParams(query)}`);
  return signin.completeSignIn();
}

const tokenCalls = () => calls.filter((c) => c.path === SIGN_IN.token_url);

test('a verifier is 43 characters of the unreserved alphabet, and never the same twice', () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const verifier = signin.newVerifier();
    assert.match(verifier, /^[A-Za-z0-9\-._~]{43,128}$/);
    seen.add(verifier);
  }
  assert.equal(seen.size, 200);
});

test("the challenge is RFC 7636's S256 of its verifier", async () => {
  assert.equal(
    await signin.challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  );
  assert.equal(signin.base64url(new Uint8Array([251, 255, 191])), '-_-_');
  assert.equal(signin.base64url(new Uint8Array([1])), 'AQ');
});

test('the sign-in is asked for a code, for this page, with the challenge of the verifier kept', async () => {
  const query = await started('orders');
  const kept = JSON.parse(sessionStorage.getItem('shop.signin'));
  assert.deepEqual(Object.fromEntries(query), {
    response_type: 'code',
    client_id: 'web',
    redirect_uri: 'http://shop.test/',
    code_challenge: await signin.challengeOf(kept.verifier),
    code_challenge_method: 'S256',
    state: kept.state,
    scope: 'openid email profile',
  });
  assert.match(kept.state, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(kept.then, 'orders');
  // Another start replaces it: only the latest sign-in can complete.
  await started('');
  assert.notEqual(JSON.parse(sessionStorage.getItem('shop.signin')).state, kept.state);
});

test('the return trades the code and the verifier for the session, and shows the view set out for', async () => {
  tokenAnswer = [200, tokens];
  const query = await started('orders');
  const {verifier} = JSON.parse(sessionStorage.getItem('shop.signin'));
  await returnWith({code: 'the-code', state: query.get('state')});
  assert.deepEqual(tokenCalls().at(-1).body, {
    grant_type: 'authorization_code',
    client_id: 'web',
    code: 'the-code',
    redirect_uri: 'http://shop.test/',
    code_verifier: verifier,
  });
  assert.equal(location.href, 'http://shop.test/#/orders');
  assert.equal(JSON.parse(sessionStorage.getItem('shop.session')).access_token, 'access');
  assert.equal(sessionStorage.getItem('shop.signin'), null, 'the verifier is spent');
  assert.equal(signin.takeFailure(), null);
  sessionStorage.removeItem('shop.session');
});

test('a return with a state this tab did not send is refused before anything is traded', async () => {
  tokenAnswer = [200, tokens];
  const before = tokenCalls().length;
  await started('cart');
  await returnWith({code: 'stolen-code', state: 'someone-elses'});
  assert.equal(tokenCalls().length, before);
  assert.equal(sessionStorage.getItem('shop.session'), null);
  assert.equal(location.href, 'http://shop.test/#/login');
  const failure = signin.takeFailure();
  assert.match(failure.message, /not started on this page/);
  assert.equal(failure.then, 'cart');
  // A second return of the same answer finds no sign-in under way.
  await returnWith({code: 'stolen-code', state: 'someone-elses'});
  assert.match(signin.takeFailure().message, /not started on this page/);
  assert.equal(tokenCalls().length, before);
});

test("the sign-in's refusal is told, and a code the token endpoint refuses starts no session", async () => {
  let query = await started('');
  await returnWith({error: 'access_denied', error_description: 'the account is disabled', state: query.get('state')});
  assert.match(signin.takeFailure().message, /did not complete: the account is disabled/);

  tokenAnswer = [400, {error: 'invalid_grant', error_description: 'the code is used'}];
  query = await started('');
  await returnWith({code: 'used', state: query.get('state')});
  assert.equal(sessionStorage.getItem('shop.session'), null);
  assert.equal(location.hash, '#/login');
  assert.match(signin.takeFailure().message, /its code was refused/);
});

test('the login view tells why the sign-in failed, and offers to log in again', async () => {
  tokenAnswer = [400, {error: 'invalid_grant'}];
  const query = await started('orders');
  await returnWith({code: 'used', state: query.get('state')});
  show(main, await account.login());
  assert.match(main.querySelector('[role=alert]').textContent, /its code was refused/);
  const again = [...main.querySelectorAll('button')].find((b) => b.textContent === 'Log in again');
  assert.ok(again);
  // Told once: arriving again goes to the sign-in (which jsdom cannot show).
  assert.equal(signin.takeFailure(), null);
});

test('a load that is no return does nothing', async () => {
  history.replaceState(null, '', '/#/cart');
  const before = calls.length;
  await signin.completeSignIn();
  assert.equal(calls.length, before);
  assert.equal(location.href, 'http://shop.test/#/cart');
});
