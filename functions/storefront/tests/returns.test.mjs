// Returns, in Chromium against a local stack: a shopper asks to send back one unit of a delivered
// order from its page; a member of support approves it with instructions on the back office's
// Returns page; a member of fulfilment receives it back to stock; the shopper sees the
// instructions, then the return refunded with its amount, and the back office's order page
// shows it too.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  PASSWORD,
  accessibilityProblems,
  logIn,
  newEmail,
  newPage,
  paidOrder,
  screenshot,
  settled,
  useShop,
} from './support.mjs';

const world = useShop();

/** A new account made through the API, holding `roles` (none: a customer); answers its email. */
async function account(name, roles = []) {
  const email = newEmail(name.toLowerCase());
  const made = (await world.shop.call('POST', '/api/users', world.admin, {email, password: PASSWORD, name})).body;
  if (roles.length) await world.shop.call('PUT', `/api/users/${made.id}/roles`, world.admin, {roles});
  return email;
}

/** An order of two units of `product` placed and paid by the shopper `email`, then shipped and
 *  delivered by the admin; answers its id. */
async function deliveredOrder(email, product) {
  const order = await paidOrder(world, product, {email, name: 'Returner'});
  const status = `/api/orders/${order.id}/status`;
  await world.shop.call('PUT', status, world.admin, {status: 'SHIPPED', tracking_number: '1Z999'});
  await world.shop.call('PUT', status, world.admin, {status: 'DELIVERED'});
  return order.id;
}

/** Opens the back office's Returns page from the header, as `page`'s signed-in member of staff. */
async function returnsPage(page) {
  await page.getByRole('link', {name: 'Back office'}).click();
  await settled(page);
  await page.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Returns'}).click();
  await page.getByRole('heading', {name: 'Returns', level: 1}).waitFor();
  await settled(page);
}

test('a shopper returns a unit; support approves it, fulfilment receives it back to stock, and the shopper sees it refunded', async () => {
  const product = await world.shop.product(world.admin, {name: `Return Kettle ${Date.now()}`});
  const shopper = await account('Returner');
  const [support, packer] = await Promise.all([account('Sue', ['support']), account('Pat', ['fulfilment'])]);
  const id = await deliveredOrder(shopper, product);

  // The shopper asks to send one kettle back, from the order's page.
  const page = await newPage(world.browser);
  await logIn(page, world.url, shopper, PASSWORD);
  await page.goto(`${world.url}/#/orders/${id}`);
  await settled(page);
  const asking = page.getByRole('form', {name: 'Return items'});
  const units = asking.getByLabel(`Units of ${product.name} to return`);
  assert.equal(await units.getAttribute('max'), '2');
  await units.fill('1');
  await asking.getByLabel(`Why ${product.name} goes back`).selectOption('damaged');
  await asking.getByLabel('Comment (optional)').fill('The lid cracked.');
  await asking.getByRole('button', {name: 'Ask to return'}).click();
  const mine = page.locator('article.return');
  await mine.getByText('Requested: waiting for the shop’s answer').waitFor();
  await settled(page);
  assert.match(await mine.innerText(), new RegExp(`1 × ${product.name}: Arrived damaged`));
  assert.match(await mine.innerText(), /The lid cracked\./);
  assert.equal(await asking.getByLabel(`Units of ${product.name} to return`).getAttribute('max'), '1');
  assert.deepEqual(await accessibilityProblems(page), []);
  await screenshot(page, 'return-requested');
  const asked = (await world.shop.call('GET', `/api/orders/${id}`, world.admin)).body.returns;
  assert.equal(asked.length, 1);
  const rid = asked[0].id;

  // Support: the Returns tab among theirs, the request listed with its order; approved.
  const sue = await newPage(world.browser);
  await logIn(sue, world.url, support, PASSWORD);
  await returnsPage(sue);
  const tabs = sue.getByRole('navigation', {name: 'Back office'}).getByRole('link');
  assert.deepEqual(await tabs.allInnerTexts(), ['Orders', 'Returns']);
  const request = sue.locator(`article[data-return="${rid}"]`);
  assert.equal(await request.getByRole('link', {name: id}).getAttribute('href'), `#/admin/orders/${id}`);
  assert.match(await request.innerText(), new RegExp(`1 × ${product.name}: Arrived damaged`));
  assert.equal(await request.getByRole('form', {name: `Receive return ${rid}`}).count(), 0);
  assert.deepEqual(await accessibilityProblems(sue), []);
  await screenshot(sue, 'returns-requested');
  const approve = request.getByRole('form', {name: `Approve return ${rid}`});
  // Nothing to say yet: the API's word shows at the form (the browser's own check set aside).
  await approve.evaluate((form) => (form.noValidate = true));
  await approve.getByLabel('Instructions for the shopper').fill('   ');
  await approve.getByRole('button', {name: 'Approve'}).click();
  await approve.getByRole('alert').waitFor();
  assert.match(await approve.getByRole('alert').innerText(), /instructions/);
  await approve.getByLabel('Instructions for the shopper').fill('Send it to Returns, 1 Dock Rd, Hamburg.');
  await approve.getByRole('button', {name: 'Approve'}).click();
  await request.waitFor({state: 'detached'});
  await settled(sue);
  assert.equal((await world.shop.call('GET', `/api/orders/${id}`, world.admin)).body.returns[0].status, 'approved');
  assert.deepEqual(sue.problems, []);

  // Fulfilment: the approved ones, received with the unit back to stock.
  const stock = async () => (await world.shop.call('GET', `/api/products/${product.id}`)).body.stock;
  const before = await stock();
  const pat = await newPage(world.browser);
  await logIn(pat, world.url, packer, PASSWORD);
  await returnsPage(pat);
  await pat.getByLabel('Returns in status').selectOption('approved');
  await pat.waitForURL(/#\/admin\/returns\?status=approved$/);
  await settled(pat);
  const approved = pat.locator(`article[data-return="${rid}"]`);
  assert.match(await approved.innerText(), /Send it to Returns, 1 Dock Rd, Hamburg\./);
  assert.equal(await approved.getByRole('form', {name: `Refuse return ${rid}`}).count(), 0);
  const receive = approved.getByRole('form', {name: `Receive return ${rid}`});
  assert.equal(await receive.getByLabel('Units arrived (of 1)').inputValue(), '1');
  assert.equal(await receive.getByLabel('Back to stock').isChecked(), true);
  assert.deepEqual(await accessibilityProblems(pat), []);
  await screenshot(pat, 'returns-approved');
  await receive.getByRole('button', {name: 'Receive'}).click();
  await approved.waitFor({state: 'detached'});
  assert.equal(await stock(), before + 1);
  assert.deepEqual(pat.problems, []);

  // The shopper: the instructions, then the return refunded (in the background) with its amount.
  for (let i = 0; ; i++) {
    await page.reload();
    await settled(page);
    if ((await mine.locator('.return-status').innerText()) === 'Refunded') break;
    assert.ok(i < 50, `never refunded: ${await mine.innerText()}`);
    await page.waitForTimeout(200);
  }
  const refunded = await mine.innerText();
  const amount = await page.evaluate(
    (minor) => new Intl.NumberFormat(undefined, {style: 'currency', currency: 'EUR'}).format(minor / 100),
    product.price.amount,
  );
  assert.ok(refunded.includes(`${amount} paid back`), refunded);
  assert.match(refunded, /Send it to Returns, 1 Dock Rd, Hamburg\./);
  assert.match(refunded, new RegExp(`Arrived: 1 × ${product.name} \\(back to stock\\)`));
  assert.equal(await asking.getByLabel(`Units of ${product.name} to return`).getAttribute('max'), '1');
  assert.deepEqual(await accessibilityProblems(page), []);
  await screenshot(page, 'return-refunded');
  assert.deepEqual(page.problems, []);

  // The back office's order page lists the return too.
  await sue.goto(`${world.url}/#/admin/orders/${id}`);
  await settled(sue);
  await sue.getByRole('heading', {name: 'Returns', level: 2}).waitFor();
  assert.equal(await sue.locator(`article[data-return="${rid}"] .return-status`).innerText(), 'Refunded');
  assert.deepEqual(await accessibilityProblems(sue), []);
  assert.deepEqual(sue.problems, []);
});
