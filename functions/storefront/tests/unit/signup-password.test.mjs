// Signing up with an emailed code where the deployment names no sign-in (the pages log in with
// the password themselves): the password waits for the code in the page's memory, never in web
// storage, in jsdom against a stand-in API. signup.test.mjs is the same with a sign-in.

import {fakeApi, idToken, submit, until, webStorage} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';

const PASSWORD = 'Shopper-Password-1';
const tokens = (email) => ({
  id_token: idToken({sub: 'u1', email}),
  access_token: 'access',
  refresh_token: 'refresh',
  expires_in: 3600,
});
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: {}}],
  'POST /api/auth/register': () => [202, {confirmed: false}],
  'POST /api/auth/confirm': (body) =>
    body.code === '123456' ? [200, {}] : [400, {title: 'Bad Request', status: 400, detail: 'That code is wrong.'}],
  'POST /api/auth/login': (body) => [200, tokens(body.email)],
});

// What an earlier version of the page left behind is taken away when the page loads.
sessionStorage.setItem('shop.signup', JSON.stringify({email: 'old@shop.test', password: PASSWORD}));
const account = await import('../../assets/js/views/account.js');
const main = document.getElementById('main');

test('a pending sign-up left in web storage by an earlier page is removed', () => {
  assert.equal(sessionStorage.getItem('shop.signup'), null);
});

test('the password waits for the emailed code in memory only, and logs the new shopper in', async () => {
  show(main, account.signup());
  submit(main, {name: 'Ada', email: 'ada@shop.test', password: PASSWORD});
  await until(() => location.hash.startsWith('#/confirm'), 'the confirmation is asked for');
  assert.equal(location.hash, '#/confirm?email=ada%40shop.test');
  assert.doesNotMatch(webStorage(), new RegExp(PASSWORD));

  show(main, account.confirm(new URLSearchParams({email: 'ada@shop.test'})));
  // A wrong code first: the sign-up still waits.
  const form = submit(main, {code: '000000'});
  await until(() => form.querySelector('[role=alert]'));
  assert.equal(form.querySelector('[role=alert]').textContent, 'That code is wrong.');
  submit(main, {code: '123456'});
  await until(() => location.hash === '#/', 'the shop is shown');
  assert.deepEqual(calls.at(-1), {
    method: 'POST',
    path: '/api/auth/login',
    body: {email: 'ada@shop.test', password: PASSWORD},
  });
  assert.ok(sessionStorage.getItem('shop.session'), 'the session is kept');
  assert.doesNotMatch(webStorage(), new RegExp(PASSWORD));
});

test('a code confirmed for another address, or after the page forgot the sign-up, leads to the login', async () => {
  location.hash = '#/confirm';
  const before = calls.length;
  show(main, account.confirm(new URLSearchParams({email: 'grace@shop.test'})));
  submit(main, {code: '123456'});
  await until(() => location.hash === '#/login', 'the login is shown');
  assert.deepEqual(
    calls.slice(before).map((c) => c.path),
    ['/api/auth/confirm'],
  );
});
