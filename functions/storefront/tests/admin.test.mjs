// The shop owner's journey through the back office (the catalogue exported and imported as CSV,
// and the month's orders exported for accounting, among it), and what the pages promise about
// security and weight, in Chromium against a local stack.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {gzipSync} from 'node:zlib';
import {
  ADMIN,
  accessibilityProblems,
  settled,
  fillIn,
  logIn,
  newPage,
  paidOrder,
  screenshot,
  useShop,
} from './support.mjs';

const world = useShop();

test('an admin creates a product, finds it by search, adjusts its stock, ships, delivers and refunds part of an order, and exports the month’s orders', async () => {
  const page = await newPage(world.browser);
  await logIn(page, world.url, ADMIN.email, ADMIN.password);
  await page.getByRole('link', {name: 'Back office'}).click();
  await page.getByRole('link', {name: 'New product'}).click();
  const name = `Brass Telescope ${Date.now()}`;
  await fillIn(page, {
    Name: name,
    SKU: `SCOPE-${Date.now()}`,
    Description: 'Sees the rings of Saturn.',
    Price: '249.00',
    Currency: 'EUR',
    Category: 'optics',
    Stock: '3',
  });
  await page.getByRole('button', {name: 'Create'}).click();
  await page.getByRole('heading', {name, level: 1}).waitFor();
  await screenshot(page, 'admin-product');

  // The search index follows the catalogue's events.
  await world.shop.searchable('brass telescop', name);
  for (let i = 0; ; i++) {
    await page.getByRole('combobox', {name: 'Search products'}).fill('brass telescop');
    await page.getByRole('button', {name: 'Search', exact: true}).click();
    await settled(page);
    if ((await page.locator('main').innerText()).includes(name)) break;
    assert.ok(i < 50, 'the new product was never found');
    await page.waitForTimeout(200);
  }
  await page.getByRole('link', {name}).click();
  assert.match(await page.locator('main').innerText(), /Only 3 left/);
  const product = (await world.shop.call('GET', '/api/products?category=optics')).body.find((p) => p.name === name);

  await page.goto(`${world.url}/#/admin/products/${product.id}`);
  await page.getByLabel('Change').fill('5');
  await page.getByLabel('Reason').fill('restock from the supplier');
  await page.getByRole('button', {name: 'Adjust stock'}).click();
  await page.locator('#stock', {hasText: '8'}).waitFor();
  assert.equal((await world.shop.call('GET', `/api/products/${product.id}`)).body.stock, 8);

  const shipped = await paidOrder(world, product);
  const refunded = await paidOrder(world, product);
  await page.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Orders'}).click();
  await page.getByRole('heading', {name: 'Orders', exact: true}).waitFor();
  const row = (order) => page.locator(`tr[data-order="${order.id}"]`);
  await row(shipped).getByLabel('Tracking number').fill('1Z999AA10123456784');
  await row(shipped).getByRole('button', {name: 'Ship'}).click();
  await row(shipped).waitFor({state: 'detached'});
  await page.getByLabel('Orders in status').selectOption('SHIPPED');
  await row(shipped).getByRole('button', {name: 'Mark delivered'}).click();
  await row(shipped).waitFor({state: 'detached'});
  await page.getByLabel('Orders in status').selectOption('PAID');
  await row(refunded).getByLabel('Amount').fill('100');
  await row(refunded).getByLabel('Reason').fill('one arrived scratched');
  await row(refunded).getByRole('button', {name: 'Refund'}).click();
  await screenshot(page, 'admin-orders');
  for (let i = 0; ; i++) {
    const order = (await world.shop.call('GET', `/api/orders/${refunded.id}`, world.admin)).body;
    if (order.payment.refunded === 10000) break;
    assert.ok(i < 100, `the refund did not land: ${JSON.stringify(order.payment)}`);
    await page.waitForTimeout(100);
  }
  assert.equal((await world.shop.call('GET', `/api/orders/${shipped.id}`, world.admin)).body.status, 'DELIVERED');

  // This month's orders so far, as the form proposes them, downloaded for accounting (once the
  // refund's drawing of the list is done).
  await page.waitForFunction(() => !document.querySelector('#main[aria-busy], #main [aria-busy]'));
  const accounting = page.getByRole('form', {name: 'Export for accounting'});
  const today = new Date().toISOString().slice(0, 10);
  assert.equal(await accounting.getByLabel('To', {exact: true}).inputValue(), today);
  const downloaded = page.waitForEvent('download');
  await accounting.getByRole('button', {name: 'Export CSV'}).click();
  const download = await downloaded;
  assert.equal(download.suggestedFilename(), `orders-${today.slice(0, 8)}01-${today}.csv`);
  const exported = readFileSync(await download.path(), 'utf8');
  assert.ok(exported.startsWith('order_id,placed_at,status,'), exported.split('\n')[0]);
  for (const order of [shipped, refunded]) assert.match(exported, new RegExp(`^${order.id},`, 'm'));
  assert.deepEqual(await accessibilityProblems(page), []);
  assert.deepEqual(page.problems, []);
});

test("an admin creates a product in sizes and colours, adjusts one variant's stock, adds and deletes variants", async () => {
  const page = await newPage(world.browser);
  await logIn(page, world.url, ADMIN.email, ADMIN.password);
  await page.getByRole('link', {name: 'Back office'}).click();
  await page.getByRole('link', {name: 'New product'}).click();
  const stamp = Date.now();
  const name = `Rain Hat ${stamp}`;
  await fillIn(page, {
    Name: name,
    Description: 'Keeps the drizzle off.',
    Category: 'hats',
    'Option 1 name': 'Size',
    'Option 1 values': 'S, M',
    'Option 2 name': 'Colour',
    'Option 2 values': 'Red, Blue',
  });
  // A row for each combination; the blue one in M is not sold.
  await page.getByLabel('Sell M / Blue').uncheck();
  for (const [label, price] of [
    ['S / Red', '20'],
    ['S / Blue', '20'],
    ['M / Red', '22.50'],
  ]) {
    await fillIn(page, {
      [`SKU of ${label}`]: `HAT-${stamp}-${label.replace(' / ', '-')}`,
      [`Price of ${label}`]: price,
      [`Stock of ${label}`]: '3',
    });
  }
  await screenshot(page, 'admin-new-variants');
  await page.getByRole('button', {name: 'Create'}).click();
  await page.getByRole('heading', {name, level: 1}).waitFor();
  const variants = page.locator('section h3');
  assert.deepEqual(await variants.allInnerTexts(), ['Red / S', 'Blue / S', 'Red / M']);
  const id = decodeURIComponent(page.url().match(/#\/admin\/products\/([^/?]+)/)[1]);
  const read = async () => (await world.shop.call('GET', `/api/products/${id}`)).body;
  const created = await read();
  assert.deepEqual(created.options, [
    {name: 'Size', values: ['S', 'M']},
    {name: 'Colour', values: ['Red', 'Blue']},
  ]);
  assert.deepEqual([created.price.amount, created.max_price.amount, created.stock], [2000, 2250, 9]);

  // One variant's stock, moved in its own section.
  const redM = page.getByRole('region', {name: 'Red / M'});
  await redM.getByLabel('Change').fill('4');
  await redM.getByLabel('Reason').fill('a box found in the back');
  await redM.getByRole('button', {name: 'Adjust stock'}).click();
  await redM.getByText('In stock: 7').waitFor();
  const moved = await read();
  assert.deepEqual(
    moved.variants.map((v) => [v.options.Colour, v.options.Size, v.stock]),
    [
      ['Red', 'S', 3],
      ['Blue', 'S', 3],
      ['Red', 'M', 7],
    ],
  );

  // A variant added (with the version the adjustment answered), and one deleted.
  const add = page.getByRole('form', {name: 'Add a variant'});
  await add.getByLabel('Size', {exact: true}).fill('L');
  await add.getByLabel('Colour', {exact: true}).fill('Red');
  await add.getByLabel('SKU', {exact: true}).fill(`HAT-${stamp}-RED-L`);
  await add.getByLabel('Price', {exact: true}).fill('24');
  await add.getByLabel('Stock', {exact: true}).fill('2');
  await add.getByRole('button', {name: 'Add variant'}).click();
  await page.getByRole('region', {name: 'Red / L'}).waitFor();
  await page.getByRole('region', {name: 'Blue / S'}).getByRole('button', {name: 'Delete variant'}).click();
  await page.getByRole('region', {name: 'Blue / S'}).waitFor({state: 'detached'});
  const changed = await read();
  assert.deepEqual(
    changed.variants.map((v) => v.sku),
    [`HAT-${stamp}-S-RED`, `HAT-${stamp}-M-RED`, `HAT-${stamp}-RED-L`],
  );
  assert.deepEqual(changed.options[0], {name: 'Size', values: ['S', 'M', 'L']});
  assert.deepEqual(await accessibilityProblems(page), []);
  await screenshot(page, 'admin-variants');

  // The last variant stays: the API's word is shown at its button.
  for (const label of ['Red / S', 'Red / L']) {
    await page.getByRole('region', {name: label}).getByRole('button', {name: 'Delete variant'}).click();
    await page.getByRole('region', {name: label}).waitFor({state: 'detached'});
  }
  const last = page.getByRole('region', {name: 'Red / M'});
  await last.getByRole('button', {name: 'Delete variant'}).click();
  await last.getByRole('alert').filter({hasText: 'at least one variant'}).waitFor();
  assert.equal((await read()).variants.length, 1);

  assert.deepEqual(page.problems, []);
});

test('an admin exports the catalogue as CSV, and imports a file of two products, one with a refused line', async () => {
  const page = await newPage(world.browser);
  await logIn(page, world.url, ADMIN.email, ADMIN.password);
  await page.getByRole('link', {name: 'Back office'}).click();
  await page.getByRole('navigation', {name: 'Back office'}).getByRole('link', {name: 'Import / export'}).click();
  await page.getByRole('heading', {name: 'Import / export', level: 1}).waitFor();

  const downloaded = page.waitForEvent('download');
  await page.getByRole('button', {name: 'Export CSV'}).click();
  const download = await downloaded;
  assert.equal(download.suggestedFilename(), 'products.csv');
  const exported = readFileSync(await download.path(), 'utf8');
  const lines = exported.trimEnd().split('\n');
  assert.ok(
    lines[0].startsWith('handle,name,description,category,active,attributes,product_images,option1_name'),
    lines[0],
  );
  // A row for each variant of the demo catalogue at least (the other tests add products).
  assert.ok(lines.length > 67, `${lines.length} lines`);

  // Line 3 (the header is line 1) has a price in more decimals than euros have.
  const stamp = Date.now();
  const csv = [
    'handle,name,category,sku,price,currency,stock',
    `clock-a,Wall Clock A ${stamp},clocks,CLOCK-A-${stamp},12.50,EUR,3`,
    `clock-b,Wall Clock B ${stamp},clocks,CLOCK-B-${stamp},12.345,EUR,2`,
  ].join('\n');
  await page.getByLabel('CSV file').setInputFiles({name: 'clocks.csv', mimeType: 'text/csv', buffer: Buffer.from(csv)});
  await page.getByRole('button', {name: 'Import CSV'}).click();
  const status = page.locator('#import-status');
  await status.getByText('1 product created', {exact: true}).waitFor();
  await status.getByText('1 row refused', {exact: true}).waitFor();
  const refused = status.getByRole('table').getByRole('row').filter({hasText: 'decimals'});
  assert.equal(await refused.getByRole('rowheader').innerText(), '3');
  assert.equal(await status.getByRole('table').getByRole('row').count(), 2, 'a heading row and the refused line');
  await screenshot(page, 'admin-import');

  const clocks = (await world.shop.call('GET', '/api/products?category=clocks&limit=100')).body;
  assert.deepEqual(
    clocks.filter((p) => p.name.endsWith(String(stamp))).map((p) => [p.name, p.price.amount, p.stock]),
    [[`Wall Clock A ${stamp}`, 1250, 3]],
  );
  assert.deepEqual(await accessibilityProblems(page), []);
  assert.deepEqual(page.problems, []);
});

/** A PNG of 300×200 pixels, orange over blue, as a file to upload. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAASwAAADICAIAAADdvUsCAAABuElEQVR42u3TAQkAMAgAQeOYaUmMYxxjLYYIB5fg4WMqgUUhAZgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwImBBMCJgQTAiYEEwIJlQBTAgmBEwIJgRMCCYETAgmBEwIJgRMCCYETAgmBEwIJgRMCCYETAgmBEwIJgRMCCYETAgmBEwIJgRMCCYETAgmBEwIpyfM18AiE4IJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEgAnBhIAJwYSACcGEYEIJwIRgQsCEYELAhGBCwIRgQsCEYELAhGBCwIRgQsCEYELAhGBCwIRgQsCEYELAhGBCwIRgQsCEYELAhGBCwIRgQsCEcNoHNYidSA61B6sAAAAASUVORK5CYII=',
  'base64',
);

/** Waits until `image` (a locator) has loaded a file the browser could decode. */
async function loaded(page, image) {
  await image.scrollIntoViewIfNeeded();
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await image.elementHandle());
}

test('an admin uploads an image of a product, sees it made and listed, finds it on its page, and deletes it', async () => {
  const product = await world.shop.product(world.admin, {name: `Enamel Mug ${Date.now()}`});
  const alt = 'A white enamel mug with a blue rim';
  const page = await newPage(world.browser);
  // Every refusal of the page's policy, in whichever document the page shows.
  await page.addInitScript(() => {
    window.refusedByPolicy = [];
    addEventListener('securitypolicyviolation', (e) =>
      window.refusedByPolicy.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  await logIn(page, world.url, ADMIN.email, ADMIN.password);
  await page.goto(`${world.url}/#/admin/products/${product.id}`);
  await page.getByRole('heading', {name: product.name, level: 1}).waitFor();
  await page.getByText('No images yet').waitFor();

  // What the upload's status says, step by step.
  await page.evaluate(() => {
    window.uploadSteps = [];
    new MutationObserver((changes) => {
      for (const change of changes) for (const node of change.addedNodes) window.uploadSteps.push(node.textContent);
    }).observe(document.getElementById('upload-status'), {childList: true});
  });
  const form = page.getByRole('form', {name: 'Upload an image'});
  await form.getByLabel('Image file').setInputFiles({name: 'mug.png', mimeType: 'image/png', buffer: PNG});
  await form.getByLabel('Alt text').fill(alt);
  await form.getByRole('button', {name: 'Upload image'}).click();
  await page.locator('#upload-status', {hasText: 'Uploaded'}).waitFor();
  assert.deepEqual((await page.evaluate(() => window.uploadSteps)).filter(Boolean), [
    'Uploading…',
    'Processing…',
    'Uploaded: it is image 1.',
  ]);
  const listed = page.getByRole('region', {name: 'Image 1'});
  await listed.getByText(alt, {exact: true}).waitFor();
  await loaded(page, listed.getByRole('img', {name: alt}));
  const made = (await world.shop.call('GET', `/api/products/${product.id}`)).body.media;
  assert.deepEqual(
    made.map((m) => [m.alt, m.sizes.map((s) => s.width)]),
    [[alt, [200]]],
    'one size: the image is narrower than 600 pixels',
  );
  assert.deepEqual(await accessibilityProblems(page), []);
  await screenshot(page, 'admin-images');

  // The shop's page shows it, from the media origin (this stack's /media), loaded.
  await page.goto(`${world.url}/#/product/${product.id}`);
  await settled(page);
  const shown = page.locator('#gallery').getByRole('img', {name: alt});
  await loaded(page, shown);
  assert.equal(await shown.getAttribute('loading'), 'lazy');
  assert.equal(await shown.getAttribute('srcset'), `${made[0].sizes[0].url} 200w`);
  assert.ok((await shown.evaluate((img) => img.currentSrc)).startsWith(`${world.url}/media/images/`));
  assert.deepEqual(
    [await shown.getAttribute('width'), await shown.getAttribute('height')],
    ['200', String(made[0].sizes[0].height)],
  );
  await screenshot(page, 'product-images');

  await page.goto(`${world.url}/#/admin/products/${product.id}`);
  await settled(page);
  await page.getByRole('region', {name: 'Image 1'}).getByRole('button', {name: 'Delete image'}).click();
  await page.getByText('No images yet').waitFor();
  assert.equal(await page.getByRole('region', {name: 'Image 1'}).count(), 0);
  assert.deepEqual((await world.shop.call('GET', `/api/products/${product.id}`)).body.media, []);

  assert.deepEqual(await page.evaluate(() => window.refusedByPolicy), []);
  assert.deepEqual(page.problems, []);
});

test('text from the API is shown as text, never run', async () => {
  const name = '<img src=x onerror=alert(1)> Lamp';
  const product = await world.shop.product(world.admin, {name, description: '<script>alert(2)</script> glows'});
  const page = await newPage(world.browser);
  await page.goto(`${world.url}/#/product/${product.id}`);
  await page.getByRole('heading', {name, level: 1}).waitFor();
  assert.equal(await page.locator('main img').count(), 0);
  assert.match(await page.locator('main').innerText(), /<script>alert\(2\)<\/script> glows/);
  // Search results mark the matched words in text the API escaped: still only text.
  await world.shop.searchable('lamp', product.id);
  for (let i = 0; ; i++) {
    await page.goto(`${world.url}/#/search?q=lamp`);
    await settled(page);
    if ((await page.locator('main').innerText()).includes('<img src=x')) break;
    assert.ok(i < 50, 'the product was never found');
    await page.waitForTimeout(200);
  }
  assert.equal(await page.locator('main img').count(), 0);
  await screenshot(page, 'xss');
  assert.deepEqual(page.problems, []);
});

test('the page carries its policy, and its scripts and styles weigh under 100 KB compressed', async (t) => {
  const answer = await fetch(`${world.url}/`);
  const policy = answer.headers.get('content-security-policy');
  assert.match(policy, /script-src 'self';/);
  assert.match(policy, /frame-ancestors 'none'/);
  assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
  assert.equal(answer.headers.get('cache-control'), 'no-cache');

  // Everything the shop's pages load, measured as the browser fetched it.
  const page = await newPage(world.browser);
  const loaded = new Set();
  page.on('response', (response) => {
    if (response.url().startsWith(world.url) && !response.url().includes('/api/')) loaded.add(response.url());
  });
  const started = Date.now();
  await page.goto(`${world.url}/`);
  await page.locator('main h1').waitFor();
  const firstRender = Date.now() - started;
  await page.getByRole('combobox', {name: 'Search products'}).fill('sock');
  await page.locator('#suggestions option').first().waitFor({state: 'attached'});
  const interactive = Date.now() - started;
  const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
  let compressed = 0;
  let raw = 0;
  for (const url of loaded) {
    const body = Buffer.from(await (await fetch(url)).arrayBuffer());
    raw += body.length;
    compressed += gzipSync(body, {level: 9}).length;
  }
  t.diagnostic(
    `page weight: ${loaded.size} files, ${(raw / 1024).toFixed(1)} KB, ${(compressed / 1024).toFixed(1)} KB gzip`,
  );
  t.diagnostic(
    `first contentful paint ${paint?.toFixed(0)} ms; first view drawn after ${firstRender} ms; suggestions shown after ${interactive} ms`,
  );
  assert.ok(compressed < 100 * 1024, `${compressed} bytes compressed`);

  // Refusing an inline script is the policy at work in the browser.
  const refused = await page.evaluate(
    () =>
      new Promise((resolve) => {
        addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), {once: true});
        const script = document.createElement('script');
        script.textContent = 'window.injected = true';
        document.body.append(script);
        setTimeout(() => resolve(null), 1000);
      }),
  );
  assert.match(refused, /^script-src/);
  assert.equal(await page.evaluate(() => window.injected), undefined);
});

test('the vendored CSS is the npm package the lock file names, byte for byte', () => {
  const pico = new URL('../node_modules/@picocss/pico/', import.meta.url);
  const version = JSON.parse(readFileSync(new URL('package.json', pico))).version;
  const vendored = readFileSync(new URL(`../assets/vendor/pico-${version}.min.css`, import.meta.url));
  assert.ok(
    vendored.equals(readFileSync(new URL('css/pico.min.css', pico))),
    `assets/vendor/pico-${version}.min.css differs from npm's`,
  );
});
