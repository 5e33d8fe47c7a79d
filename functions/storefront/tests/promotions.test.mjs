// Discount codes from the back office to the order, in Chromium against a local stack (with no
// shipping zones or tax rates: it ships for nothing and a checkout names no option): an admin
// makes a promotion on its page, a shopper applies its code at checkout, sees what it takes off
// in the totals, and the order keeps it; a code no promotion has, or a malformed one, is said at
// the field.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  shopperWith,
  ADDRESS,
  ADMIN,
  PASSWORD,
  accessibilityProblems,
  fillIn,
  logIn,
  newPage,
  screenshot,
  settled,
  useShop,
} from './support.mjs';

const world = useShop();

/** A product of its own for each test, at €12.50. */
function mug() {
  return world.shop.product(world.admin, {name: `Enamel Mug ${Date.now()}`, price: {amount: 1250, currency: 'EUR'}});
}

test('an admin makes SAVE10, 10 % off the order; a shopper applies it at checkout, and the order keeps the discount', async () => {
  const admin = await newPage(world.browser);
  await logIn(admin, world.url, ADMIN.email, ADMIN.password);
  await admin.getByRole('link', {name: 'Back office'}).click();
  await admin.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Promotions'}).click();
  await admin.getByRole('heading', {name: 'Promotions', level: 1}).waitFor();
  const form = admin.getByRole('form', {name: 'New promotion'});
  await form.getByLabel('ID', {exact: true}).fill('save10');
  await form.getByLabel('Name', {exact: true}).fill('Ten percent off');
  await form.getByLabel('Code', {exact: true}).fill('SAVE10');
  await form.getByLabel('Discount', {exact: true}).selectOption('percentage');
  await form.getByLabel('Percent', {exact: true}).fill('10');
  await form.getByLabel('Applies to', {exact: true}).selectOption('order');
  assert.equal(await form.getByLabel('Active').isChecked(), true);
  await form.getByRole('button', {name: 'Save promotion'}).click();
  const row = admin.locator('tr[data-promotion="save10"]');
  await row.waitFor();
  assert.match(await row.innerText(), /Ten percent off[\s\S]*SAVE10[\s\S]*10 % off[\s\S]*The whole order/);
  assert.equal(await row.locator('td.uses').innerText(), '0');
  await screenshot(admin, 'admin-promotions');
  assert.deepEqual(await accessibilityProblems(admin), []);
  const saved = (await world.shop.call('GET', '/api/promotions', world.admin)).body.promotions;
  assert.deepEqual(
    saved.find((p) => p.id === 'save10'),
    {
      id: 'save10',
      name: 'Ten percent off',
      code: 'SAVE10',
      discount: {type: 'percentage', percent: '10'},
      applies_to: {type: 'order'},
      active: true,
    },
  );

  const product = await mug();
  const page = await newPage(world.browser);
  const email = await shopperWith(world, page, 'Saver', product);
  await page.goto(`${world.url}/#/checkout`);
  await settled(page);
  await fillIn(page, ADDRESS);
  const totals = page.locator('#totals');
  await totals.getByRole('rowheader', {name: 'Subtotal'}).waitFor();
  assert.match(await totals.innerText(), /Total\s+\D*12\.50/);
  assert.equal(await totals.getByRole('rowheader', {name: 'Discount'}).count(), 0);

  // Typed as a shopper may: the API compares codes upper-case.
  const code = page.getByRole('form', {name: 'Discount code'});
  await code.getByLabel('Discount code').fill('save10');
  await code.getByRole('button', {name: 'Apply'}).click();
  await totals.getByRole('rowheader', {name: 'Discount'}).waitFor();
  const priced = await totals.innerText();
  assert.match(priced, /Subtotal\s+\D*12\.50/);
  assert.match(priced, /Discount\s+\D*1\.25/);
  assert.match(priced, /Total\s+\D*11\.25/);
  assert.equal(await page.locator('#promotion-code').innerText(), 'SAVE10');
  assert.match(
    await page.getByRole('list', {name: 'Promotions applied'}).innerText(),
    /Ten percent off \(SAVE10\): \D*1\.25/,
  );
  assert.equal(await code.getByRole('alert').count(), 0);
  await screenshot(page, 'checkout-discount');
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.getByRole('button', {name: 'Place order'}).click();
  await page.getByRole('heading', {name: 'Pay your order'}).waitFor();
  const id = decodeURIComponent(page.url().match(/#\/orders\/([^/]+)\/pay/)[1]);
  assert.match(await page.getByRole('button', {name: /^Pay /}).innerText(), /11\.25/);

  await page.goto(`${world.url}/#/orders/${id}`);
  await settled(page);
  const lines = await page.locator('main tbody').innerText();
  assert.match(lines, /\D1\.25 discount/);
  const footer = await page.locator('main tfoot').innerText();
  assert.match(footer, /Subtotal\s+\D*12\.50/);
  assert.match(footer, /Discount\s+\D*1\.25/);
  assert.match(footer, /Total\s+\D*11\.25/);
  assert.match(
    await page.getByRole('list', {name: 'Promotions applied'}).innerText(),
    /Ten percent off \(SAVE10\): \D*1\.25/,
  );
  await screenshot(page, 'order-discount');

  const token = await world.shop.login(email, PASSWORD);
  const placed = (await world.shop.call('GET', `/api/orders/${id}`, token)).body;
  assert.deepEqual(
    [placed.totals.subtotal.amount, placed.totals.discount.amount, placed.totals.total.amount, placed.total.amount],
    [1250, 125, 1125, 1125],
  );
  assert.deepEqual(
    placed.promotions.map((p) => [p.id, p.code, p.amount.amount]),
    [['save10', 'SAVE10', 125]],
  );
  assert.equal(placed.lines[0].discount.amount, 125);
  assert.equal((await world.shop.call('GET', '/api/cart', token)).body.promotion_code, null, 'the code went with it');

  // The back office counts the use.
  await admin.reload();
  await settled(admin);
  assert.equal(await admin.locator('tr[data-promotion="save10"] td.uses').innerText(), '1');
  // The other settings page, of a shop without zones or rates.
  await admin.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Shipping & tax'}).click();
  await admin.getByRole('heading', {name: 'Shipping & tax', level: 1}).waitFor();
  await admin.getByText('No zones').waitFor();
  assert.equal(await admin.getByRole('switch', {name: 'Prices include tax'}).isChecked(), true);
  await screenshot(admin, 'admin-shipping');
  assert.deepEqual(await accessibilityProblems(admin), []);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(admin.problems, []);
});

test('a code no promotion has is said at the field, and a malformed one at its input, in the API’s words', async () => {
  const product = await mug();
  const page = await newPage(world.browser);
  const email = await shopperWith(world, page, 'Nope', product);
  await page.goto(`${world.url}/#/cart`);
  await settled(page);
  const code = page.getByRole('form', {name: 'Discount code'});
  await code.getByLabel('Discount code').fill('NOPE');
  await code.getByRole('button', {name: 'Apply'}).click();
  const refusal = code.getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /there is no promotion with code NOPE/);
  assert.equal(await code.getByLabel('Discount code').inputValue(), 'NOPE', 'what was typed stays');
  assert.equal(await page.locator('#promotion-code').count(), 0);
  await screenshot(page, 'cart-code-refused');
  assert.deepEqual(await accessibilityProblems(page), []);

  await code.getByLabel('Discount code').fill('x');
  await code.getByRole('button', {name: 'Apply'}).click();
  const note = page.locator('#f-code-error');
  await note.waitFor();
  assert.match(await note.innerText(), /3 to 32/);
  assert.equal(await code.getByLabel('Discount code').getAttribute('aria-invalid'), 'true');

  const token = await world.shop.login(email, PASSWORD);
  assert.equal((await world.shop.call('GET', '/api/cart', token)).body.promotion_code, null);
  assert.deepEqual(page.problems, []);
});
