// What the storefront's browser tests share: a local stack of their own (the `shop-stack` the
// test command builds), the system's Chromium driven by playwright-core, the local mailbox, the
// API for arranging what a test needs, axe-core, and screenshots kept as test output.

import {spawn} from 'node:child_process';
import {mkdtempSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {after, before} from 'node:test';
import {chromium} from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
export const SCREENSHOTS = join(target, 'storefront', 'screenshots');
export const ADMIN = {email: 'admin@shop.test', password: 'Storefront-Admin-1'};
export const PASSWORD = 'Shopper-Password-1';
/** A German shipping address, as the checkout form's labels name its fields. */
export const ADDRESS = {
  'Full name': 'Ada Lovelace',
  'Street and number': '1 Analytical Way',
  'Postal code': '10115',
  City: 'Berlin',
  'Country (two letters)': 'DE',
};
export const CARD_PAID = '4242 4242 4242 4242';
export const CARD_DECLINED = '4000 0000 0000 0002';

function freePort() {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => done(port));
    });
  });
}

/** A local stack as `cargo run` starts it (accounts confirmed by emailed codes), in a data
 *  directory of its own; `stop()` ends it and removes the directory. Its shop has no shipping
 *  zones or tax rates (it ships for nothing and a checkout names no option) unless `settings`
 *  ask for the demo's: `{SHOP_SEED_SHIPPING: 'true'}`. */
export async function startStack(settings = {}) {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'storefront-'));
  const binary = process.env.SHOP_STACK ?? join(target, 'debug', 'shop-stack');
  const child = spawn(binary, [], {
    env: {
      ...process.env,
      SHOP_ADDR: `127.0.0.1:${port}`,
      SHOP_DATA_DIR: data,
      SHOP_CONFIRM: 'code',
      SHOP_ADMIN_EMAIL: ADMIN.email,
      SHOP_ADMIN_PASSWORD: ADMIN.password,
      SHOP_RATE_LIMIT: '0',
      SHOP_BACKEND: 'embedded',
      SHOP_PAYMENTS: 'simulated',
      OPENSEARCH_ENDPOINT: '',
      SHOP_SEED_SHIPPING: 'false',
      RUST_LOG: 'warn',
      ...settings,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null)
      throw new Error(
        `${binary} exited with ${child.exitCode} (the cargo tests build it: cargo test --workspace --tests --no-run)`,
      );
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill();
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r()));
      rmSync(data, {recursive: true, force: true});
    },
  };
}

/** What a test file's tests share, ready before the first: its own local stack (`url`, with
 *  `settings` as more of its environment), a browser, the API (`shop`) and an admin's token
 *  (`admin`); all stopped after the last. */
export function useShop(settings = {}) {
  const world = {};
  before(async () => {
    world.stack = await startStack(settings);
    world.url = world.stack.url;
    world.browser = await launch();
    world.shop = api(world.url);
    world.admin = await world.shop.login(ADMIN.email, ADMIN.password);
  });
  after(async () => {
    await world.browser?.close();
    await world.stack?.stop();
  });
  return world;
}

/** The system's Chromium (Debian's, or `SHOP_CHROMIUM`): the tests never download a browser. */
export function launch() {
  return chromium.launch({executablePath: process.env.SHOP_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox']});
}

/** A fresh page (its own session storage) that records what the browser complains about:
 *  script errors, refused policies, dialogs (an `alert` would be an injected script). */
export async function newPage(browser) {
  const context = await browser.newContext({viewport: {width: 1280, height: 900}});
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text()))
      page.problems.push(`console: ${message.text()}`);
  });
  page.on('dialog', async (dialog) => {
    page.problems.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  return page;
}

/** Types each value into the field its label names exactly (`{'Postal code': '10115'}`). */
export async function fillIn(page, fields) {
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, {exact: true}).fill(value);
}

/** Logs in as a person does from the shop at `url`: its "Log in" leads to the sign-in's page
 *  (the local stack's own, where Cognito's managed login is in AWS), where `signIn` goes on. */
export async function logIn(page, url, email, password) {
  await page.goto(`${url}/#/`);
  await settled(page);
  await page.getByRole('navigation', {name: 'Shop'}).getByRole('link', {name: 'Log in'}).click();
  await signIn(page, email, password);
}

/** Logs out from the header, and waits until the sign-in's sign-out (which ends its own session)
 *  has sent the browser back to the shop, signed out. */
export async function logOut(page) {
  // The sign-out answers with a redirect: the browser never shows its address.
  const back = page.waitForResponse((r) => new URL(r.url()).pathname === '/logout' && r.status() === 302);
  await page.getByRole('button', {name: 'Log out'}).click();
  await back;
  await page.waitForLoadState('load');
  await page.getByRole('navigation', {name: 'Shop'}).getByRole('link', {name: 'Log in'}).waitFor();
  await settled(page);
}

/** On the sign-in's page: signs in, and waits until the shop, back with the code, has traded it
 *  for the session and drawn the view the shopper set out for. */
export async function signIn(page, email, password) {
  await page.getByRole('heading', {name: 'Sign in to the shop'}).waitFor();
  await fillIn(page, {Email: email, Password: password});
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('button', {name: 'Log out'}).waitFor();
  await settled(page);
}

/** Waits until the page shows what its address names (the view drawn after the last change). */
export async function settled(page) {
  await page.waitForFunction(() => {
    const main = document.getElementById('main');
    return main.dataset.shown === location.hash && !main.hasAttribute('aria-busy');
  });
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, {recursive: true});
  await page.screenshot({path: join(SCREENSHOTS, `${name}.png`), fullPage: true});
}

const axeSource = readFileSync(join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core's serious and critical findings on the page as it is now (WCAG 2.1 A and AA). It
 *  runs through the DevTools protocol, which the page's policy does not govern. */
export async function accessibilityProblems(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    globalThis.axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}),
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The API, for arranging what a test needs and checking what the pages did. */
export function api(url) {
  const call = async (method, path, token, body, headers = {}) => {
    const answer = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(body ? {'content-type': 'application/json'} : {}),
        ...(token ? {authorization: `Bearer ${token}`} : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await answer.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${text}`);
    return {body: parsed, headers: answer.headers};
  };
  return {
    call,
    async login(email, password) {
      return (await call('POST', '/api/auth/login', null, {email, password})).body.id_token;
    },
    /** The one-time code of the latest text message with one to the number `to`. */
    async smsCode(to) {
      for (let i = 0; i < 100; i++) {
        const messages = (await call('GET', '/_local/mailbox.json')).body;
        const codes = messages
          .filter((m) => m.channel === 'sms' && m.to === to)
          .map((m) => m.text.match(/your code is (\d{6})/));
        const code = codes.findLast(Boolean);
        if (code) return code[1];
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no code reached ${to}`);
    },
    /** The email to `to` whose subject holds `subject`, looked for in the mailbox for
     *  `seconds`. */
    async mail(to, subject, seconds = 10) {
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        const messages = (await call('GET', '/_local/mailbox.json')).body;
        const found = messages.find((m) => m.to === to && (m.subject ?? '').includes(subject));
        if (found) return found;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no email "${subject}" reached ${to} within ${seconds} s`);
    },
    /** Waits until the search index holds `text` for `query` (the index follows the catalogue's
     *  events). Asked here, past the browser's cache, which may keep an older answer for
     *  seconds, as the API allows. */
    async searchable(query, text) {
      for (let i = 0; i < 200; i++) {
        const found = await call('GET', `/api/search?q=${encodeURIComponent(query)}`);
        if (JSON.stringify(found.body).includes(text)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`"${query}" never found ${text}`);
    },
    async product(admin, fields) {
      const body = {
        sku: `T-${Date.now()}-${Math.floor(Math.random() * 1e6)}`,
        description: 'A product made by a test.',
        category: 'tests',
        price: {amount: 1250, currency: 'EUR'},
        stock: 10,
        active: true,
        ...fields,
      };
      return (await call('POST', '/api/products', admin, body)).body;
    },
  };
}

/** An address no other test uses. */
/** A confirmed shopper made through the API, logged in through the pages, with one `product`
 *  put in the cart from its page; answers their email. */
export async function shopperWith(world, page, name, product) {
  const email = newEmail(name.toLowerCase());
  await world.shop.call('POST', '/api/users', world.admin, {email, password: PASSWORD, name});
  await logIn(page, world.url, email, PASSWORD);
  await page.goto(`${world.url}/#/product/${product.id}`);
  await settled(page);
  await page.getByLabel('Quantity').fill('1');
  await page.getByRole('button', {name: 'Add to cart'}).click();
  await page.getByText('Added.').waitFor();
  return email;
}

export function newEmail(who) {
  return `${who}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@shop.test`;
}

/** Places the order the checkout page holds, pays it with the card that succeeds, and waits
 *  until the page says it is paid; answers the order's id. */
export async function placeAndPay(page) {
  await page.getByRole('button', {name: 'Place order'}).click();
  await page.getByRole('heading', {name: 'Pay your order'}).waitFor();
  const id = decodeURIComponent(page.url().match(/#\/orders\/([^/]+)\/pay/)[1]);
  await page.getByLabel('Card number').fill(CARD_PAID);
  await page.getByRole('button', {name: /^Pay /}).click();
  await page.getByText('(Paid)').waitFor({timeout: 30_000});
  await settled(page);
  return id;
}

/** An order of two units of `product` placed through the API by the shopper `email` (a new
 *  one named `name`, made through the API, when none is given), sent to an address in `name`,
 *  and paid with the card that succeeds; answers the order once the API says it is paid. */
export async function paidOrder(world, product, {email, name = 'Buyer'} = {}) {
  if (!email) {
    email = newEmail(name.toLowerCase());
    await world.shop.call('POST', '/api/users', world.admin, {email, password: PASSWORD, name});
  }
  const token = await world.shop.login(email, PASSWORD);
  const address = {name, line1: '1 Main St', city: 'Berlin', postal_code: '10115', country: 'DE'};
  const order = (
    await world.shop.call('POST', '/api/orders', token, {
      items: [{product_id: product.id, quantity: 2}],
      shipping_address: address,
    })
  ).body;
  const checkout = (await world.shop.call('POST', `/api/orders/${order.id}/payment`, token, {})).body;
  await world.shop.call('POST', `/_simulator/payments/${checkout.payment_id}/confirm`, null, {
    card: '4242424242424242',
  });
  for (let i = 0; i < 100; i++) {
    if ((await world.shop.call('GET', `/api/orders/${order.id}`, token)).body.status === 'PAID') return order;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`order ${order.id} was not paid`);
}
