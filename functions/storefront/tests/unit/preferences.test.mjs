// The account's notification preferences (views/account.js), in jsdom against a stand-in API:
// email and text messages about orders, and marketing email (the reminders of a cart left
// behind), off for a profile saved before there was any; a save sends all three.

import {fakeApi, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';

const ADA = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  phone: null,
  phone_verified: false,
  address: null,
  preferences: {email: true, sms: false},
};
let user = ADA;
let version = 1;
const calls = fakeApi({
  'GET /api/users/me': () => [200, user, {etag: `"${version}"`}],
  'GET /api/users/me/addresses': () => [200, []],
  'PUT /api/users/u1': (body) => {
    user = {...user, ...body};
    version += 1;
    return [200, user, {etag: `"${version}"`}];
  },
});
const account = await import('../../assets/js/views/account.js');
const main = document.getElementById('main');

/** The account page's details form, drawn for the profile the stand-in holds. */
async function details() {
  show(main, await account.profile());
  return main.querySelector('form[aria-label="Your details"]');
}

/** Saves `form` and answers the preferences the save sent. */
async function saved(form) {
  const before = calls.length;
  const said = form.querySelector('[role=status]');
  said.textContent = '';
  form.requestSubmit();
  await until(() => said.textContent === 'Saved.', 'saved');
  const put = calls.slice(before).find((c) => c.method === 'PUT');
  assert.equal(put.ifMatch, `"${version - 1}"`);
  return put.body.preferences;
}

test('marketing email is its own switch, off for a profile saved before it; a save sends all three preferences', async () => {
  const form = await details();
  const marketing = form.elements.namedItem('marketing_pref');
  assert.equal(marketing.type, 'checkbox');
  assert.equal(marketing.getAttribute('role'), 'switch');
  assert.equal(marketing.closest('label').textContent, 'Reminders of carts I leave behind (marketing email)');
  assert.equal(marketing.closest('fieldset').querySelector('legend').textContent, 'Marketing email');
  assert.equal(
    document.getElementById(marketing.getAttribute('aria-describedby')).textContent,
    'Sent only while email about your orders is on.',
  );
  assert.equal(marketing.checked, false, 'a profile without it has none');
  assert.equal(form.elements.namedItem('email_pref').checked, true);
  assert.equal(form.elements.namedItem('sms_pref').checked, false);

  assert.deepEqual(await saved(form), {email: true, sms: false, marketing: false});
  marketing.checked = true;
  assert.deepEqual(await saved(form), {email: true, sms: false, marketing: true});
});

test('a profile that wants marketing email shows it on, and turning it off sends that with the others', async () => {
  user = {...ADA, preferences: {email: true, sms: true, marketing: true}};
  const form = await details();
  const marketing = form.elements.namedItem('marketing_pref');
  assert.equal(marketing.checked, true);
  assert.equal(form.elements.namedItem('sms_pref').checked, true);
  marketing.checked = false;
  assert.deepEqual(await saved(form), {email: true, sms: true, marketing: false});
});
