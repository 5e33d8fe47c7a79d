// The address book, in jsdom against a stand-in API: the saved addresses listed on the account
// page with their defaults marked, one added (the body sent), a malformed one said at its field,
// one edited, made the default for shipping and removed; and at checkout, the saved addresses
// to ship to (the default chosen, priced for its country, sent by its id), a new address sent as
// typed (and saved to the book first when asked), a saved address refused said above the form,
// and none to choose without a saved address.

import {MUG_CART, fakeApi, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show, money, useCurrencyDigits} from '../../assets/js/dom.js';

useCurrencyDigits({EUR: 2, USD: 2});
const eur = (amount) => ({amount, currency: 'EUR'});
const usd = (amount) => ({amount, currency: 'USD'});
const AT = '2026-12-01T10:00:00Z';
/** The default for shipping, in California. */
const HOME = {
  id: 'a1',
  label: 'Home',
  address: {
    name: 'Ada Lovelace',
    line1: '1 Main St',
    line2: 'Apt 4',
    city: 'San Francisco',
    postal_code: '94105',
    region: 'CA',
    country: 'US',
  },
  default_shipping: true,
  default_billing: false,
  created_at: AT,
  updated_at: AT,
};
/** The default for billing, in Germany, with no label. */
const WORK = {
  id: 'a2',
  address: {name: 'Ada Lovelace', line1: '12 Werkstraße', city: 'Berlin', postal_code: '10115', country: 'DE'},
  default_shipping: false,
  default_billing: true,
  created_at: AT,
  updated_at: AT,
};
/** The profile's own address, which a new address's fields hold at first. */
const PROFILE_ADDRESS = {name: 'Ada', line1: '1 Profile St', postal_code: '10117', city: 'Berlin', country: 'DE'};
const CART = MUG_CART;
const DE_STANDARD = {id: 'de-standard', name: 'Standard', price: eur(490), min_days: 2, max_days: 4};
const US_GROUND = {id: 'us-ground', name: 'Ground', price: usd(900), min_days: 3, max_days: 5};
/** The cart priced going by `option`, with `tax` (added to the total where prices exclude it). */
function priced(option, tax, included) {
  const {currency} = option.price;
  const subtotal = {amount: 1250, currency};
  const total = {amount: 1250 + option.price.amount + (included ? 0 : tax), currency};
  const shipping = {
    option_id: option.id,
    name: option.name,
    min_days: option.min_days,
    max_days: option.max_days,
    price: option.price,
  };
  const totals = {
    subtotal,
    discount: {amount: 0, currency},
    shipping: option.price,
    tax: {amount: tax, currency},
    total,
    tax_included: included,
  };
  return [200, {...CART, total: subtotal, totals, shipping}];
}
const INVALID_POSTAL_CODE = [
  422,
  {
    type: '/problems/invalid-address',
    title: 'Unprocessable Entity',
    status: 422,
    detail: 'address.postal_code: is not a postal code of DE (like 11111)',
    errors: [{field: 'address.postal_code', message: 'is not a postal code of DE (like 11111)'}],
  },
];
const ORDER = {
  id: 'o1',
  status: 'PENDING_PAYMENT',
  total: usd(2250),
  lines: CART.lines,
  shipping_address: HOME.address,
  history: [{status: 'PENDING_PAYMENT', at: AT}],
};

/** The book as the API keeps it, and how it answers the next address added. */
let book = [];
let adding = null;
/** The book's addresses as they were, anew (a test changes its own copy). */
function reset() {
  book = [structuredClone(HOME), structuredClone(WORK)];
  adding = (body) => {
    const saved = {id: `a${book.length + 1}`, ...body, created_at: AT, updated_at: AT};
    book.push(saved);
    defaults(saved, body);
    return [201, saved];
  };
}
/** Makes `saved` the default its `body` asks for (as the API does: no other is one then). */
function defaults(saved, body) {
  for (const name of ['default_shipping', 'default_billing']) {
    if (!body[name]) continue;
    for (const other of book) other[name] = other === saved;
  }
}
const noContent = [204, undefined, {'content-type': 'text/plain'}];
/** How the API answers the next order placed. */
let placing = () => [201, ORDER];
const calls = fakeApi({
  'GET /api/users/me': () => [200, {id: 'u1', email: 'ada@shop.test', name: 'Ada', address: PROFILE_ADDRESS}],
  'GET /api/users/me/addresses': () => [200, book],
  'POST /api/users/me/addresses': (body) => adding(body),
  'PUT /api/users/me/addresses/a1': (body) => {
    Object.assign(book[0], body);
    defaults(book[0], body);
    return [200, book[0]];
  },
  'PUT /api/users/me/addresses/a2': (body) => {
    const saved = book.find((a) => a.id === 'a2');
    Object.assign(saved, body);
    defaults(saved, body);
    return [200, saved];
  },
  'DELETE /api/users/me/addresses/a1': () => {
    book = book.filter((a) => a.id !== 'a1');
    return noContent;
  },
  'GET /api/cart': () => [200, CART],
  'GET /api/cart/shipping-options?country=DE': () => [200, [DE_STANDARD]],
  'GET /api/cart?country=DE&shipping_option=de-standard': () => priced(DE_STANDARD, 78, true),
  'GET /api/cart/shipping-options?country=US&region=CA': () => [200, [US_GROUND]],
  'GET /api/cart?country=US&region=CA&shipping_option=us-ground': () => priced(US_GROUND, 100, false),
  'POST /api/orders': (body) => placing(body),
});
const account = await import('../../assets/js/views/account.js');
const cart = await import('../../assets/js/views/cart.js');
const main = document.getElementById('main');

const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const button = (name) =>
  [...main.querySelectorAll('button')].find((b) => (b.getAttribute('aria-label') ?? text(b)) === name);
const section = () => main.querySelector('section[aria-labelledby=addresses]');
/** Each saved address listed: its label, its lines, its marks and its actions' names. */
const listed = () =>
  [...section().querySelectorAll('ul.address-book li')].map((li) => ({
    label: li.querySelector('strong')?.textContent ?? null,
    lines: li.querySelector('address').innerHTML.split('<br>'),
    marks: [...li.querySelectorAll('.default-mark')].map(text),
    actions: [...li.querySelectorAll('button')].map((b) => b.getAttribute('aria-label')),
  }));

async function profile() {
  reset();
  location.hash = '#/account';
  show(main, await account.profile());
}

/** Fills `form`'s fields (by name) with `values`. */
function type(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const input = form.elements.namedItem(name);
    if (input.type === 'checkbox') input.checked = value;
    else input.value = value;
    input.dispatchEvent(new window.Event('input', {bubbles: true}));
    input.dispatchEvent(new window.Event('change', {bubbles: true}));
  }
}

test('the account lists the saved addresses, oldest first, with the defaults marked', async () => {
  await profile();
  assert.equal(section().querySelector('h2').textContent, 'Addresses');
  assert.deepEqual(listed(), [
    {
      label: 'Home',
      lines: ['Ada Lovelace, 1 Main St, Apt 4', '94105 San Francisco, CA, US'],
      marks: ['Default for shipping'],
      actions: ['Edit Home', 'Remove Home'],
    },
    {
      label: null,
      lines: ['Ada Lovelace, 12 Werkstraße', '10115 Berlin, DE'],
      marks: ['Default for billing'],
      actions: [
        'Edit Ada Lovelace, 12 Werkstraße',
        'Make default for shipping: Ada Lovelace, 12 Werkstraße',
        'Remove Ada Lovelace, 12 Werkstraße',
      ],
    },
  ]);
  assert.equal(main.querySelector('form[aria-label="Add an address"]'), null, 'opened by its button');
  assert.ok(button('Add an address'));

  // An empty book says so.
  book = [];
  show(main, await account.profile());
  assert.equal(section().querySelector('ul'), null);
  assert.match(text(section()), /No saved addresses yet\./);
});

test('an address added is sent with its label and defaults, and the book drawn again with it', async () => {
  await profile();
  button('Add an address').click();
  const form = main.querySelector('form[aria-label="Add an address"]');
  assert.ok(form);
  assert.equal(button('Add an address').hidden, true);
  assert.equal(document.activeElement, form.elements.namedItem('label'));
  // The profile's address fields are on the page too: no id is used twice.
  const ids = [...main.querySelectorAll('[id]')].map((e) => e.id);
  assert.deepEqual(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
  );
  type(form, {
    label: 'Cottage',
    address_name: 'Ada Lovelace',
    line1: '3 Sea Lane',
    postal_code: 'TR19 7AA',
    city: 'Penzance',
    country: 'gb',
    default_shipping: true,
  });
  form.requestSubmit();
  await until(() => !main.querySelector('form[aria-label="Add an address"]'), 'the form is closed');
  assert.deepEqual(
    calls.findLast((c) => c.path === '/api/users/me/addresses' && c.method === 'POST'),
    {
      method: 'POST',
      path: '/api/users/me/addresses',
      body: {
        label: 'Cottage',
        address: {
          name: 'Ada Lovelace',
          line1: '3 Sea Lane',
          line2: null,
          postal_code: 'TR19 7AA',
          city: 'Penzance',
          region: null,
          country: 'GB',
        },
        default_shipping: true,
        default_billing: false,
      },
    },
  );
  // The book as the API answers it now: the new address the default for shipping.
  assert.deepEqual(
    listed().map(({label, marks}) => [label, marks]),
    [
      ['Home', []],
      [null, ['Default for billing']],
      ['Cottage', ['Default for shipping']],
    ],
  );
  assert.equal(button('Add an address').hidden, false);
  assert.equal(document.activeElement, button('Add an address'));
});

test('an address the API finds malformed is said at its postal code, and nothing is added', async () => {
  await profile();
  adding = () => INVALID_POSTAL_CODE;
  button('Add an address').click();
  const form = main.querySelector('form[aria-label="Add an address"]');
  type(form, {address_name: 'Ada Lovelace', line1: '5 Kurze Str', postal_code: '1011', city: 'Berlin', country: 'DE'});
  form.requestSubmit();
  await until(() => document.getElementById('book-postal_code-error'), 'the field is marked');
  assert.equal(
    document.getElementById('book-postal_code-error').textContent,
    'is not a postal code of DE (like 11111)',
  );
  assert.equal(form.elements.namedItem('postal_code').getAttribute('aria-invalid'), 'true');
  // The profile's own postal code is not the one refused.
  assert.equal(document.getElementById('f-postal_code').hasAttribute('aria-invalid'), false);
  assert.equal(form.elements.namedItem('postal_code').value, '1011', 'what was typed stays, to be corrected');
  assert.equal(form.querySelector('button[type=submit]').disabled, false);
  assert.equal(listed().length, 2);
});

test('an address edited is sent whole; another made the default for shipping moves the mark', async () => {
  await profile();
  button('Edit Home').click();
  const form = main.querySelector('form[aria-label="Edit Home"]');
  assert.equal(form.elements.namedItem('line1').value, '1 Main St');
  assert.equal(form.elements.namedItem('region').value, 'CA');
  // Home is the default for shipping already; it may become the default for billing.
  assert.equal(form.elements.namedItem('default_shipping'), null);
  assert.ok(form.elements.namedItem('default_billing'));
  type(form, {line1: '2 Main St'});
  form.requestSubmit();
  await until(() => !main.querySelector('form[aria-label="Edit Home"]'), 'the form is closed');
  assert.deepEqual(calls.findLast((c) => c.method === 'PUT').body, {
    label: 'Home',
    address: {...HOME.address, line1: '2 Main St'},
    default_shipping: false,
    default_billing: false,
  });
  assert.equal(listed()[0].lines[0], 'Ada Lovelace, 2 Main St, Apt 4');

  button('Make default for shipping: Ada Lovelace, 12 Werkstraße').click();
  await until(() => listed()[1].marks.includes('Default for shipping'), 'the mark moves');
  assert.deepEqual(
    calls.findLast((c) => c.method === 'PUT'),
    {
      method: 'PUT',
      path: '/api/users/me/addresses/a2',
      body: {label: null, address: WORK.address, default_shipping: true, default_billing: true},
    },
  );
  assert.deepEqual(
    listed().map(({marks}) => marks),
    [[], ['Default for shipping', 'Default for billing']],
  );
});

test('an address removed is deleted and no longer listed', async () => {
  await profile();
  button('Remove Home').click();
  await until(() => listed().length === 1, 'the book is drawn again');
  assert.ok(calls.some((c) => c.method === 'DELETE' && c.path === '/api/users/me/addresses/a1'));
  assert.equal(listed()[0].label, null);
  await until(() => document.getElementById('status').textContent === 'Home removed', 'it is announced');
});

async function checkout() {
  location.hash = '#/checkout';
  show(main, await cart.checkout());
  return main.querySelector('form[aria-label="Shipping address"]');
}
const choices = (form) =>
  [...form.querySelectorAll('input[name=ship_to]')].map((r) => [text(r.parentElement), r.checked]);
const totals = () => [...main.querySelectorAll('#totals tr')].map((tr) => [...tr.cells].map(text));
const newAddress = (form) => form.elements.namedItem('line1').closest('fieldset');

test('checkout offers the saved addresses, the default chosen, priced for its country, and sends its id', async () => {
  reset();
  let sent = null;
  placing = (body) => ((sent = body), [201, ORDER]);
  const form = await checkout();
  assert.equal(form.querySelector('.ship-to legend').textContent, 'Ship to');
  assert.deepEqual(choices(form), [
    ['Home — Ada Lovelace, 1 Main St, Apt 4, 94105 San Francisco, CA, US', true],
    ['Ada Lovelace, 12 Werkstraße, 10115 Berlin, DE', false],
    ['A new address', false],
  ]);
  assert.equal(newAddress(form).hidden, true);
  assert.equal(newAddress(form).disabled, true, 'left out of the form’s checks');
  // Priced for California, not for the profile's Germany the hidden fields hold.
  assert.ok(calls.some((c) => c.path === '/api/cart/shipping-options?country=US&region=CA'));
  assert.deepEqual(totals(), [
    ['Subtotal', money(usd(1250))],
    ['Shipping (Ground)', money(usd(900))],
    ['Tax', money(usd(100))],
    ['Total', money(usd(2250))],
  ]);
  form.requestSubmit();
  await until(() => sent, 'the order is placed');
  assert.deepEqual(sent, {address_id: 'a1', shipping_option: 'us-ground'});
  await until(() => location.hash === '#/orders/o1/pay', 'on to paying');

  // Another saved address: priced for its country.
  sent = null;
  const again = await checkout();
  again.querySelector('input[name=ship_to][value=a2]').click();
  await until(() => totals()[1]?.[0] === 'Shipping (Standard)', 'priced for Germany');
  assert.equal(newAddress(again).hidden, true);
  assert.deepEqual(totals(), [
    ['Subtotal', money(eur(1250))],
    ['Shipping (Standard)', money(eur(490))],
    ['Total', `${money(eur(1740))}incl. ${money(eur(78))} tax`],
  ]);
  again.requestSubmit();
  await until(() => sent, 'the order is placed');
  assert.deepEqual(sent, {address_id: 'a2', shipping_option: 'de-standard'});
});

test('"A new address" shows the fields, prices for them, and sends the address as typed', async () => {
  reset();
  let sent = null;
  placing = (body) => ((sent = body), [201, ORDER]);
  const form = await checkout();
  form.querySelector('input[name=ship_to][value=new]').click();
  assert.equal(newAddress(form).hidden, false);
  assert.equal(newAddress(form).disabled, false);
  assert.equal(form.elements.namedItem('line1').value, '1 Profile St');
  await until(() => totals()[1]?.[0] === 'Shipping (Standard)', 'priced for the fields’ Germany');
  type(form, {line1: '9 New Road'});
  const added = calls.filter((c) => c.method === 'POST' && c.path === '/api/users/me/addresses').length;
  form.requestSubmit();
  await until(() => sent, 'the order is placed');
  assert.deepEqual(sent, {
    shipping_address: {...PROFILE_ADDRESS, line1: '9 New Road', line2: null, region: null},
    shipping_option: 'de-standard',
  });
  assert.equal(
    calls.filter((c) => c.method === 'POST' && c.path === '/api/users/me/addresses').length,
    added,
    'not saved unless asked',
  );
});

test('a new address is saved to the book first when asked, its refusal said at its field', async () => {
  reset();
  let sent = null;
  placing = (body) => ((sent = body), [201, ORDER]);
  const form = await checkout();
  form.querySelector('input[name=ship_to][value=new]').click();
  await until(() => totals().length > 0, 'priced');
  adding = () => INVALID_POSTAL_CODE;
  type(form, {postal_code: '1011', save_address: true});
  form.requestSubmit();
  await until(() => document.getElementById('f-postal_code-error'), 'the field is marked');
  assert.equal(sent, null, 'no order without the address saved');

  reset();
  type(form, {postal_code: '10117'});
  form.requestSubmit();
  await until(() => sent, 'the order is placed');
  const saving = calls.findLastIndex((c) => c.method === 'POST' && c.path === '/api/users/me/addresses');
  const placed = calls.findLastIndex((c) => c.method === 'POST' && c.path === '/api/orders');
  assert.ok(saving < placed, 'saved before the order is placed');
  assert.deepEqual(calls[saving].body, {address: {...PROFILE_ADDRESS, line2: null, region: null}});
  assert.deepEqual(sent.shipping_address, {...PROFILE_ADDRESS, line2: null, region: null});
});

test('a saved address the order refuses is said above the form, not at the hidden fields', async () => {
  reset();
  const message = 'is not a postal code of US (like 11111)';
  placing = () => [
    422,
    {
      type: '/problems/invalid-address',
      title: 'Unprocessable Entity',
      status: 422,
      detail: `shipping_address.postal_code: ${message}`,
      errors: [{field: 'shipping_address.postal_code', message}],
    },
  ];
  const form = await checkout();
  form.requestSubmit();
  await until(() => form.querySelector('.form-problem'), 'the refusal is shown');
  assert.equal(document.getElementById('f-postal_code-error'), null);
  assert.deepEqual([...form.querySelectorAll('.form-problem li')].map(text), [
    `shipping_address.postal_code: ${message}`,
  ]);
  assert.equal(location.hash, '#/checkout');
});

test('without saved addresses the checkout offers no choice: the form is the address', async () => {
  book = [];
  const form = await checkout();
  assert.equal(form.querySelector('.ship-to'), null);
  assert.deepEqual(choices(form), []);
  assert.equal(newAddress(form).hidden, false);
  assert.ok(form.elements.namedItem('save_address'));
  await until(() => totals()[1]?.[0] === 'Shipping (Standard)', 'priced for the fields’ Germany');
});
