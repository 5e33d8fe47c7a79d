// Products sold as variants, in jsdom against a stand-in API: a product's picker (each option's
// choices, those not offered or sold out marked, the chosen variant's price, stock and SKU, and
// the variant put in the cart), the cart's and an order's lines with their option values, and
// the back office's variants (the products' table, a new product's variants, and a product's
// variants adjusted, added, edited and deleted with the version last answered).

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show, fromPrice} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';

const eur = (amount) => ({amount, currency: 'EUR'});
const variant = (id, sku, options, amount, stock) => ({
  id,
  sku,
  options,
  price: eur(amount),
  stock,
  weight_grams: 200,
  images: [],
});
const VARIANTS = [
  variant('v-bs', 'TEE-BLACK-S', {Colour: 'Black', Size: 'S'}, 1500, 0),
  variant('v-bm', 'TEE-BLACK-M', {Colour: 'Black', Size: 'M'}, 1700, 3),
  variant('v-ws', 'TEE-WHITE-S', {Colour: 'White', Size: 'S'}, 1600, 9),
  variant('v-wm', 'TEE-WHITE-M', {Colour: 'White', Size: 'M'}, 1700, 2),
  // No white one in L.
  variant('v-bl', 'TEE-BLACK-L', {Colour: 'Black', Size: 'L'}, 1900, 4),
];

/** The T-shirt with these variants, its summary as the API computes it. */
function tee(variants = VARIANTS, version = 5) {
  const prices = variants.map((v) => v.price.amount);
  return {
    id: 'p1',
    name: 'Tee',
    description: 'Soft.',
    category: 'apparel',
    images: ['https://images.test/tee.jpg'],
    attributes: {brand: 'Demo'},
    active: true,
    options: [
      {name: 'Size', values: ['S', 'M', 'L']},
      {name: 'Colour', values: ['Black', 'White']},
    ],
    variants,
    price: eur(Math.min(...prices)),
    max_price: eur(Math.max(...prices)),
    stock: variants.reduce((sum, v) => sum + v.stock, 0),
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
    version,
  };
}
const LAMP = {
  ...tee([variant('p2', 'LAMP-1', {}, 2500, 7)]),
  id: 'p2',
  name: 'Lamp',
  category: 'home',
  options: [],
};

let product = tee();
let cartLines = [];
const cart = () => ({lines: cartLines, total: eur(0), ready_for_checkout: true});
const versioned = (status = 200) => [status, product, {etag: `"${product.version}"`}];
/** The product after `change` to its variants, one version on. */
const changed = (change) => {
  product = tee(change(product.variants), product.version + 1);
  return versioned();
};
const calls = fakeApi({
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: {max_quantity: 10}}],
  'GET /api/products/p1': () => [200, product],
  'GET /api/products/p2': () => [200, LAMP],
  'GET /api/products/p1/record': () => versioned(),
  'GET /api/products/p2/record': () => [200, LAMP, {etag: '"5"'}],
  'GET /api/products?limit=50': () => [200, [tee(), LAMP]],
  'GET /api/cart': () => [200, cart()],
  'PUT /api/cart/items/v-ws': (body) => {
    cartLines = [{product_id: 'p1', variant_id: 'v-ws', quantity: body.quantity}];
    return [200, cart()];
  },
  'PUT /api/cart/items/v-bm': () => [200, cart()],
  'DELETE /api/cart/items/v-ws': () => [204, undefined, {'content-type': 'text/plain'}],
  'GET /api/orders/o1': () => [
    200,
    {
      id: 'o1',
      status: 'PAID',
      total: eur(3400),
      lines: [
        {
          product_id: 'p1',
          variant_id: 'v-bm',
          sku: 'TEE-BLACK-M',
          name: 'Tee',
          options: {Colour: 'Black', Size: 'M'},
          unit_price: eur(1700),
          quantity: 2,
          line_total: eur(3400),
        },
      ],
      shipping_address: {name: 'Ada', line1: '1 Main St', postal_code: '10115', city: 'Berlin', country: 'DE'},
      history: [{status: 'PAID', at: '2026-12-01T10:00:00Z'}],
    },
  ],
  'POST /api/products': (body) => [201, {...tee(), id: 'p9', name: body.name}],
  'POST /api/products/p1/variants/v-bm/stock': (body) =>
    changed((variants) => variants.map((v) => (v.id === 'v-bm' ? {...v, stock: v.stock + body.delta} : v))),
  'POST /api/products/p2/variants/p2/stock': (body) => [
    200,
    {...LAMP, stock: 7 + body.delta, variants: [{...LAMP.variants[0], stock: 7 + body.delta}]},
    {etag: '"6"'},
  ],
  'POST /api/products/p1/variants': (body) => {
    changed((variants) => [...variants, {...variant('v-wl', body.sku, body.options, body.price.amount, body.stock)}]);
    return versioned(201);
  },
  'PUT /api/products/p1/variants/v-ws': (body) =>
    changed((variants) => variants.map((v) => (v.id === 'v-ws' ? {...v, sku: body.sku, price: body.price} : v))),
  'DELETE /api/products/p1/variants/v-bs': () => changed((variants) => variants.filter((v) => v.id !== 'v-bs')),
  'DELETE /api/products/p1/variants/v-bl': () => [
    409,
    {
      title: 'Conflict',
      status: 409,
      detail: 'a product keeps at least one variant: delete the product instead',
    },
  ],
  'PUT /api/products/p1': () => versioned(),
  'PUT /api/products/p2': () => [200, LAMP, {etag: '"6"'}],
});

signedIn({
  id_token: idToken({sub: 'u1', email: 'ada@shop.test', 'cognito:groups': ['admin']}),
  access_token: 'access',
  refresh_token: 'refresh',
  expires_in: 3600,
});
const shop = await import('../../assets/js/views/shop.js');
const carts = await import('../../assets/js/views/cart.js');
const orders = await import('../../assets/js/views/orders.js');
const admin = await import('../../assets/js/views/admin.js');
const main = document.getElementById('main');
const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const radio = (name) =>
  [...main.querySelectorAll('input[type=radio]')].find((input) => text(input.closest('label')) === name);
const choose = (name) => {
  const input = radio(name);
  input.checked = true;
  input.dispatchEvent(new window.Event('change', {bubbles: true}));
};
const byLabel = (scope, label) =>
  [...scope.querySelectorAll('label')].find((l) => l.firstChild?.textContent === label)?.control ??
  scope.querySelector(`[aria-label="${label}"]`);
const type = (input, value) => {
  input.value = value;
  input.dispatchEvent(new window.Event('input', {bubbles: true}));
};

test('a product with options preselects the first variant in stock, and marks the choices it cannot sell', async () => {
  location.hash = '#/product/p1';
  show(main, await shop.product('p1'));
  const legends = [...main.querySelectorAll('fieldset legend')].map(text);
  assert.deepEqual(legends, ['Size', 'Colour']);
  assert.equal(radio('M').checked, true);
  assert.equal(radio('Black').checked, true);
  assert.match(text(main.querySelector('#price')), /17[.,]00/);
  assert.equal(text(main.querySelector('#stock-note')), 'Only 3 left');
  assert.match(text(main.querySelector('#sku')), /TEE-BLACK-M/);
  assert.equal(main.querySelector('input[name=quantity]').getAttribute('max'), '3');
  // Black in S is sold out; white in M is there.
  assert.ok(radio('S (sold out)'));
  assert.ok(radio('White'));

  choose('L');
  assert.match(text(main.querySelector('#price')), /19[.,]00/);
  assert.ok(radio('White (unavailable)'), 'no white one in L');
  choose('White (unavailable)');
  assert.equal(text(main.querySelector('#stock-note')), 'Not available in this combination');
  assert.equal(main.querySelector('form[aria-label="Add to cart"]'), null);
  assert.ok(radio('L (unavailable)'));
  assert.ok(radio('S'));
});

test('the chosen variant goes in the cart, by its id, with what the cart holds of it', async () => {
  cartLines = [{product_id: 'p1', variant_id: 'v-ws', quantity: 2}];
  choose('S');
  assert.match(text(main.querySelector('#price')), /16[.,]00/);
  assert.equal(main.querySelector('input[name=quantity]').getAttribute('max'), '9');
  const form = main.querySelector('form[aria-label="Add to cart"]');
  form.elements.namedItem('quantity').value = '3';
  form.requestSubmit();
  await until(() => main.textContent.includes('Added.'), 'the variant is added');
  assert.deepEqual(
    calls.findLast((c) => c.method === 'PUT'),
    {
      method: 'PUT',
      path: '/api/cart/items/v-ws',
      body: {quantity: 5},
    },
  );
});

test('a product without options is sold as its one variant, with no picker', async () => {
  show(main, await shop.product('p2'));
  assert.equal(main.querySelector('fieldset'), null);
  assert.match(text(main.querySelector('#price')), /25[.,]00/);
  assert.match(text(main.querySelector('#sku')), /LAMP-1/);
  assert.equal(main.querySelector('input[name=quantity]').getAttribute('max'), '7');
});

test('a list shows a product "from" its lowest price when its variants are priced apart', () => {
  assert.match(fromPrice(tee()), /^from €?15[.,]00$/);
  assert.match(fromPrice(LAMP), /^€?25[.,]00$/);
});

test("the cart names each line's option values, and changes and removes it by its variant", async () => {
  cartLines = [
    {
      product_id: 'p1',
      variant_id: 'v-bm',
      name: 'Tee',
      sku: 'TEE-BLACK-M',
      options: {Colour: 'Black', Size: 'M'},
      quantity: 1,
      unit_price: eur(1700),
      line_total: eur(1700),
      stock: 3,
    },
    {
      product_id: 'p1',
      variant_id: 'v-ws',
      name: 'Tee',
      sku: 'TEE-WHITE-S',
      options: {Colour: 'White', Size: 'S'},
      quantity: 1,
      unit_price: eur(1600),
      line_total: eur(1600),
      stock: 9,
    },
  ];
  location.hash = '#/cart';
  show(main, await carts.view());
  const rows = [...main.querySelectorAll('tbody th')].map(text);
  assert.deepEqual(rows, ['Tee — Black / M', 'Tee — White / S']);
  const quantity = document.getElementById('qty-v-bm');
  assert.equal(quantity.labels[0].textContent, 'Quantity of Tee — Black / M');
  quantity.value = '2';
  quantity.dispatchEvent(new window.Event('change'));
  await until(() => calls.some((c) => c.path === '/api/cart/items/v-bm'));
  assert.deepEqual(calls.findLast((c) => c.path === '/api/cart/items/v-bm').body, {quantity: 2});
  main.querySelector('button[aria-label="Remove Tee — White / S"]').click();
  await until(() => calls.some((c) => c.method === 'DELETE' && c.path === '/api/cart/items/v-ws'));
});

test("an order's lines name their option values and SKU", async () => {
  show(main, await orders.detail('o1'));
  assert.equal(text(main.querySelector('tbody th')), 'Tee — Black / MSKU TEE-BLACK-M');
});

test('the products table shows each price range, the stock across variants and how many there are', async () => {
  show(main, await admin.products(new URLSearchParams()));
  const rows = [...main.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map(text));
  assert.equal(rows[0][0], 'Tee');
  assert.match(rows[0][2], /15[.,]00–€?19[.,]00/);
  assert.deepEqual(rows[0].slice(3), ['18', '5']);
  assert.match(rows[1][2], /^€?25[.,]00$/);
  assert.deepEqual(rows[1].slice(3), ['7', '1']);
});

test('a new product sold as one sends its SKU, price and stock', async () => {
  location.hash = '#/admin/products/new';
  show(main, admin.newProduct());
  const form = main.querySelector('form');
  type(byLabel(form, 'Name'), 'Lantern');
  type(byLabel(form, 'Category'), 'home');
  type(byLabel(form, 'SKU'), 'LANT-1');
  type(byLabel(form, 'Price'), '12.5');
  type(byLabel(form, 'Stock'), '4');
  form.requestSubmit();
  await until(() => calls.some((c) => c.method === 'POST' && c.path === '/api/products'));
  assert.deepEqual(calls.findLast((c) => c.path === '/api/products').body, {
    name: 'Lantern',
    description: '',
    category: 'home',
    active: true,
    sku: 'LANT-1',
    price: eur(1250),
    stock: 4,
  });
});

test("a new product's options make a row for each combination, and those sold are sent as its variants", async () => {
  show(main, admin.newProduct());
  const form = main.querySelector('form');
  type(byLabel(form, 'Name'), 'Tee');
  type(byLabel(form, 'Category'), 'apparel');
  type(byLabel(form, 'Option 1 name'), 'Size');
  type(byLabel(form, 'Option 1 values'), 'S, M');
  assert.deepEqual([...main.querySelectorAll('tbody th')].map(text), ['S', 'M']);
  type(byLabel(form, 'Option 2 name'), 'Colour');
  type(byLabel(form, 'Option 2 values'), 'Red,Blue, Red');
  assert.deepEqual([...main.querySelectorAll('tbody th')].map(text), ['S / Red', 'S / Blue', 'M / Red', 'M / Blue']);
  // What was typed for a combination stays while the options are typed on.
  type(byLabel(form, 'SKU of S / Red'), 'TEE-S-RED');
  type(byLabel(form, 'Option 2 values'), 'Red, Blue');
  assert.equal(byLabel(form, 'SKU of S / Red').value, 'TEE-S-RED');
  assert.equal(byLabel(form, 'SKU').closest('fieldset').hidden, true, 'no SKU of its own');
  const sell = {'S / Red': ['TEE-S-RED', '10', '3'], 'S / Blue': ['TEE-S-BLUE', '10', '0'], 'M / Red': null};
  sell['M / Blue'] = ['TEE-M-BLUE', '12.00', '5'];
  for (const [label, values] of Object.entries(sell)) {
    if (!values) {
      byLabel(form, `Sell ${label}`).click();
      continue;
    }
    type(byLabel(form, `SKU of ${label}`), values[0]);
    type(byLabel(form, `Price of ${label}`), values[1]);
    type(byLabel(form, `Stock of ${label}`), values[2]);
  }
  assert.equal(byLabel(form, 'SKU of M / Red').disabled, true);
  form.requestSubmit();
  await until(() => location.hash === '#/admin/products/p9', 'the new product is shown');
  const sent = calls.findLast((c) => c.path === '/api/products').body;
  assert.deepEqual(sent.options, [
    {name: 'Size', values: ['S', 'M']},
    {name: 'Colour', values: ['Red', 'Blue']},
  ]);
  assert.deepEqual(sent.variants, [
    {sku: 'TEE-S-RED', options: {Size: 'S', Colour: 'Red'}, price: eur(1000), stock: 3},
    {sku: 'TEE-S-BLUE', options: {Size: 'S', Colour: 'Blue'}, price: eur(1000), stock: 0},
    {sku: 'TEE-M-BLUE', options: {Size: 'M', Colour: 'Blue'}, price: eur(1200), stock: 5},
  ]);
  assert.equal(sent.sku, undefined);
});

/** The section of the variant whose heading is `label`. */
const section = (label) => [...main.querySelectorAll('section')].find((s) => text(s.querySelector('h3')) === label);

test("a product's variants are adjusted, added, edited and deleted, each with the version last answered", async () => {
  product = tee();
  location.hash = '#/admin/products/p1';
  show(main, await admin.editProduct('p1'));
  assert.deepEqual([...main.querySelectorAll('section h3')].map(text), [
    'Black / S',
    'Black / M',
    'White / S',
    'White / M',
    'Black / L',
  ]);
  // Its details carry no SKU or price of their own.
  const details = main.querySelector('form[aria-label="Product details"]');
  assert.equal(details.elements.namedItem('sku'), null);

  const adjust = section('Black / M').querySelector('form');
  adjust.elements.namedItem('delta').value = '5';
  adjust.elements.namedItem('reason').value = 'restock';
  adjust.requestSubmit();
  await until(() => text(section('Black / M').querySelector('.variant-stock')) === '8', 'the new stock is shown');
  assert.deepEqual(calls.findLast((c) => c.path.endsWith('/stock')).body, {delta: 5, reason: 'restock'});
  assert.equal(document.activeElement, section('Black / M').querySelector('h3'));

  const add = main.querySelector('form[aria-label="Add a variant"]');
  add.elements.namedItem('options.Size').value = 'L';
  add.elements.namedItem('options.Colour').value = 'White';
  add.elements.namedItem('sku').value = 'TEE-WHITE-L';
  add.elements.namedItem('price').value = '19';
  add.elements.namedItem('stock').value = '6';
  add.requestSubmit();
  await until(() => section('White / L'), 'the new variant is shown');
  const added = calls.findLast((c) => c.method === 'POST' && c.path === '/api/products/p1/variants');
  assert.equal(added.ifMatch, '"6"', 'the version the stock adjustment answered');
  assert.deepEqual(added.body, {
    sku: 'TEE-WHITE-L',
    options: {Size: 'L', Colour: 'White'},
    price: eur(1900),
    images: [],
    stock: 6,
  });

  const edit = section('White / S').querySelector('form[aria-label="Edit White / S"]');
  assert.equal(edit.elements.namedItem('sku').value, 'TEE-WHITE-S');
  edit.elements.namedItem('sku').value = 'TEE-WS';
  edit.elements.namedItem('price').value = '15';
  edit.requestSubmit();
  await until(() => section('White / S').textContent.includes('SKU TEE-WS'), 'the edit is shown');
  const edited = calls.findLast((c) => c.method === 'PUT');
  assert.equal(edited.ifMatch, '"7"');
  assert.deepEqual(edited.body, {
    sku: 'TEE-WS',
    options: {Size: 'S', Colour: 'White'},
    price: eur(1500),
    weight_grams: 200,
    images: [],
  });

  const remove = [...section('Black / S').querySelectorAll('button')].find((b) => text(b) === 'Delete variant');
  remove.click();
  await until(() => !section('Black / S'), 'the variant is gone');
  assert.equal(calls.findLast((c) => c.method === 'DELETE').ifMatch, '"8"');
  assert.equal(document.activeElement, document.getElementById('variants'));

  // The last of them (as the API sees it) is refused with the API's word, at its button.
  const last = [...section('Black / L').querySelectorAll('button')].find((b) => text(b) === 'Delete variant');
  last.click();
  await until(() => last.nextElementSibling?.getAttribute('role') === 'alert', 'the refusal is shown');
  assert.equal(last.nextElementSibling.textContent, 'a product keeps at least one variant: delete the product instead');
  assert.ok(section('Black / L'));
});

test('a product sold as one keeps its stock adjuster, and its details edit its one variant', async () => {
  location.hash = '#/admin/products/p2';
  show(main, await admin.editProduct('p2'));
  assert.equal(main.querySelectorAll('section').length, 0);
  const adjust = main.querySelector('form[aria-label="Adjust stock"]');
  adjust.elements.namedItem('delta').value = '-2';
  adjust.elements.namedItem('reason').value = 'broken';
  adjust.requestSubmit();
  await until(() => document.getElementById('stock').textContent === '5', 'the new stock is shown');
  const details = main.querySelector('form[aria-label="Product details"]');
  assert.equal(details.elements.namedItem('sku').value, 'LAMP-1');
  details.elements.namedItem('price').value = '26';
  details.requestSubmit();
  await until(() => calls.some((c) => c.method === 'PUT' && c.path === '/api/products/p2'));
  const saved = calls.findLast((c) => c.path === '/api/products/p2');
  assert.equal(saved.ifMatch, '"6"');
  assert.deepEqual(saved.body, {
    name: 'Lamp',
    description: 'Soft.',
    category: 'home',
    active: true,
    images: ['https://images.test/tee.jpg'],
    attributes: {brand: 'Demo'},
    sku: 'LAMP-1',
    price: eur(2600),
    weight_grams: 200,
  });
});
