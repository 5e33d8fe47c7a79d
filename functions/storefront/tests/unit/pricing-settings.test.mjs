// The back office's pricing settings, in jsdom against a stand-in API: the tax settings (rates
// added and removed, sent whole), the shipping zones (one edited, one added with its options'
// JSON checked first, one deleted) and the promotions (listed with their uses, added, edited and
// deleted), each change sent with the version read (`If-Match`), a change made meanwhile (412)
// and a refused one (422) said in the form, and the page drawn again after each change.

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show, money, useCurrencyDigits} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';
import {drawWith, redraw} from '../../assets/js/nav.js';

useCurrencyDigits({EUR: 2});
const eur = (amount) => ({amount, currency: 'EUR'});
const TAX = {
  prices_include_tax: true,
  rates: [
    {country: 'DE', class: 'standard', rate: '19'},
    {country: 'DE', class: 'reduced', rate: '7'},
  ],
  version: 3,
};
const GERMANY = {
  id: 'de',
  name: 'Germany',
  countries: ['DE'],
  regions: [],
  options: [
    {
      id: 'de-standard',
      name: 'Standard',
      min_days: 2,
      max_days: 4,
      tax_class: 'standard',
      rate: {type: 'flat', price: eur(490)},
      free_above: eur(5000),
    },
    {
      id: 'de-express',
      name: 'Express',
      min_days: 1,
      max_days: 1,
      tax_class: 'standard',
      rate: {
        type: 'weight',
        bands: [
          {up_to_grams: 1000, price: eur(990)},
          {up_to_grams: 5000, price: eur(1490)},
        ],
      },
    },
  ],
};
const BOOKS = {
  id: 'books',
  name: 'Books week',
  code: 'BOOKS20',
  discount: {type: 'percentage', percent: '20'},
  applies_to: {type: 'categories', categories: ['books']},
  min_subtotal: eur(2000),
  ends_at: '2026-12-31T23:00:00.000Z',
  per_customer_limit: 1,
  active: true,
};
const SHIPPING_FREE = {
  id: 'ship-free',
  name: 'Free shipping',
  discount: {type: 'free_shipping'},
  applies_to: {type: 'order'},
  active: false,
};

const problem = (status, detail, more = {}) => [status, {title: 'Refused', status, detail, ...more}];
const STALE = problem(412, 'the settings changed meanwhile');
/** How the API answers the next change (each route's own, unless a test says otherwise). */
let refusing = null;
const changed = (answer) => () => {
  const refusal = refusing;
  refusing = null;
  return refusal ?? answer();
};
const calls = fakeApi({
  'GET /api/tax-settings': () => [200, TAX, {etag: '"3"'}],
  'PUT /api/tax-settings': changed(() => [200, {...TAX, version: 4}, {etag: '"4"'}]),
  'GET /api/shipping-zones': () => [200, {zones: [GERMANY], version: 7}, {etag: '"7"'}],
  'PUT /api/shipping-zones/de': changed(() => [200, {zones: [GERMANY], version: 8}, {etag: '"8"'}]),
  'PUT /api/shipping-zones/at': changed(() => [200, {zones: [GERMANY], version: 8}, {etag: '"8"'}]),
  'DELETE /api/shipping-zones/de': changed(() => [200, {zones: [], version: 8}, {etag: '"8"'}]),
  'GET /api/promotions': () => [200, {promotions: [BOOKS, SHIPPING_FREE], version: 4, uses: {books: 3}}, {etag: '"4"'}],
  'PUT /api/promotions/save10': changed(() => [200, {promotions: [], version: 5}, {etag: '"5"'}]),
  'PUT /api/promotions/maps': changed(() => [200, {promotions: [], version: 5}, {etag: '"5"'}]),
  'PUT /api/promotions/books': changed(() => [200, {promotions: [], version: 5}, {etag: '"5"'}]),
  'DELETE /api/promotions/books': changed(() => [200, {promotions: [], version: 5}, {etag: '"5"'}]),
});

signedIn({
  id_token: idToken({sub: 'u1', email: 'ada@shop.test', 'cognito:groups': ['admin']}),
  access_token: 'access',
  refresh_token: 'refresh',
  expires_in: 3600,
});
const pricing = await import('../../assets/js/views/pricing.js');
const main = document.getElementById('main');
/** The view shown, drawn again (as the app's router does) after each change. */
let view = null;
drawWith(async () => show(main, await view()));

async function open(hash, draw) {
  location.hash = hash;
  view = draw;
  await redraw();
}

const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const form = (label) => main.querySelector(`form[aria-label="${label}"]`);
const button = (scope, name) => [...scope.querySelectorAll('button')].find((b) => text(b) === name);
const labelled = (scope, label) => scope.querySelector(`[aria-label="${label}"]`);
/** Sets a field as a person does (its change once it is left). */
const type = (input, value) => {
  input.value = value;
  input.dispatchEvent(new window.Event('input', {bubbles: true}));
  input.dispatchEvent(new window.Event('change', {bubbles: true}));
};
const sent = (method, path) => calls.findLast((c) => c.method === method && c.path === path);
const count = (method, path) => calls.filter((c) => c.method === method && c.path === path).length;
const alert = (scope) => scope.querySelector('[role=alert]');

test('the tax settings are sent whole, rows added and removed, with the version read; the page is drawn again', async () => {
  await open('#/admin/shipping', () => pricing.shipping());
  assert.equal(main.querySelector('h1').textContent, 'Shipping & tax');
  assert.equal(main.querySelector('nav a[aria-current=page]').textContent, 'Shipping & tax');
  const tax = form('Tax settings');
  const rows = () => [...tax.querySelectorAll('tbody tr')];
  assert.deepEqual(
    rows().map((row) => [...row.querySelectorAll('input, select')].map((input) => input.value)),
    [
      ['DE', '', 'standard', '19'],
      ['DE', '', 'reduced', '7'],
    ],
  );
  assert.equal(tax.elements.namedItem('prices_include_tax').checked, true);

  button(rows()[1], 'Remove').click();
  button(tax, 'Add rate').click();
  const added = rows().at(-1);
  assert.equal(document.activeElement, labelled(added, 'Country'));
  type(labelled(added, 'Country'), 'us');
  type(labelled(added, 'Region'), 'ca');
  type(labelled(added, 'Rate (%)'), '7,25');
  tax.elements.namedItem('prices_include_tax').checked = false;
  const reads = count('GET', '/api/tax-settings');
  tax.requestSubmit();
  await until(() => count('GET', '/api/tax-settings') > reads, 'the page is drawn again');
  const put = sent('PUT', '/api/tax-settings');
  assert.equal(put.ifMatch, '"3"');
  assert.deepEqual(put.body, {
    prices_include_tax: false,
    rates: [
      {country: 'DE', class: 'standard', rate: '19'},
      {country: 'US', region: 'CA', class: 'standard', rate: '7.25'},
    ],
  });
});

test('tax settings changed meanwhile are said in the form, and what was typed stays', async () => {
  await open('#/admin/shipping', () => pricing.shipping());
  const tax = form('Tax settings');
  type(labelled(tax.querySelector('tbody tr'), 'Rate (%)'), '16');
  refusing = STALE;
  tax.requestSubmit();
  await until(() => alert(tax), 'the refusal is shown');
  assert.equal(text(alert(tax)), 'Someone changed the tax settings meanwhile: reload the page and save again.');
  assert.equal(labelled(tax.querySelector('tbody tr'), 'Rate (%)').value, '16');

  // A rate the API refuses is said at its input.
  refusing = problem(422, 'rates[0].rate: "160" must be a percentage between 0 and 100', {
    type: '/problems/validation',
    errors: [{field: 'rates[0].rate', message: 'must be a percentage between 0 and 100'}],
  });
  type(labelled(tax.querySelector('tbody tr'), 'Rate (%)'), '160');
  tax.requestSubmit();
  await until(() => tax.querySelector('.field-error'), 'the rate is marked');
  assert.equal(text(tax.querySelector('.field-error')), 'must be a percentage between 0 and 100');
  assert.equal(labelled(tax.querySelector('tbody tr'), 'Rate (%)').getAttribute('aria-invalid'), 'true');
});

test('a zone is listed with its options, and edited: its countries as a list and its options as the JSON typed', async () => {
  await open('#/admin/shipping', () => pricing.shipping());
  const zone = main.querySelector('section[aria-labelledby=zone-de]');
  assert.equal(text(zone.querySelector('h3')), 'Germany');
  assert.deepEqual(
    [...zone.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map(text)),
    [
      ['Standard (de-standard)', money(eur(490)), money(eur(5000)), '2–4 days', 'Standard'],
      [
        'Express (de-express)',
        `up to 1000 g: ${money(eur(990))}; up to 5000 g: ${money(eur(1490))}`,
        '—',
        '1 day',
        'Standard',
      ],
    ],
  );
  const edit = form('Edit Germany');
  assert.equal(edit.elements.namedItem('id').readOnly, true, 'a zone keeps its id');
  assert.deepEqual(JSON.parse(edit.elements.namedItem('options').value), GERMANY.options);
  type(edit.elements.namedItem('name'), 'Germany and Austria');
  type(edit.elements.namedItem('countries'), 'de, at, DE');
  const options = JSON.parse(edit.elements.namedItem('options').value);
  options[0].free_above = eur(4000);
  type(edit.elements.namedItem('options'), JSON.stringify(options));
  edit.requestSubmit();
  await until(() => sent('PUT', '/api/shipping-zones/de'), 'the zone is sent');
  const put = sent('PUT', '/api/shipping-zones/de');
  assert.equal(put.ifMatch, '"7"');
  assert.deepEqual(put.body, {
    id: 'de',
    name: 'Germany and Austria',
    countries: ['DE', 'AT'],
    regions: [],
    options,
  });
});

test("a new zone's options are checked as JSON before they are sent, and the API's refusal is said", async () => {
  await open('#/admin/shipping', () => pricing.shipping());
  const add = form('Add a zone');
  assert.equal(add.elements.namedItem('id').readOnly, false);
  type(add.elements.namedItem('id'), 'at');
  type(add.elements.namedItem('name'), 'Austria');
  type(add.elements.namedItem('countries'), 'AT');
  type(add.elements.namedItem('regions'), 'us-ak');
  type(add.elements.namedItem('options'), '[{"id": "at-standard"');
  add.requestSubmit();
  await until(() => alert(add), 'the JSON is refused');
  assert.match(text(alert(add)), /^The shipping options are not JSON: /);
  type(add.elements.namedItem('options'), '{"id": "at-standard"}');
  add.requestSubmit();
  await until(() => alert(add)?.textContent.includes('list'), 'an object alone is refused');
  assert.equal(text(alert(add)), 'The shipping options are a JSON list: [{…}, {…}].');
  type(add.elements.namedItem('options'), '[{"id": "at-standard", "name": "Standard", "rate": {"type": "by-air"}}]');
  add.requestSubmit();
  await until(() => alert(add)?.textContent.includes('rate'), 'a rate of no known type is refused');
  assert.equal(text(alert(add)), 'Shipping option 1 needs a "rate" whose "type" is flat, weight or subtotal.');
  assert.equal(count('PUT', '/api/shipping-zones/at'), 0, 'nothing was sent');

  const standard = {
    id: 'at-standard',
    name: 'Standard',
    min_days: 3,
    max_days: 5,
    tax_class: 'standard',
    rate: {type: 'subtotal', bands: [{from: eur(0), price: eur(690)}]},
  };
  type(add.elements.namedItem('options'), JSON.stringify([standard]));
  refusing = problem(422, 'zones: DE is in two zones', {
    type: '/problems/validation',
    errors: [{field: 'zones', message: 'DE is in two zones'}],
  });
  add.requestSubmit();
  await until(() => count('PUT', '/api/shipping-zones/at') === 1 && alert(add)?.textContent.includes('two'));
  assert.match(text(alert(add)), /^zones: DE is in two zones/);
  const put = sent('PUT', '/api/shipping-zones/at');
  assert.equal(put.ifMatch, '"7"');
  assert.deepEqual(put.body, {id: 'at', name: 'Austria', countries: ['AT'], regions: ['US-AK'], options: [standard]});
});

test('a zone is deleted with the version read; one changed meanwhile is said at its button', async () => {
  await open('#/admin/shipping', () => pricing.shipping());
  refusing = STALE;
  const remove = button(main, 'Delete Germany');
  remove.click();
  await until(() => remove.nextElementSibling?.getAttribute('role') === 'alert', 'the refusal is shown');
  assert.equal(
    remove.nextElementSibling.textContent,
    'Someone changed the shipping zones meanwhile: reload the page and save again.',
  );
  const reads = count('GET', '/api/shipping-zones');
  remove.click();
  await until(() => count('GET', '/api/shipping-zones') > reads, 'the page is drawn again');
  assert.equal(sent('DELETE', '/api/shipping-zones/de').ifMatch, '"7"');
});

test('the promotions are listed with what each takes off, when, its limits and its uses', async () => {
  await open('#/admin/promotions', () => pricing.promotions(new URLSearchParams()));
  assert.equal(main.querySelector('h1').textContent, 'Promotions');
  assert.equal(main.querySelector('nav a[aria-current=page]').textContent, 'Promotions');
  const rows = [...main.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].slice(0, 8).map(text));
  assert.deepEqual(rows, [
    [
      'Books weekbooks',
      'BOOKS20',
      '20 % off',
      `Categories books, from ${money(eur(2000))}`,
      `until ${new Date(BOOKS.ends_at).toLocaleString()}`,
      '1 per customer',
      '3',
      'Yes',
    ],
    ['Free shippingship-free', 'none: automatic', 'Free shipping', 'The whole order', 'Always', 'None', '0', 'No'],
  ]);
  assert.equal(main.querySelector('#promotion-form').textContent, 'New promotion');
});

test('a new promotion is sent as the API takes it, with the version read', async () => {
  await open('#/admin/promotions', () => pricing.promotions(new URLSearchParams()));
  const add = main.querySelector('form[aria-labelledby=promotion-form]');
  const field = (name) => add.elements.namedItem(name);
  // A percentage of the whole order at first: its percent asked for, no amount or targets.
  assert.deepEqual(
    ['percent', 'amount', 'products', 'categories'].map((name) => field(name).closest('.field').hidden),
    [false, true, true, true],
  );
  type(field('id'), 'save10');
  type(field('name'), 'Ten percent off');
  type(field('code'), 'save10');
  type(field('percent'), '10');
  const reads = count('GET', '/api/promotions');
  add.requestSubmit();
  await until(() => count('GET', '/api/promotions') > reads, 'the page is drawn again');
  const put = sent('PUT', '/api/promotions/save10');
  assert.equal(put.ifMatch, '"4"');
  assert.deepEqual(put.body, {
    id: 'save10',
    name: 'Ten percent off',
    code: 'SAVE10',
    discount: {type: 'percentage', percent: '10'},
    applies_to: {type: 'order'},
    active: true,
  });
});

test('an amount off some categories, with a minimum, dates and limits, is sent with each of them', async () => {
  await open('#/admin/promotions', () => pricing.promotions(new URLSearchParams()));
  const add = main.querySelector('form[aria-labelledby=promotion-form]');
  const field = (name) => add.elements.namedItem(name);
  type(field('discount_type'), 'fixed');
  type(field('applies_to'), 'categories');
  assert.deepEqual(
    ['percent', 'amount', 'products', 'categories'].map((name) => field(name).closest('.field').hidden),
    [true, false, true, false],
  );
  type(field('id'), 'maps');
  type(field('name'), 'Maps and books');
  type(field('amount'), '5');
  type(field('categories'), 'maps, books, maps');
  type(field('min_subtotal'), '20.00');
  type(field('starts_at'), '2026-12-01T10:00');
  type(field('ends_at'), '2026-12-31T23:30');
  type(field('usage_limit'), '100');
  type(field('per_customer_limit'), '1');
  field('active').checked = false;
  add.requestSubmit();
  await until(() => sent('PUT', '/api/promotions/maps'), 'the promotion is sent');
  assert.deepEqual(sent('PUT', '/api/promotions/maps').body, {
    id: 'maps',
    name: 'Maps and books',
    discount: {type: 'fixed', amount: eur(500)},
    applies_to: {type: 'categories', categories: ['maps', 'books']},
    min_subtotal: eur(2000),
    starts_at: new Date('2026-12-01T10:00').toISOString(),
    ends_at: new Date('2026-12-31T23:30').toISOString(),
    usage_limit: 100,
    per_customer_limit: 1,
    active: false,
  });
});

test('a promotion edited keeps its id and what the form does not change; refusals are said at their fields', async () => {
  await open('#/admin/promotions?edit=books', () => pricing.promotions(new URLSearchParams('edit=books')));
  assert.equal(main.querySelector('#promotion-form').textContent, 'Edit Books week');
  const edit = main.querySelector('form[aria-labelledby=promotion-form]');
  const field = (name) => edit.elements.namedItem(name);
  assert.equal(field('id').readOnly, true);
  assert.deepEqual(
    ['id', 'name', 'code', 'discount_type', 'percent', 'applies_to', 'categories', 'min_subtotal', 'currency'].map(
      (name) => field(name).value,
    ),
    ['books', 'Books week', 'BOOKS20', 'percentage', '20', 'categories', 'books', '20.00', 'EUR'],
  );
  assert.equal(field('ends_at').value.length, 16, 'a local date and time');
  assert.equal(field('per_customer_limit').value, '1');

  refusing = problem(422, 'discount.percent: must be a percentage between 0 and 100', {
    type: '/problems/validation',
    errors: [{field: 'discount.percent', message: 'must be a percentage between 0 and 100'}],
  });
  type(field('percent'), '250');
  edit.requestSubmit();
  await until(() => document.getElementById('f-percent-error'), 'the percent is marked');
  assert.equal(document.getElementById('f-percent-error').textContent, 'must be a percentage between 0 and 100');

  refusing = STALE;
  type(field('percent'), '25');
  edit.requestSubmit();
  await until(() => alert(edit)?.textContent.includes('meanwhile'), 'the refusal is shown');
  assert.equal(text(alert(edit)), 'Someone changed the promotions meanwhile: reload the page and save again.');

  edit.requestSubmit();
  await until(() => location.hash === '#/admin/promotions', 'back to the list');
  const put = sent('PUT', '/api/promotions/books');
  assert.equal(put.ifMatch, '"4"');
  assert.deepEqual(put.body, {
    ...BOOKS,
    discount: {type: 'percentage', percent: '25'},
    ends_at: new Date(BOOKS.ends_at).toISOString(),
  });
});

test('a promotion is deleted with the version read', async () => {
  await open('#/admin/promotions', () => pricing.promotions(new URLSearchParams()));
  const reads = count('GET', '/api/promotions');
  button(main.querySelector('tr[data-promotion=books]'), 'Delete Books week').click();
  await until(() => count('GET', '/api/promotions') > reads, 'the page is drawn again');
  assert.equal(sent('DELETE', '/api/promotions/books').ifMatch, '"4"');
});
