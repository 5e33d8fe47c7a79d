// The card form on Stripe.js, as deployed, against a Stripe-protocol server (localstripe, which
// the test command starts and names in SHOP_TEST_STRIPE_API) serving its stand-in Stripe.js.
// That stand-in cannot confirm a card payment (its confirmCardPayment ignores the card and only
// completes 3-D Secure), so this proves the wiring: the script loads under the page's policy,
// the card element mounts, and what Stripe.js answers reaches the shopper.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {PASSWORD, fillIn, logIn, newEmail, newPage, screenshot, settled, useShop} from './support.mjs';

const api = process.env.SHOP_TEST_STRIPE_API;
const world = api
  ? useShop({
      SHOP_PAYMENTS: 'stripe',
      STRIPE_SECRET_KEY: 'sk_test_storefront',
      STRIPE_API_BASE: api,
      STRIPE_PUBLISHABLE_KEY: 'pk_test_storefront',
      STRIPE_JS_URL: `${api}/js.stripe.com/v3/`,
    })
  : null;

test(
  'Stripe.js loads under the page policy, mounts its card form, and its answer is shown',
  {skip: !api && 'SHOP_TEST_STRIPE_API names no localstripe'},
  async () => {
    const email = newEmail('card');
    await world.shop.call('POST', '/api/users', world.admin, {email, password: PASSWORD, name: 'Card Holder'});
    const token = await world.shop.login(email, PASSWORD);
    const product = (await world.shop.call('GET', '/api/products?limit=1')).body[0];
    await world.shop.call('PUT', `/api/cart/items/${product.variants[0].id}`, token, {quantity: 1});

    const page = await newPage(world.browser);
    await logIn(page, world.url, email, PASSWORD);
    await page.goto(`${world.url}/#/checkout`);
    await settled(page);
    await fillIn(page, {
      'Full name': 'Card Holder',
      'Street and number': '1 Main St',
      'Postal code': '10115',
      City: 'Berlin',
      'Country (two letters)': 'DE',
    });
    await page.getByRole('button', {name: 'Place order'}).click();
    await page.getByRole('heading', {name: 'Pay your order'}).waitFor();
    const order = decodeURIComponent(page.url().match(/#\/orders\/([^/]+)\/pay/)[1]);

    const card = page.locator('#card');
    await card.locator('input[placeholder="number"]').fill('4242424242424242');
    for (const [field, value] of [
      ['exp_month', '12'],
      ['exp_year', '34'],
      ['cvc', '123'],
      ['postal_code', '10115'],
    ]) {
      await card.locator(`input[placeholder="${field}"]`).fill(value);
    }
    await screenshot(page, 'pay-stripe');
    await page.getByRole('button', {name: /^Pay /}).click();
    await page.getByRole('button', {name: 'Complete authentication'}).click();
    // The stand-in refuses to authenticate a payment that asked for no authentication.
    await page.getByRole('alert').waitFor();
    const shown = (await page.getByRole('alert').innerText()).trim();
    assert.ok(shown.length > 0);
    const after = (await world.shop.call('GET', `/api/orders/${order}`, token)).body;
    assert.equal(after.status, 'PENDING_PAYMENT');
    assert.equal(after.payment.provider, 'stripe');
    assert.deepEqual(page.problems, [], 'no script error, no refused policy');
  },
);
