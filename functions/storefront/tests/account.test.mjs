// A shopper's account through the storefront: the password, the profile and preferences, the
// phone number's verification, the data the shop holds, erasure; and an admin editing and
// removing a product, in Chromium.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {
  ADMIN,
  PASSWORD,
  accessibilityProblems,
  fillIn,
  logIn,
  logOut,
  newEmail,
  newPage,
  screenshot,
  settled,
  signIn,
  useShop,
} from './support.mjs';

const world = useShop();

/** A confirmed shopper made through the API, logged in through the pages. */
async function shopper(page, name) {
  const email = newEmail(name.toLowerCase());
  await world.shop.call('POST', '/api/users', world.admin, {email, password: PASSWORD, name});
  await logIn(page, world.url, email, PASSWORD);
  return email;
}

test('a shopper who forgot the password sets a new one with the emailed code, and logs out', async () => {
  const page = await newPage(world.browser);
  const email = await shopper(page, 'Forgetful');
  await logOut(page);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('shop.session')), null);

  await page.goto(`${world.url}/#/forgot`);
  await fillIn(page, {Email: email});
  await page.getByRole('button', {name: 'Send me a code'}).click();
  await page.getByText('If that address has an account, a code is on its way.').waitFor();
  const mail = await world.shop.mail(email, 'Reset your password');
  const fresh = 'Brand-New-Password-2';
  await fillIn(page, {Code: mail.text.match(/\b\d{6}\b/)[0], 'New password': fresh});
  await page.getByRole('button', {name: 'Set password'}).click();
  // The new password is typed again where passwords are typed: on the sign-in's page.
  await signIn(page, email, fresh);
  await world.shop.login(email, fresh);
  await assert.rejects(world.shop.login(email, PASSWORD));
  assert.deepEqual(page.problems, []);
});

test('a shopper changes the profile and preferences, downloads the data, and erases the account', async () => {
  const page = await newPage(world.browser);
  const email = await shopper(page, 'Private');
  await page.getByRole('link', {name: 'Account'}).click();
  await settled(page);
  await fillIn(page, {
    Name: 'Private Person',
    'Mobile phone': '+4915112345678',
    'Street and number': '3 Quiet Lane',
    'Postal code': '10115',
    City: 'Berlin',
    'Country (two letters)': 'DE',
    'Full name': 'Private Person',
  });
  await page.getByRole('switch', {name: 'Text message'}).uncheck();
  await page.getByRole('switch', {name: 'Reminders of carts I leave behind (marketing email)'}).check();
  await page.getByRole('button', {name: 'Save'}).click();
  await page.getByText('Saved.').waitFor();
  const token = await world.shop.login(email, PASSWORD);
  const profile = (await world.shop.call('GET', '/api/users/me', token)).body;
  assert.equal(profile.name, 'Private Person');
  assert.deepEqual(profile.preferences, {email: true, sms: false, marketing: true});
  assert.equal(profile.address.line1, '3 Quiet Lane');
  await screenshot(page, 'account');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', {name: 'Download my data'}).click(),
  ]);
  const data = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.match(JSON.stringify(data), new RegExp(email.replace(/[.+]/g, '\\$&')));

  await page.getByLabel('I understand this cannot be undone').check();
  await page.getByRole('button', {name: 'Delete my account'}).click();
  await page.getByRole('link', {name: 'Log in'}).waitFor();
  await assert.rejects(world.shop.login(email, PASSWORD));
  assert.deepEqual(page.problems, []);
});

test('a shopper verifies the mobile number with the texted code; a new number is unverified again', async () => {
  const page = await newPage(world.browser);
  const email = await shopper(page, 'Texter');
  await page.getByRole('link', {name: 'Account'}).click();
  await settled(page);
  const details = page.getByRole('form', {name: 'Your details'});
  const phoneState = page.locator('#f-phone-hint');
  const verification = page.getByRole('region', {name: 'Verify your phone number'});
  assert.equal(await verification.isVisible(), false, 'no number, nothing to verify');

  // A number of a country the shop does not serve is refused at the field.
  await fillIn(page, {'Mobile phone': '+12025550123'});
  await details.getByRole('button', {name: 'Save'}).click();
  await page.locator('#f-phone-error').waitFor();
  assert.match(await page.locator('#f-phone-error').innerText(), /country the shop serves/);

  const number = `+49151${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  await fillIn(page, {'Mobile phone': number});
  await details.getByRole('button', {name: 'Save'}).click();
  await page.getByText('Saved.').waitFor();
  assert.match(await phoneState.innerText(), /^Not verified/);
  await verification.waitFor();
  assert.deepEqual(await accessibilityProblems(page), []);

  await verification.getByRole('button', {name: 'Send code'}).click();
  await verification.getByText(`A code is on its way to ${number}.`).waitFor();
  await screenshot(page, 'account-phone');
  const code = await world.shop.smsCode(number);
  // A wrong code is refused, and the number stays unverified.
  await fillIn(page, {Code: code === '000000' ? '111111' : '000000'});
  await verification.getByRole('button', {name: 'Verify'}).click();
  await verification.getByRole('alert').filter({hasText: 'the code is wrong'}).waitFor();
  await fillIn(page, {Code: code});
  await verification.getByRole('button', {name: 'Verify'}).click();
  await verification.waitFor({state: 'hidden'});
  assert.match(await phoneState.innerText(), /^Verified/);
  await screenshot(page, 'account-phone-verified');
  const token = await world.shop.login(email, PASSWORD);
  const profile = (await world.shop.call('GET', '/api/users/me', token)).body;
  assert.deepEqual([profile.phone, profile.phone_verified], [number, true]);

  // The version the verification made is the one the next save replaces; a new number is
  // not verified.
  await fillIn(page, {'Mobile phone': number.replace(/\d$/, (d) => String((Number(d) + 1) % 10))});
  await details.getByRole('button', {name: 'Save'}).click();
  await page.waitForFunction(() => document.getElementById('f-phone-hint').textContent.startsWith('Not verified'));
  await verification.waitFor();
  assert.equal((await world.shop.call('GET', '/api/users/me', token)).body.phone_verified, false);
  assert.deepEqual(page.problems, []);
});

test('an admin edits a product with the version read, is told when a sale came first, and removes it', async () => {
  const product = await world.shop.product(world.admin, {name: 'Old Name Lamp', stock: 5});
  const page = await newPage(world.browser);
  await logIn(page, world.url, ADMIN.email, ADMIN.password);
  await page.goto(`${world.url}/#/admin/products/${product.id}`);
  await settled(page);
  assert.deepEqual(await accessibilityProblems(page), []);

  // A sale between reading and saving: the save is refused, nothing is lost.
  await world.shop.call('POST', `/api/products/${product.id}/stock`, world.admin, {
    delta: -1,
    reason: 'sold in the shop',
  });
  await fillIn(page, {Name: 'New Name Lamp'});
  await page.getByRole('button', {name: 'Save'}).click();
  await page.getByRole('alert').filter({hasText: 'Someone changed this product meanwhile'}).waitFor();
  assert.equal((await world.shop.call('GET', `/api/products/${product.id}`)).body.name, 'Old Name Lamp');

  await page.reload();
  await settled(page);
  await fillIn(page, {Name: 'New Name Lamp'});
  await page.getByRole('button', {name: 'Save'}).click();
  await page.getByRole('heading', {name: 'Products', exact: true}).waitFor();
  assert.equal((await world.shop.call('GET', `/api/products/${product.id}`)).body.name, 'New Name Lamp');
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.goto(`${world.url}/#/admin/products/new`);
  await settled(page);
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.goto(`${world.url}/#/admin/products/${product.id}`);
  await settled(page);
  await page.getByRole('button', {name: 'Delete product'}).click();
  await page.getByRole('heading', {name: 'Products', exact: true}).waitFor();
  await assert.rejects(world.shop.call('GET', `/api/products/${product.id}`));
  assert.deepEqual(page.problems, []);
});
