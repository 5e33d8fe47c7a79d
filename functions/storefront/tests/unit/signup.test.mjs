// Signing up with an emailed code where the deployment names a sign-in: the pages never log in
// with the password (the shopper types it again on the sign-in's page), keep it nowhere, and
// offer a new code; in jsdom against a stand-in API. signup-password.test.mjs is the same where
// the pages log in themselves.

import {fakeApi, submit, until, webStorage} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';

const PASSWORD = 'Shopper-Password-1';
const SIGN_IN = {
  authorize_url: 'https://auth.test/oauth2/authorize',
  token_url: 'https://auth.test/oauth2/token',
  client_id: 'web',
};
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, sign_in: SIGN_IN, rules: {}}],
  'POST /api/auth/register': () => [202, {confirmed: false}],
  'POST /api/auth/confirm': (body) =>
    body.code === '123456' ? [200, {}] : [400, {title: 'Bad Request', status: 400, detail: 'That code is wrong.'}],
  'POST /api/auth/confirm/resend': () => [202, null],
});

const account = await import('../../assets/js/views/account.js');
const main = document.getElementById('main');

test('after the emailed code the shopper is sent to log in, and the password is kept nowhere', async () => {
  show(main, account.signup());
  submit(main, {name: 'Ada', email: 'ada@shop.test', password: PASSWORD});
  await until(() => location.hash.startsWith('#/confirm'), 'the confirmation is asked for');
  assert.equal(location.hash, '#/confirm?email=ada%40shop.test');

  show(main, account.confirm(new URLSearchParams({email: 'ada@shop.test'})));
  const form = submit(main, {code: '000000'});
  await until(() => form.querySelector('[role=alert]'));
  assert.equal(form.querySelector('[role=alert]').textContent, 'That code is wrong.');
  submit(main, {code: '123456'});
  await until(() => location.hash === '#/login', 'the login is shown');
  assert.deepEqual(
    calls.map((c) => c.path).filter((path) => path.startsWith('/api/auth/')),
    ['/api/auth/register', '/api/auth/confirm', '/api/auth/confirm'],
  );
  assert.equal(sessionStorage.getItem('shop.session'), null);
  assert.doesNotMatch(webStorage(), new RegExp(PASSWORD));
});

test('"Send a new code" asks for one for the address in the form, and says so', async () => {
  show(main, account.confirm(new URLSearchParams({email: 'grace@shop.test'})));
  const resend = [...main.querySelectorAll('button')].find((b) => b.textContent === 'Send a new code');
  assert.equal(resend.type, 'button', 'it does not submit the code');
  resend.click();
  await until(() => main.querySelector('[role=status]').textContent);
  assert.deepEqual(calls.at(-1), {
    method: 'POST',
    path: '/api/auth/confirm/resend',
    body: {email: 'grace@shop.test'},
  });
  assert.match(main.querySelector('[role=status]').textContent, /new one is on its way/);

  // Without an address there is nobody to send it to.
  const before = calls.length;
  main.querySelector('form').elements.namedItem('email').value = '';
  resend.click();
  await until(() => main.querySelector('[role=alert]'));
  assert.match(main.querySelector('[role=alert]').textContent, /Enter your email address/);
  assert.equal(calls.length, before);
});
