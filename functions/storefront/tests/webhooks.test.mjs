// Partners' webhooks in the back office, in Chromium against a local stack: an admin registers
// an endpoint of a partner's (a small server of the test's, on this machine) for new products
// and copies its secret, shown that once; a product is made; the partner refuses the first
// delivery, which the log shows with its answer; the admin sends it again, and the log shows it
// delivered. Every request the partner got carried a signature its secret verifies.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createHmac, timingSafeEqual} from 'node:crypto';
import {createServer} from 'node:http';
import {ADMIN, accessibilityProblems, logIn, newPage, screenshot, settled, useShop} from './support.mjs';

const world = useShop();

/** Whether `request` carries the signature `secret` makes of its body, made within 5 minutes. */
function verified(secret, request) {
  const {t, v1 = ''} = Object.fromEntries(
    String(request.headers['shop-signature'])
      .split(',')
      .map((part) => part.split('=')),
  );
  const expected = createHmac('sha256', secret).update(`${t}.${request.body}`).digest('hex');
  return (
    Math.abs(Date.now() / 1000 - Number(t)) <= 300 &&
    v1.length === expected.length &&
    timingSafeEqual(Buffer.from(v1), Buffer.from(expected))
  );
}

/** A partner's endpoint on this machine: it keeps each request (and whether its signature holds
 *  under `secret`, once it is given), refuses the first with a 500 and takes the others. */
async function partner() {
  const endpoint = {secret: null, received: []};
  endpoint.server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const got = {method: request.method, path: request.url, headers: request.headers, body};
      got.verified = Boolean(endpoint.secret) && verified(endpoint.secret, got);
      endpoint.received.push(got);
      response.writeHead(endpoint.received.length === 1 ? 500 : 200).end();
    });
  });
  await new Promise((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${endpoint.server.address().port}/hook`;
  return endpoint;
}

/** Clicks the deliveries' Refresh until `row` (a locator) is there, for up to `seconds`. */
async function refreshUntil(page, row, seconds, what) {
  const until = Date.now() + seconds * 1000;
  while ((await row.count()) === 0) {
    assert.ok(Date.now() < until, `never: ${what}`);
    await page.waitForTimeout(2000);
    await page.getByRole('button', {name: 'Refresh'}).click();
    await settled(page);
  }
}

test('an admin registers a partner’s endpoint and copies its secret; a refused delivery is sent again and delivered, signed', async (t) => {
  const receiver = await partner();
  t.after(() => receiver.server.close());

  const admin = await newPage(world.browser);
  await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], {origin: world.url});
  await logIn(admin, world.url, ADMIN.email, ADMIN.password);
  await admin.getByRole('link', {name: 'Back office'}).click();
  await admin.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Webhooks'}).click();
  await admin.getByRole('heading', {name: 'Webhooks', level: 1}).waitFor();
  await admin.getByText('No endpoint is registered.').waitFor();

  // Registered for new products: its page shows the secret, this once.
  const register = admin.getByRole('form', {name: 'Register an endpoint'});
  await register.getByLabel('URL', {exact: true}).fill(receiver.url);
  await register.getByLabel('Description').fill('Test ERP');
  await register.getByRole('group', {name: 'Catalogue'}).getByLabel('ProductCreated').check();
  await register.getByRole('button', {name: 'Register endpoint'}).click();
  await admin.getByRole('heading', {name: 'Test ERP', level: 1}).waitFor();
  await settled(admin);
  await admin.getByText('Copy it now: it is shown this once, and never again.').waitFor();
  const secret = await admin.getByLabel('Secret', {exact: true}).inputValue();
  assert.match(secret, /^whsec_[0-9a-f]{48}$/);
  await admin.getByRole('button', {name: 'Copy secret'}).click();
  await admin.getByText('Copied.').waitFor();
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), secret);
  receiver.secret = secret;
  const id = decodeURIComponent(admin.url().match(/#\/admin\/webhooks\/([^/?]+)$/)[1]);
  const [registered] = (await world.shop.call('GET', '/api/webhooks', world.admin)).body;
  assert.deepEqual([registered.id, registered.url, registered.events], [id, receiver.url, ['ProductCreated']]);
  assert.equal('secret' in registered, false, 'the API never shows the secret again');
  assert.deepEqual(await accessibilityProblems(admin), []);
  await screenshot(admin, 'webhook-registered');

  // A new product: the partner refuses its event, and the log says so.
  const product = await world.shop.product(world.admin, {name: `Webhook Lamp ${Date.now()}`});
  const rows = admin.locator('table.deliveries tbody tr');
  const refused = rows.filter({hasText: 'HTTP 500'});
  await refreshUntil(admin, refused, 60, 'the refused delivery is logged');
  const first = receiver.received[0];
  const event = JSON.parse(first.body);
  assert.equal(event.type, 'ProductCreated');
  assert.match(first.body, new RegExp(product.id));
  assert.deepEqual(
    [first.method, first.path, first.headers['shop-event'], first.headers['shop-delivery']],
    ['POST', '/hook', 'ProductCreated', event.id],
  );
  const cells = await refused.locator('td').allInnerTexts();
  assert.deepEqual(cells.slice(1, 6), ['ProductCreated', event.id, 'Pending (retrying)', '1', 'HTTP 500']);

  // Sent again: a new delivery, attempted by the shop's schedule (every minute) and taken.
  await refused.getByRole('button', {name: 'Redeliver'}).click();
  await admin.getByText('Sent again: it is attempted within a minute').waitFor({state: 'attached'});
  await settled(admin);
  const again = rows.and(admin.locator(`tr:not([data-delivery="${event.id}"])`));
  assert.equal(await again.count(), 1);
  // (Unless the schedule's minute came meanwhile, it is not tried yet.)
  const waiting = (await again.locator('td').allInnerTexts()).slice(1, 6);
  assert.deepEqual(waiting.slice(0, 2), ['ProductCreated', event.id]);
  if (waiting[2] === 'Pending') assert.deepEqual(waiting.slice(3), ['0', 'Not tried yet']);
  const delivered = again.and(admin.locator('[data-state="delivered"]'));
  await refreshUntil(admin, delivered, 150, 'the delivery sent again is delivered');
  assert.deepEqual((await delivered.locator('td').allInnerTexts()).slice(3, 6), ['Delivered', '1', 'HTTP 200']);
  await admin.getByText('Last success: ').waitFor();
  assert.doesNotMatch(await admin.getByText('Last success: ').innerText(), /never/);

  // Every request came signed with the secret, for the one event.
  assert.ok(receiver.received.length >= 2, `${receiver.received.length} requests`);
  for (const request of receiver.received) {
    assert.equal(request.verified, true, request.headers['shop-signature']);
    assert.equal(JSON.parse(request.body).id, event.id);
  }
  assert.notEqual(receiver.received[1].headers['shop-delivery'], event.id, 'the redelivery has an id of its own');
  assert.deepEqual(await accessibilityProblems(admin), []);
  await screenshot(admin, 'webhook-deliveries');

  // The list says when it last took one.
  await admin.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Webhooks'}).click();
  await admin.getByRole('heading', {name: 'Webhooks', level: 1}).waitFor();
  await settled(admin);
  const listed = admin.locator(`tr[data-endpoint="${id}"]`);
  assert.match(await listed.innerText(), /Catalogue: ProductCreated/);
  assert.doesNotMatch(await listed.innerText(), /Never/);
  // How a partner verifies a delivery, folded under its summary.
  await admin.getByText('How to verify a delivery').click();
  await admin.getByText("crypto.createHmac('sha256', secret)").waitFor();
  assert.deepEqual(await accessibilityProblems(admin), []);
  await screenshot(admin, 'webhooks');
  assert.deepEqual(admin.problems, []);
});
