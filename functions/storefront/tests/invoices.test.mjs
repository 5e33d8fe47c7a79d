// An order's breakdown and its invoice, from the checkout to the back office, in Chromium against
// a local stack with the demo's shipping and tax (Germany by Standard for €4.90, prices that
// include 19 % VAT): a shopper pays an order, sees what it cost and downloads its invoice as a
// PDF; an admin finds the order in the back office, sees the same breakdown and the same invoice,
// refunds the order in full and downloads its credit note.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
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
  placeAndPay,
} from './support.mjs';

const world = useShop({SHOP_SEED_SHIPPING: 'true'});

/** Clicks the button `name` and answers the file the browser downloaded: the name it suggested,
 *  and its bytes. */
async function download(page, name) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', {name}).click()]);
  return {name: file.suggestedFilename(), bytes: readFileSync(await file.path())};
}

const isPdf = (bytes) => bytes.subarray(0, 5).toString('latin1') === '%PDF-';

test('a shopper pays an order, sees its breakdown and downloads its invoice; the back office shows the same, then its credit note', async () => {
  const product = await world.shop.product(world.admin, {
    name: `Enamel Mug ${Date.now()}`,
    price: {amount: 1250, currency: 'EUR'},
    weight_grams: 400,
  });
  const page = await newPage(world.browser);
  const email = await shopperWith(world, page, 'Ada', product);
  await page.goto(`${world.url}/#/checkout`);
  await settled(page);
  await fillIn(page, ADDRESS);
  await page.locator('#totals').getByText('Shipping (Standard)').waitFor();
  const id = await placeAndPay(page);

  // The breakdown: VAT is in the prices, so said with the total rather than added as a line.
  const breakdown = (on) => on.locator('main tfoot').innerText();
  const shown = await breakdown(page);
  assert.match(shown, /Subtotal\s+\D*12\.50/);
  assert.match(shown, /Shipping \(Standard\)\s+\D*4\.90/);
  assert.match(shown, /Total\s+\D*17\.40/);
  assert.match(shown, /incl\. \D*2\.78 tax/);
  assert.doesNotMatch(shown, /^Tax/m);

  // Numbered in the payment's transaction: the page the payment led to shows it.
  const token = await world.shop.login(email, PASSWORD);
  const {invoice} = (await world.shop.call('GET', `/api/orders/${id}`, token)).body;
  assert.match(invoice.number, /^INV-\d{4}-\d+$/);
  const documents = page.getByRole('list', {name: 'Documents'});
  assert.match(await documents.innerText(), new RegExp(`^Invoice ${invoice.number}, issued`));
  assert.equal(await page.getByRole('button', {name: /credit note/}).count(), 0);
  const saved = await download(page, 'Download invoice (PDF)');
  assert.equal(saved.name, `invoice-${invoice.number}.pdf`);
  assert.ok(isPdf(saved.bytes), `not a PDF: ${saved.bytes.subarray(0, 16)}`);
  await screenshot(page, 'order-invoice');
  assert.deepEqual(await accessibilityProblems(page), []);
  assert.deepEqual(page.problems, []);

  // The back office: the order's own page, from its list of paid orders.
  const admin = await newPage(world.browser);
  await logIn(admin, world.url, ADMIN.email, ADMIN.password);
  await admin.getByRole('link', {name: 'Back office'}).click();
  await admin.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Orders'}).click();
  await admin.getByRole('heading', {name: 'Orders', exact: true}).waitFor();
  await admin.locator(`tr[data-order="${id}"]`).getByRole('link', {name: id}).click();
  await admin.getByRole('heading', {name: `Order ${id}`}).waitFor();
  await settled(admin);
  assert.ok(admin.url().endsWith(`#/admin/orders/${id}`));
  assert.equal(await breakdown(admin), shown);
  assert.match(await admin.locator('main').innerText(), /Placed .+ by customer/);
  const copy = await download(admin, 'Download invoice (PDF)');
  assert.equal(copy.name, saved.name);
  assert.ok(isPdf(copy.bytes));
  await screenshot(admin, 'admin-order');
  assert.deepEqual(await accessibilityProblems(admin), []);

  // Refunded in full from its page: the credit note is numbered once the refund lands.
  await admin.getByLabel('Reason', {exact: true}).fill('the mug never arrived');
  await admin.getByRole('button', {name: 'Refund'}).click();
  let creditNote;
  for (let i = 0; !creditNote; i++) {
    assert.ok(i < 100, 'the refund was never credited');
    await admin.waitForTimeout(100);
    creditNote = (await world.shop.call('GET', `/api/orders/${id}`, world.admin)).body.credit_note;
  }
  await admin.reload();
  await settled(admin);
  assert.match(await admin.locator('main').innerText(), new RegExp(`Credit note ${creditNote.number}, issued`));
  const credit = await download(admin, 'Download credit note (PDF)');
  assert.equal(credit.name, `credit-note-${creditNote.number}.pdf`);
  assert.ok(isPdf(credit.bytes));
  assert.deepEqual(admin.problems, []);
});
