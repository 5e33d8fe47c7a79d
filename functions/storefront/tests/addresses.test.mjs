// A shopper's address book through the storefront, in Chromium against a local stack (a shop
// without shipping zones: it ships for nothing, and a checkout names no option): an address
// added on the account page and marked the default, chosen at checkout at once, the order
// shipped to it, and the address removed.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  ADDRESS,
  PASSWORD,
  accessibilityProblems,
  fillIn,
  newPage,
  screenshot,
  settled,
  shopperWith,
  useShop,
} from './support.mjs';

const world = useShop();

test('a shopper saves a home address, checks out to it as the default, and removes it', async () => {
  const product = await world.shop.product(world.admin, {name: `Address Book Lamp ${Date.now()}`});
  const page = await newPage(world.browser);
  const email = await shopperWith(world, page, 'Addie', product);
  const token = await world.shop.login(email, PASSWORD);

  await page.goto(`${world.url}/#/account`);
  await settled(page);
  const book = page.getByRole('region', {name: 'Addresses'});
  await book.getByText('No saved addresses yet.').waitFor();
  await book.getByRole('button', {name: 'Add an address'}).click();
  const adding = page.getByRole('form', {name: 'Add an address'});
  await fillIn(adding, {'Label (optional)': 'Home', ...ADDRESS});
  await adding.getByRole('button', {name: 'Save address'}).click();
  await adding.waitFor({state: 'detached'});

  // Listed with its lines, and the default for both, as the first address is.
  const home = book.getByRole('listitem').filter({hasText: 'Home'});
  await home.waitFor();
  const listed = await home.innerText();
  assert.match(listed, /Ada Lovelace, 1 Analytical Way/);
  assert.match(listed, /10115 Berlin, DE/);
  assert.match(listed, /Default for shipping/);
  assert.match(listed, /Default for billing/);
  assert.equal(await home.getByRole('button', {name: /^Make default for shipping/}).count(), 0);
  await screenshot(page, 'account-addresses');
  assert.deepEqual(await accessibilityProblems(page), []);
  const saved = (await world.shop.call('GET', '/api/users/me/addresses', token)).body;
  assert.deepEqual(
    saved.map((a) => [a.label, a.address.line1, a.default_shipping, a.default_billing]),
    [['Home', '1 Analytical Way', true, true]],
  );

  // At checkout the saved address is chosen, the new address's fields hidden, and the cart
  // priced for it.
  await page.goto(`${world.url}/#/checkout`);
  await settled(page);
  const chosen = page.getByRole('radio', {name: /^Home — Ada Lovelace, 1 Analytical Way, 10115 Berlin, DE/});
  assert.equal(await chosen.isChecked(), true);
  assert.equal(await page.getByRole('radio', {name: 'A new address'}).isChecked(), false);
  assert.equal(await page.getByLabel('Street and number', {exact: true}).isVisible(), false);
  const totals = page.locator('#totals');
  await totals.getByRole('table', {name: 'Totals'}).waitFor();
  assert.match(await totals.innerText(), /Total\s+\D*12\.50/);
  await screenshot(page, 'checkout-saved-address');
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.getByRole('button', {name: 'Place order'}).click();
  await page.getByRole('heading', {name: 'Pay your order'}).waitFor();
  const id = decodeURIComponent(page.url().match(/#\/orders\/([^/]+)\/pay/)[1]);
  await page.goto(`${world.url}/#/orders/${id}`);
  await settled(page);
  const shipped = await page.locator('main address').innerText();
  assert.match(shipped, /Ada Lovelace\s+1 Analytical Way\s+10115 Berlin\s+DE/);
  const placed = (await world.shop.call('GET', `/api/orders/${id}`, token)).body;
  assert.deepEqual(placed.shipping_address, {
    name: 'Ada Lovelace',
    line1: '1 Analytical Way',
    postal_code: '10115',
    city: 'Berlin',
    country: 'DE',
  });

  // Removed from the account page: the book is empty again.
  await page.goto(`${world.url}/#/account`);
  await settled(page);
  await book.getByRole('button', {name: 'Remove Home'}).click();
  await book.getByText('No saved addresses yet.').waitFor();
  assert.equal(await home.count(), 0);
  assert.deepEqual((await world.shop.call('GET', '/api/users/me/addresses', token)).body, []);
  assert.deepEqual(page.problems, []);
});
