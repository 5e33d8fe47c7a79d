// Buying without an account, in Chromium against a local stack: a visitor who never signs in
// adds a product from its page, checks out with their email (and no address book), pays by card
// and sees the order paid; the link in the order's confirmation, opened in another browser,
// shows that order by the link's token alone, with its invoice; an altered link is refused.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {
  ADDRESS,
  accessibilityProblems,
  fillIn,
  newEmail,
  newPage,
  screenshot,
  settled,
  useShop,
  placeAndPay,
} from './support.mjs';

const world = useShop();

/** What the page keeps of who shops: the guest's token (localStorage) and the session's. */
const kept = (page) =>
  page.evaluate(() => ({
    guest: Boolean(localStorage.getItem('shop.guest')),
    session: sessionStorage.getItem('shop.session') !== null,
  }));

test("a visitor buys as a guest and pays; the confirmation's link shows the order in another browser", async () => {
  const product = await world.shop.product(world.admin, {name: `Guest Lantern ${Date.now()}`});
  const email = newEmail('guest');
  const page = await newPage(world.browser);
  await page.goto(`${world.url}/#/product/${product.id}`);
  await settled(page);
  assert.deepEqual(await kept(page), {guest: false, session: false});
  await page.getByLabel('Quantity').fill('1');
  await page.getByRole('button', {name: 'Add to cart'}).click();
  await page.getByText('Added.').waitFor();
  assert.deepEqual(await kept(page), {guest: true, session: false});

  await page.getByRole('link', {name: 'Cart (1)'}).click();
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  await page.getByRole('link', {name: 'Check out'}).click();
  await page.getByRole('heading', {name: 'Checkout'}).waitFor();
  await settled(page);
  assert.equal(await page.getByRole('group', {name: 'Ship to'}).count(), 0, 'a guest has no address book');
  assert.equal(await page.getByLabel('Save this address to my book').count(), 0);
  await fillIn(page, {Email: email, ...ADDRESS});
  await screenshot(page, 'guest-checkout');
  assert.deepEqual(await accessibilityProblems(page), []);
  const id = await placeAndPay(page);
  assert.match(await page.locator('main').innerText(), /PAID/);
  assert.deepEqual(await kept(page), {guest: true, session: false}, 'a guest all along');
  await screenshot(page, 'guest-order');
  assert.deepEqual(page.problems, []);

  // The confirmation's link, opened where the guest's token is not: it reaches the order alone.
  const mail = await world.shop.mail(email, `Order ${id} received`);
  const link = mail.text.match(/\S+#\/guest\/orders\/\S+/)?.[0];
  assert.ok(link?.startsWith(`${world.url}/#/guest/orders/${id}/`), mail.text);
  const elsewhere = await newPage(world.browser);
  await elsewhere.goto(link);
  await settled(elsewhere);
  await elsewhere.getByRole('heading', {name: `Order ${id}`}).waitFor();
  assert.match(await elsewhere.locator('main').innerText(), /PAID/);
  await elsewhere.getByRole('button', {name: 'Cancel order'}).waitFor();
  const [file] = await Promise.all([
    elsewhere.waitForEvent('download'),
    elsewhere.getByRole('button', {name: 'Download invoice (PDF)'}).click(),
  ]);
  assert.match(file.suggestedFilename(), /^invoice-INV-\d{4}-\d+\.pdf$/);
  assert.equal(
    readFileSync(await file.path())
      .subarray(0, 5)
      .toString('latin1'),
    '%PDF-',
  );
  await screenshot(elsewhere, 'guest-order-link');
  assert.deepEqual(await accessibilityProblems(elsewhere), []);
  assert.deepEqual(await kept(elsewhere), {guest: false, session: false}, "the link's token is no cart's");
  // A link altered on the way is refused as the API words it, not as a matter of logging in.
  await elsewhere.goto(`${link}x`);
  await settled(elsewhere);
  assert.match(await elsewhere.getByRole('alert').innerText(), /not valid/);
  assert.deepEqual(elsewhere.problems, []);
});
