// The search page's option filters, in jsdom against a stand-in API: one group of checkboxes per
// option the facets count (its values with their counts, empty ones hidden unless chosen), and a
// value checked or unchecked kept in the address's `option` (`Size:M,Colour:Blue`: the pairs in
// the order they were chosen) and sent to the search run again.

import {fakeApi, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';

const eur = (amount) => ({amount, currency: 'EUR'});
const TEE = {
  id: 'p1',
  name: 'Tee',
  description: 'Soft.',
  category: 'apparel',
  attributes: {},
  active: true,
  price: eur(1500),
  stock: 7,
  media: [],
};
const RESULTS = {
  items: [TEE],
  total: 4,
  facets: {
    category: [{value: 'apparel', count: 4}],
    price: [],
    in_stock: {true: 4, false: 0},
    options: [
      {
        name: 'Colour',
        values: [
          {value: 'Blue', count: 3},
          {value: 'Red', count: 1},
          {value: 'Green', count: 0},
        ],
      },
      {
        name: 'Size',
        values: [
          {value: 'M', count: 4},
          {value: 'L', count: 2},
        ],
      },
    ],
  },
};
/** The path of the search the page asks for with `option` (none: no option filter). */
const searchPath = (option) => `/api/search?${new URLSearchParams({q: 'tee', ...(option && {option}), limit: '24'})}`;
const routes = {'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: {}}]};
for (const option of [null, 'Size:M', 'Size:M,Colour:Blue', 'Colour:Blue']) {
  routes[`GET ${searchPath(option)}`] = () => [200, RESULTS];
}
const calls = fakeApi(routes);

const main = document.getElementById('main');
const drawn = () => main.dataset.shown === location.hash && !main.hasAttribute('aria-busy');
const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();

location.hash = '#/search?q=tee';
await import('../../assets/js/app.js');
await until(drawn, 'the search is drawn');

/** The filters' option groups: each legend with its choices' labels and whether each is checked. */
function optionGroups() {
  const filters = main.querySelector('aside[aria-label="Filters"]');
  return [...filters.querySelectorAll('fieldset')]
    .filter((f) => f.querySelector('input[name=option]'))
    .map((f) => [
      text(f.querySelector('legend')),
      [...f.querySelectorAll('label')].map((l) => [text(l), l.querySelector('input').checked]),
    ]);
}

/** Toggles the checkbox labelled `label` in the group `legend`; resolves once the search is
 *  drawn again, answering the `option` the search was asked with (null: none). */
async function toggle(legend, label) {
  const group = [...main.querySelectorAll('fieldset')].find((f) => text(f.querySelector('legend')) === legend);
  const input = [...group.querySelectorAll('label')]
    .find((l) => text(l).startsWith(`${label} (`))
    .querySelector('input');
  const before = calls.length;
  input.click();
  await until(() => calls.length > before && drawn(), 'the search is run again');
  const call = calls.findLast((c) => c.path.startsWith('/api/search?'));
  assert.equal(call.path.split('?')[0], '/api/search');
  assert.equal(new URLSearchParams(location.hash.split('?')[1]).get('option'), query(call).get('option'));
  return query(call).get('option');
}
const query = (call) => new URLSearchParams(call.path.split('?')[1]);

test('one group per option after the other facets, each value with its count, empty ones hidden', () => {
  const fieldsets = [...main.querySelectorAll('aside[aria-label="Filters"] fieldset')];
  assert.deepEqual(
    fieldsets.map((f) => text(f.querySelector('legend'))),
    ['Category', 'Price', 'Availability', 'Colour', 'Size'],
  );
  assert.deepEqual(optionGroups(), [
    [
      'Colour',
      [
        ['Blue (3)', false],
        ['Red (1)', false],
      ],
    ],
    [
      'Size',
      [
        ['M (4)', false],
        ['L (2)', false],
      ],
    ],
  ]);
  for (const input of main.querySelectorAll('input[name=option]')) {
    assert.equal(input.type, 'checkbox');
    assert.equal(input.labels.length, 1, 'each checkbox is labelled');
  }
  assert.equal(query(calls.findLast((c) => c.path.startsWith('/api/search?'))).get('option'), null);
});

test('checking a value searches with it, and it shows checked', async () => {
  assert.equal(await toggle('Size', 'M'), 'Size:M');
  assert.equal(query(calls.at(-1)).get('q'), 'tee', 'the other filters are kept');
  assert.deepEqual(optionGroups()[1], [
    'Size',
    [
      ['M (4)', true],
      ['L (2)', false],
    ],
  ]);
});

test('a value of another option is added after those chosen before', async () => {
  assert.equal(await toggle('Colour', 'Blue'), 'Size:M,Colour:Blue');
  assert.deepEqual(
    optionGroups().map(([, values]) => values.filter(([, checked]) => checked).map(([label]) => label)),
    [['Blue (3)'], ['M (4)']],
  );
});

test('unchecking a value takes only it out, and the last one out drops the parameter', async () => {
  assert.equal(await toggle('Size', 'M'), 'Colour:Blue');
  assert.equal(await toggle('Colour', 'Blue'), null);
  assert.equal(location.hash, '#/search?q=tee');
  assert.ok(optionGroups().every(([, values]) => values.every(([, checked]) => !checked)));
});

test('a chosen value the facets do not count still shows, checked, so it can be unchosen', async () => {
  const gone = structuredClone(RESULTS);
  gone.facets.options = [];
  routes[`GET ${searchPath('Colour:Green')}`] = () => [200, RESULTS];
  routes[`GET ${searchPath('Size:XL')}`] = () => [200, gone];
  location.hash = '#/search?q=tee&option=Colour%3AGreen';
  await until(drawn, 'the search is drawn');
  assert.deepEqual(optionGroups()[0][1][2], ['Green (0)', true]);
  location.hash = '#/search?q=tee&option=Size%3AXL';
  await until(drawn, 'the search is drawn');
  assert.deepEqual(optionGroups(), [['Size', [['XL (0)', true]]]]);
});
