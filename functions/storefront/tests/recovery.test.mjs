// Carts left behind, in Chromium against a local stack that reminds of a cart as soon as its
// sweep finds it (RECOVERY_IDLE_MINUTES=0; the sweep runs at each tick of the stack's timer, once
// a minute): a guest puts a product in the cart and asks, with their email, to be reminded; the
// reminder's link, opened in another browser, makes that visitor a guest with the cart restored,
// and an altered link is refused; its unsubscribe link asks first, then unsubscribes.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {accessibilityProblems, newEmail, newPage, screenshot, settled, useShop} from './support.mjs';

const world = useShop({RECOVERY_IDLE_MINUTES: '0'});

const SUBJECT = 'You left something in your cart';

/** The reminder that reached `to`. The stack's sweep runs once a minute, then the email goes
 *  through the notifications' queue: it is looked for in the mailbox for 90 s. */
const reminder = (to) => world.shop.mail(to, SUBJECT, 90);

test("a guest's cart left behind is reminded of; the reminder's link restores it in another browser, and its other link unsubscribes", async () => {
  const product = await world.shop.product(world.admin, {name: `Recovered Kettle ${Date.now()}`});
  const email = newEmail('leaver');
  const page = await newPage(world.browser);
  await page.goto(`${world.url}/#/product/${product.id}`);
  await settled(page);
  await page.getByLabel('Quantity').fill('1');
  await page.getByRole('button', {name: 'Add to cart'}).click();
  await page.getByText('Added.').waitFor();

  await page.getByRole('link', {name: 'Cart (1)'}).click();
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  await settled(page);
  const contact = page.getByRole('form', {name: 'Email me about my cart'});
  const consent = contact.getByLabel('Remind me if I leave my cart (marketing email)');
  assert.equal(await consent.isChecked(), false, 'no marketing email until the guest says so');
  await contact.getByLabel('Email', {exact: true}).fill(email);
  await consent.check();
  await contact.getByRole('button', {name: 'Save'}).click();
  await page.getByText(`Saved: if you leave your cart, a reminder goes to ${email}.`).waitFor();
  const guest = await page.evaluate(() => localStorage.getItem('shop.guest'));
  const said = await world.shop.call('GET', '/api/guest/cart/contact', null, undefined, {'Guest-Token': guest});
  assert.deepEqual(said.body, {email, marketing: true});
  await screenshot(page, 'cart-contact');
  assert.deepEqual(await accessibilityProblems(page), []);

  // Two of it: the change puts the cart among the idle ones again, its address known now (a
  // sweep between the first add and the address would have let it go until its next change).
  const quantity = page.getByLabel(`Quantity of ${product.name}`);
  const total = await page.locator('#cart-total').innerText();
  await quantity.fill('2');
  await quantity.press('Tab');
  await page.waitForFunction((was) => document.querySelector('#cart-total')?.textContent !== was, total);
  assert.equal(await contact.getByLabel('Email', {exact: true}).inputValue(), email, 'drawn again as said');
  assert.equal(await consent.isChecked(), true);
  assert.deepEqual(page.problems, []);

  const mail = await reminder(email);
  assert.ok(mail.text.includes(product.name), mail.text);
  const restore = mail.text.match(/\S+#\/cart\/restore\/\S+/)?.[0];
  const unsubscribe = mail.text.match(/\S+#\/unsubscribe\/\S+/)?.[0];
  assert.ok(restore?.startsWith(`${world.url}/#/cart/restore/`), mail.text);
  assert.ok(unsubscribe?.startsWith(`${world.url}/#/unsubscribe/`), mail.text);

  // Another browser: a visitor who is nobody yet becomes a guest of their own, the cart theirs.
  const elsewhere = await newPage(world.browser);
  await elsewhere.goto(restore);
  await elsewhere.getByText('Your cart is back.').waitFor();
  await settled(elsewhere);
  assert.equal(new URL(elsewhere.url()).hash, '#/cart', 'shown in place of the link');
  assert.match(await elsewhere.locator('main tbody').innerText(), new RegExp(product.name));
  assert.equal(await elsewhere.getByLabel(`Quantity of ${product.name}`).inputValue(), '2');
  await elsewhere.getByRole('link', {name: 'Cart (2)'}).waitFor();
  const other = await elsewhere.evaluate(() => localStorage.getItem('shop.guest'));
  assert.ok(other && other !== guest, 'a guest of its own');
  await screenshot(elsewhere, 'cart-restored');
  assert.deepEqual(await accessibilityProblems(elsewhere), []);

  // A link altered on the way restores nothing, says why, and leads back to the shop.
  await elsewhere.goto(`${restore}x`);
  await settled(elsewhere);
  await elsewhere.getByRole('heading', {name: 'Your cart could not be restored'}).waitFor();
  assert.match(await elsewhere.getByRole('alert').innerText(), /not one the shop made/);
  await elsewhere.getByRole('link', {name: 'Go to the shop.'}).waitFor();

  // The unsubscribe link asks first (a mail scanner opens every link), then unsubscribes.
  await elsewhere.goto(unsubscribe);
  await settled(elsewhere);
  await elsewhere.getByRole('heading', {name: 'Stop marketing email?'}).waitFor();
  assert.deepEqual(await accessibilityProblems(elsewhere), []);
  await elsewhere.getByRole('button', {name: 'Stop marketing email'}).click();
  await elsewhere.getByText('You will get no more marketing email from the shop.').waitFor();
  await screenshot(elsewhere, 'unsubscribed');
  assert.deepEqual(elsewhere.problems, []);
});
