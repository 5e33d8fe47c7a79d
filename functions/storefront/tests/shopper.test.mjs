// A shopper's journeys through the storefront, in Chromium, against a local stack.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  ADDRESS,
  CARD_DECLINED,
  CARD_PAID,
  PASSWORD,
  accessibilityProblems,
  settled,
  fillIn,
  newEmail,
  newPage,
  screenshot,
  signIn,
  useShop,
} from './support.mjs';

const world = useShop();

/** Signs a new shopper up through the pages, confirming with the emailed code; the pages then
 *  send them to sign in. */
async function signUp(page, name) {
  const email = newEmail(name.toLowerCase());
  await page.goto(`${world.url}/#/signup`);
  await page.getByLabel('Name', {exact: true}).fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', {name: 'Create account'}).click();
  await page.getByRole('heading', {name: 'Confirm your email'}).waitFor();
  const mail = await world.shop.mail(email, 'Confirm your account');
  await page.getByLabel('Code').fill(mail.text.match(/\b\d{6}\b/)[0]);
  await page.getByRole('button', {name: 'Confirm'}).click();
  await signIn(page, email, PASSWORD);
  await page.getByRole('link', {name: /^Cart/}).waitFor();
  return email;
}

async function addToCart(page, productName, quantity = 1) {
  await page.getByRole('link', {name: productName}).first().click();
  await page.getByRole('heading', {name: productName, level: 1}).waitFor();
  await page.getByLabel('Quantity').fill(String(quantity));
  await page.getByRole('button', {name: 'Add to cart'}).click();
  await page.getByText('Added.').waitFor();
}

async function search(page, words) {
  await page.getByRole('combobox', {name: 'Search products'}).fill(words);
  await page.getByRole('button', {name: 'Search', exact: true}).click();
  await settled(page);
}

async function checkOut(page) {
  await page.goto(`${world.url}/#/checkout`);
  await fillIn(page, ADDRESS);
  await page.getByRole('button', {name: 'Place order'}).click();
  await page.getByRole('heading', {name: 'Pay your order'}).waitFor();
  return decodeURIComponent(page.url().match(/#\/orders\/([^/]+)\/pay/)[1]);
}

async function payWith(page, card) {
  await page.getByLabel('Card number').fill(card);
  await page.getByRole('button', {name: /^Pay /}).click();
}

test('a shopper signs up, searches with a typo, filters, buys two products, pays and cancels another order', async () => {
  const page = await newPage(world.browser);
  const email = await signUp(page, 'Ada');
  await screenshot(page, 'home');

  await search(page, 'mechanical keybord');
  assert.match(await page.locator('main').innerText(), /Mechanical Keyboard/);
  await screenshot(page, 'search');
  await search(page, 'wool');
  await page.getByRole('radio', {name: /^apparel/}).check();
  await settled(page);
  assert.ok(page.url().includes('category=apparel'));
  assert.match(await page.locator('main').innerText(), /Merino Wool Sweater/);
  assert.doesNotMatch(await page.locator('section[aria-label=Results]').innerText(), /Throw Blanket/);

  await addToCart(page, 'Merino Wool Sweater');
  await search(page, 'speaker');
  await addToCart(page, 'Bluetooth Speaker');
  await page.getByRole('link', {name: /^Cart/}).click();
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  const total = await page.locator('#cart-total').innerText();
  await page.getByLabel('Quantity of Bluetooth Speaker').fill('2');
  await page.getByLabel('Quantity of Bluetooth Speaker').press('Tab');
  await page.waitForFunction((was) => document.querySelector('#cart-total')?.textContent !== was, total);
  await screenshot(page, 'cart');

  const paid = await checkOut(page);
  await screenshot(page, 'pay');
  await payWith(page, CARD_PAID);
  await page.getByText('(Paid)').waitFor({timeout: 30_000});
  assert.match(await page.locator('main').innerText(), /PAID/);
  await screenshot(page, 'order');
  const mail = await world.shop.mail(email, `Order ${paid} paid`);
  assert.match(mail.text, /payment/);

  // Another order, left unpaid and cancelled from its page.
  await search(page, 'linen');
  await addToCart(page, 'Linen Shirt');
  const unpaid = await checkOut(page);
  await page.goto(`${world.url}/#/orders/${unpaid}`);
  await page.getByRole('button', {name: 'Cancel order'}).click();
  await page.getByText('(Cancelled)').waitFor();
  await page.getByRole('link', {name: 'Orders'}).click();
  await settled(page);
  const list = await page.locator('main').innerText();
  assert.match(list, new RegExp(`${paid}[\\s\\S]*PAID|PAID[\\s\\S]*${paid}`));
  assert.match(list, /CANCELLED/);
  assert.deepEqual(page.problems, []);
});

test('a declined card says why, and another card pays', async () => {
  const page = await newPage(world.browser);
  await signUp(page, 'Grace');
  await search(page, 'earbuds');
  await addToCart(page, 'Wireless Earbuds');
  await checkOut(page);
  await payWith(page, CARD_DECLINED);
  const alert = page.getByRole('alert').filter({hasText: 'declined'});
  await alert.waitFor({timeout: 30_000});
  assert.match(await alert.innerText(), /Your card was declined\. Try another card\./);
  await screenshot(page, 'declined');
  await payWith(page, CARD_PAID);
  await page.getByText('(Paid)').waitFor({timeout: 30_000});
  assert.deepEqual(page.problems, []);
});

test('a line the stock cannot cover is shown, and blocks the checkout', async () => {
  const product = await world.shop.product(world.admin, {name: 'Last Lantern', stock: 2});
  const page = await newPage(world.browser);
  await signUp(page, 'Linus');
  await page.goto(`${world.url}/#/product/${product.id}`);
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', {name: 'Add to cart'}).click();
  await page.getByText('Added.').waitFor();
  // Someone else buys one meanwhile (the shop writes one off here).
  await world.shop.call('POST', `/api/products/${product.id}/stock`, world.admin, {
    delta: -1,
    reason: 'broken in the store',
  });
  await page.getByRole('link', {name: /^Cart/}).click();
  await page.getByText('Only 1 left.').waitFor();
  assert.equal(await page.getByRole('link', {name: 'Check out'}).count(), 0);
  await screenshot(page, 'short-of-stock');
});

test('two clicks on "Place order" make one order', async () => {
  const page = await newPage(world.browser);
  const email = await signUp(page, 'Barbara');
  await search(page, 'webcam');
  await addToCart(page, '4K Webcam');
  await page.goto(`${world.url}/#/checkout`);
  await fillIn(page, ADDRESS);
  await page.getByRole('button', {name: 'Place order'}).dblclick();
  await page.getByRole('heading', {name: 'Pay your order'}).waitFor();
  const token = await world.shop.login(email, PASSWORD);
  const orders = (await world.shop.call('GET', '/api/orders', token)).body;
  assert.equal(orders.length, 1, JSON.stringify(orders));
});

test('a shopper chooses a size and a colour, is shown what is not sold, and buys that variant', async () => {
  const stamp = Date.now();
  const name = `Trail Socks ${stamp}`;
  const sock = (colour, size, amount, stock) => ({
    sku: `SOCK-${stamp}-${colour}-${size}`,
    options: {Size: size, Colour: colour},
    price: {amount, currency: 'EUR'},
    stock,
  });
  const product = (
    await world.shop.call('POST', '/api/products', world.admin, {
      name,
      description: 'Warm feet on the trail.',
      category: 'apparel',
      options: [
        {name: 'Size', values: ['S', 'M', 'L']},
        {name: 'Colour', values: ['Green', 'Grey']},
      ],
      // Green in S is sold out; there is no grey pair in L.
      variants: [
        sock('Green', 'S', 1200, 0),
        sock('Green', 'M', 1300, 5),
        sock('Green', 'L', 1400, 5),
        sock('Grey', 'S', 1250, 5),
        sock('Grey', 'M', 1350, 5),
      ],
    })
  ).body;
  const greyM = product.variants.find((v) => v.options.Colour === 'Grey' && v.options.Size === 'M');

  const page = await newPage(world.browser);
  const email = await signUp(page, 'Vera');
  await page.goto(`${world.url}/#/product/${product.id}`);
  await settled(page);
  const price = page.locator('#price');
  // The first pair in stock is chosen, and what cannot be bought with it is said.
  assert.equal(await page.getByRole('radio', {name: 'M', exact: true}).isChecked(), true);
  assert.equal(await page.getByRole('radio', {name: 'Green', exact: true}).isChecked(), true);
  assert.match(await price.innerText(), /13\.00/);
  await page.getByRole('radio', {name: 'S (sold out)'}).waitFor();
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.getByRole('radio', {name: 'L', exact: true}).check();
  assert.match(await price.innerText(), /14\.00/);
  await page.getByRole('radio', {name: 'Grey (unavailable)'}).check();
  // Shown by the choice (the same words are announced in the page's live region too).
  await page.locator('#stock-note').getByText('Not available in this combination').waitFor();
  assert.equal(await page.getByRole('button', {name: 'Add to cart'}).count(), 0);
  await screenshot(page, 'variant-unavailable');

  await page.getByRole('radio', {name: /^M/}).check();
  assert.match(await price.innerText(), /13\.50/);
  assert.match(await page.locator('#sku').innerText(), new RegExp(`SOCK-${stamp}-GREY-M`));
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', {name: 'Add to cart'}).click();
  await page.getByText('Added.').waitFor();
  await screenshot(page, 'variant-chosen');

  await page.getByRole('link', {name: /^Cart/}).click();
  await page.getByRole('heading', {name: 'Your cart'}).waitFor();
  assert.match(await page.locator('main tbody').innerText(), new RegExp(`${name} — Grey / M`));
  assert.equal(await page.getByLabel(`Quantity of ${name} — Grey / M`).inputValue(), '2');
  await screenshot(page, 'variant-cart');
  const token = await world.shop.login(email, PASSWORD);
  const cart = (await world.shop.call('GET', '/api/cart', token)).body;
  assert.deepEqual(
    cart.lines.map((l) => [l.variant_id, l.options, l.quantity]),
    [[greyM.id, {Colour: 'Grey', Size: 'M'}, 2]],
  );

  await checkOut(page);
  await payWith(page, CARD_PAID);
  await page.getByText('(Paid)').waitFor({timeout: 30_000});
  assert.match(await page.locator('main').innerText(), new RegExp(`${name} — Grey / M`));
  const after = (await world.shop.call('GET', `/api/products/${product.id}`)).body;
  assert.equal(after.variants.find((v) => v.id === greyM.id).stock, 3);
  assert.deepEqual(page.problems, []);
});

/** Presses Tab until the focused element's text (or label) is `wanted`. */
async function tabTo(page, wanted) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      return (element?.labels?.[0]?.textContent ?? element?.textContent ?? '').trim();
    });
    if (focused === wanted) return;
  }
  throw new Error(`Tab never reached "${wanted}"`);
}

test('a shopper finds a product and puts it in the cart with the keyboard alone', async () => {
  const page = await newPage(world.browser);
  const email = await signUp(page, 'Keys');
  await page.goto(`${world.url}/#/`);
  await settled(page);
  await tabTo(page, 'Search products');
  await page.keyboard.type('bluetooth speaker');
  await page.keyboard.press('Enter');
  await settled(page);
  await tabTo(page, 'Bluetooth Speaker');
  await page.keyboard.press('Enter');
  await settled(page);
  await tabTo(page, 'Quantity');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('3');
  await tabTo(page, 'Add to cart');
  await page.keyboard.press('Enter');
  await page.getByText('Added.').waitFor();
  const token = await world.shop.login(email, PASSWORD);
  const cart = (await world.shop.call('GET', '/api/cart', token)).body;
  assert.deepEqual(
    cart.lines.map((l) => [l.name, l.quantity]),
    [['Bluetooth Speaker', 3]],
  );
});

test('every page passes axe-core with no serious or critical finding', async () => {
  const page = await newPage(world.browser);
  await signUp(page, 'Axel');
  await search(page, 'candle');
  await addToCart(page, 'Scented Candle');
  const order = await checkOut(page);
  const product = (await world.shop.call('GET', '/api/products?limit=1')).body[0].id;
  const pages = [
    '',
    'category/electronics',
    'search?q=candle',
    `product/${product}`,
    'cart',
    'checkout',
    `orders/${order}/pay`,
    'orders',
    `orders/${order}`,
    'account',
    'notifications',
  ];
  const findings = {};
  for (const path of pages) {
    await page.goto(`${world.url}/#/${path}`);
    await settled(page);
    await screenshot(
      page,
      `page-${path.replace(order, 'order').replace(product, 'product').replace(/[/?=]/g, '-') || 'home'}`,
    );
    const problems = await accessibilityProblems(page);
    if (problems.length) findings[path] = problems;
  }
  // Logging in is the sign-in's page (sign-in.test.mjs checks the shop's word when it fails).
  const anonymous = await newPage(world.browser);
  for (const path of ['signup', 'forgot', 'confirm']) {
    await anonymous.goto(`${world.url}/#/${path}`);
    await settled(anonymous);
    await screenshot(anonymous, `page-${path}`);
    const problems = await accessibilityProblems(anonymous);
    if (problems.length) findings[path] = problems;
  }
  assert.deepEqual(findings, {});
});
