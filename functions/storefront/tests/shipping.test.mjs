// A shopper's checkout where the shop ships by zones and computes tax, in Chromium against a
// local stack with the demo's settings: Germany by Standard (€4.90, free from €50, 2–4 days) or
// Express (€9.90 up to 2 kg, 1 day), the rest of the EU named by Standard, and prices that
// include VAT (19 % in Germany).

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  shopperWith,
  ADDRESS,
  PASSWORD,
  accessibilityProblems,
  fillIn,
  newPage,
  screenshot,
  settled,
  useShop,
} from './support.mjs';

const world = useShop({SHOP_SEED_SHIPPING: 'true'});

/** A product of its own for each test: €12.50 (under the €50 that ships for free by
 *  Standard), light enough for Express's €9.90. */
function mug() {
  return world.shop.product(world.admin, {
    name: `Enamel Mug ${Date.now()}`,
    price: {amount: 1250, currency: 'EUR'},
    weight_grams: 400,
  });
}

test('a shopper in Germany chooses Express, sees it and the VAT included in the totals, and the order keeps them', async () => {
  const product = await mug();
  const page = await newPage(world.browser);
  const email = await shopperWith(world, page, 'Ada', product);
  await page.goto(`${world.url}/#/checkout`);
  await settled(page);
  await fillIn(page, ADDRESS);

  // The options for Germany, the cheapest chosen, and the totals it makes.
  const standard = page.getByRole('radio', {name: /^Standard/});
  const express = page.getByRole('radio', {name: /^Express/});
  await standard.waitFor();
  await express.waitFor();
  assert.equal(await standard.isChecked(), true);
  assert.equal(await express.isChecked(), false);
  const offered = await page.locator('.shipping-options').innerText();
  assert.match(offered, /Standard — \D*4\.90, 2–4 days/);
  assert.match(offered, /Express — \D*9\.90, 1 day/);
  const totals = page.locator('#totals');
  await totals.getByText('Shipping (Standard)').waitFor();
  assert.match(await totals.innerText(), /Total\s+\D*17\.40/);

  await express.check();
  await totals.getByText('Shipping (Express)').waitFor();
  const priced = await totals.innerText();
  assert.match(priced, /Subtotal\s+\D*12\.50/);
  assert.match(priced, /Shipping \(Express\)\s+\D*9\.90/);
  assert.match(priced, /Total\s+\D*22\.40/);
  // VAT is in the prices: said with the total, not added as a line of its own.
  assert.match(priced, /incl\. \D*3\.58 tax/);
  assert.doesNotMatch(priced, /^Tax/m);
  assert.equal(await page.locator('.shipping-problem [role=alert]').count(), 0);
  await screenshot(page, 'checkout-shipping');
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.getByRole('button', {name: 'Place order'}).click();
  await page.getByRole('heading', {name: 'Pay your order'}).waitFor();
  const id = decodeURIComponent(page.url().match(/#\/orders\/([^/]+)\/pay/)[1]);
  assert.match(await page.getByRole('button', {name: /^Pay /}).innerText(), /22\.40/);

  await page.goto(`${world.url}/#/orders/${id}`);
  await settled(page);
  const order = await page.locator('main').innerText();
  assert.match(order, /Subtotal\s+\D*12\.50/);
  assert.match(order, /Shipping \(Express\)\s+\D*9\.90/);
  assert.match(order, /Total\s+\D*22\.40/);
  assert.match(order, /incl\. \D*3\.58 tax/);
  assert.match(order, /By Express \(1 day\)/);
  await screenshot(page, 'order-shipping');

  const token = await world.shop.login(email, PASSWORD);
  const placed = (await world.shop.call('GET', `/api/orders/${id}`, token)).body;
  assert.equal(placed.shipping.option_id, 'de-express');
  assert.deepEqual(
    [placed.totals.subtotal.amount, placed.totals.shipping.amount, placed.totals.total.amount],
    [1250, 990, 2240],
  );
  assert.equal(placed.totals.tax_included, true);
  assert.equal(placed.total.amount, 2240);
  assert.deepEqual(page.problems, []);
});

test('a country the shop does not ship to is said at the options, and a postal code unlike Germany’s at its field', async () => {
  const product = await mug();
  const page = await newPage(world.browser);
  const email = await shopperWith(world, page, 'Grace', product);
  await page.goto(`${world.url}/#/checkout`);
  await settled(page);

  await fillIn(page, {...ADDRESS, 'Country (two letters)': 'JP'});
  const unavailable = page.locator('.shipping-problem').getByRole('alert');
  await unavailable.waitFor();
  assert.match(await unavailable.innerText(), /does not ship to JP/);
  assert.equal(await page.getByRole('radio').count(), 0);
  await screenshot(page, 'checkout-not-shipped');

  await fillIn(page, {'Country (two letters)': 'DE', 'Postal code': '1011'});
  await page.locator('#totals').getByText('Shipping (Standard)').waitFor();
  assert.equal(await unavailable.count(), 0);
  await page.getByRole('button', {name: 'Place order'}).click();
  const note = page.locator('#f-postal_code-error');
  await note.waitFor();
  assert.match(await note.innerText(), /not a postal code of DE/);
  assert.equal(await page.getByLabel('Postal code', {exact: true}).getAttribute('aria-invalid'), 'true');
  assert.ok(page.url().endsWith('#/checkout'));
  await screenshot(page, 'checkout-invalid-address');

  const token = await world.shop.login(email, PASSWORD);
  assert.deepEqual((await world.shop.call('GET', '/api/orders', token)).body, []);
  assert.deepEqual(page.problems, []);
});
