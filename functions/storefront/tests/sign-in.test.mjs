// Logging in by the authorization code with PKCE, in Chromium against a local stack: the shop
// sends the shopper to the sign-in's page (the stack's own, where Cognito's managed login is in
// AWS), which sends them back with a code the page trades, with its verifier, for the session.
// A return the tab did not start, or a code issued for another challenge, starts no session.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createHash, randomBytes} from 'node:crypto';
import {
  PASSWORD,
  accessibilityProblems,
  fillIn,
  logOut,
  newEmail,
  newPage,
  screenshot,
  settled,
  signIn,
  useShop,
} from './support.mjs';

const world = useShop();

/** A confirmed shopper, made through the API. */
async function shopper(name) {
  const email = newEmail(name.toLowerCase());
  await world.shop.call('POST', '/api/users', world.admin, {email, password: PASSWORD, name});
  return email;
}

/** The POSTs the page makes to the token endpoint, as they are sent. */
function tokenRequests(page) {
  const sent = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url() === `${world.url}/oauth2/token`) sent.push(request);
  });
  return sent;
}

const session = (page) => page.evaluate(() => sessionStorage.getItem('shop.session'));

/** Clicks the header's "Log in" on the shop's home, and waits for the sign-in's page. */
async function toSignIn(page) {
  await page.goto(`${world.url}/#/`);
  await settled(page);
  await page.getByRole('navigation', {name: 'Shop'}).getByRole('link', {name: 'Log in'}).click();
  await page.getByRole('heading', {name: 'Sign in to the shop'}).waitFor();
  return new URL(page.url());
}

test('a shopper logs in on the sign-in page and comes back to the page set out for; then logs out', async () => {
  const email = await shopper('Coder');
  const page = await newPage(world.browser);
  const sent = tokenRequests(page);
  await page.goto(`${world.url}/#/orders`);
  await page.getByRole('heading', {name: 'Please log in'}).waitFor();
  await page.getByRole('main').getByRole('link', {name: 'Log in'}).click();
  await page.getByRole('heading', {name: 'Sign in to the shop'}).waitFor();
  const asked = new URL(page.url());
  assert.equal(asked.origin + asked.pathname, `${world.url}/oauth2/authorize`);
  const query = Object.fromEntries(asked.searchParams);
  assert.equal(query.response_type, 'code');
  assert.equal(query.client_id, 'shop-local');
  assert.equal(query.redirect_uri, `${world.url}/`);
  assert.equal(query.code_challenge_method, 'S256');
  assert.equal(query.scope, 'openid email profile');
  assert.match(query.code_challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(query.state.length >= 16);

  // A wrong password: the sign-in's page says so, and no session begins.
  await fillIn(page, {Email: email, Password: 'Not-The-Password-9'});
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('alert').filter({hasText: 'the email or password is wrong'}).waitFor();
  assert.equal(await session(page), null);
  assert.equal(sent.length, 0);
  await screenshot(page, 'sign-in-wrong-password');

  await signIn(page, email, PASSWORD);
  await page.getByRole('heading', {name: 'Your orders'}).waitFor();
  assert.equal(page.url(), `${world.url}/#/orders`, 'the code and state leave the address bar');
  assert.equal(sent.length, 1);
  const traded = Object.fromEntries(new URLSearchParams(sent[0].postData()));
  assert.equal(sent[0].headers()['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(traded.grant_type, 'authorization_code');
  assert.equal(traded.client_id, 'shop-local');
  assert.equal(traded.redirect_uri, `${world.url}/`);
  assert.match(traded.code, /.{20,}/);
  assert.match(traded.code_verifier, /^[A-Za-z0-9\-._~]{43,128}$/);
  assert.equal(createHash('sha256').update(traded.code_verifier).digest('base64url'), query.code_challenge);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('shop.signin')), null, 'the verifier is spent');
  const {id_token: idToken} = JSON.parse(await session(page));
  assert.equal((await world.shop.call('GET', '/api/users/me', idToken)).body.email, email);

  await logOut(page);
  assert.equal(await session(page), null);
  // Logging out ends the session's tokens at the API too.
  await assert.rejects(world.shop.call('GET', '/api/users/me', idToken), /401/);
  assert.deepEqual(page.problems, []);
});

test('a return whose state was tampered with is refused: no code is traded, no session begins', async () => {
  const email = await shopper('Tamper');
  const page = await newPage(world.browser);
  const sent = tokenRequests(page);
  await toSignIn(page);
  await page.locator('input[name=state]').evaluate((input) => (input.value = 'not-the-state-the-page-sent'));
  await fillIn(page, {Email: email, Password: PASSWORD});
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('alert').filter({hasText: 'This sign-in was not started on this page'}).waitFor();
  await settled(page);
  assert.equal(page.url(), `${world.url}/#/login`);
  assert.equal(sent.length, 0);
  assert.equal(await session(page), null);
  assert.equal(await page.getByRole('button', {name: 'Log out'}).count(), 0);
  assert.deepEqual(await accessibilityProblems(page), []);
  await screenshot(page, 'sign-in-refused');

  // Trying again is one click away, and works.
  await page.getByRole('button', {name: 'Log in again'}).click();
  await signIn(page, email, PASSWORD);
  assert.equal(sent.length, 1);
  assert.deepEqual(page.problems, []);
});

test('a code issued for another challenge, slipped into the return, is refused by the token endpoint', async () => {
  const email = await shopper('Injected');
  const page = await newPage(world.browser);
  const sent = tokenRequests(page);
  const asked = (await toSignIn(page)).searchParams;
  // Someone signs in for a challenge of their own, and has this tab come back with the code
  // (with the tab's state, say read over its shoulder): only the tab's verifier is sent with it.
  const theirs = randomBytes(32).toString('base64url');
  const form = new URLSearchParams({
    ...Object.fromEntries(asked),
    code_challenge: createHash('sha256').update(theirs).digest('base64url'),
    email,
    password: PASSWORD,
  });
  const answer = await fetch(`${world.url}/oauth2/authorize`, {method: 'POST', body: form, redirect: 'manual'});
  assert.equal(answer.status, 303);
  await page.goto(answer.headers.get('location'));
  await page.getByRole('alert').filter({hasText: 'its code was refused'}).waitFor();
  assert.equal(sent.length, 1);
  assert.notEqual(new URLSearchParams(sent[0].postData()).get('code_verifier'), theirs);
  assert.equal(await session(page), null);
  assert.equal(page.url(), `${world.url}/#/login`);
});
