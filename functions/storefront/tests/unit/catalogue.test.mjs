// The catalogue as CSV in the back office, in jsdom against a stand-in API: the export read with
// the session's token and saved as products.csv, and an import sent as text/csv whose record is
// asked for each second, its progress, outcome and refused lines (or why it failed) shown.

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';

const EXPORTED = 'handle,name,description,category,active,attributes,product_images,option1_name\nlamp,Lamp,,home\n';
const UPLOADED = 'handle,name,category,sku,price,currency,stock\nlamp-a,Lamp A,lamps,LAMP-A,12.50,EUR,3\n';

/** An import's record as the API answers it. */
const record = (id, state, fields = {}) => ({
  id,
  state,
  rows_done: 0,
  rows_total: 0,
  products_created: 0,
  products_updated: 0,
  rows_refused: 0,
  refused: [],
  created_at: '2026-12-01T10:00:00Z',
  updated_at: '2026-12-01T10:00:00Z',
  ...fields,
});
// What each import's record says at each later asking, and the id of the next import started.
const later = {
  i1: [
    record('i1', 'running', {rows_done: 4, rows_total: 10}),
    record('i1', 'done', {
      rows_done: 10,
      rows_total: 10,
      products_created: 3,
      products_updated: 1,
      rows_refused: 2,
      refused: [
        {line: 3, reason: 'price: EUR has 2 decimals; "12.345" has more'},
        {line: 9, reason: 'sku: is empty'},
      ],
    }),
  ],
  i2: [record('i2', 'failed', {error: 'unknown column "colour"'})],
};
let next = 'i1';

const calls = fakeApi({
  'GET /api/products/export': () => [
    200,
    EXPORTED,
    {'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="products.csv"'},
  ],
  'POST /api/products/import': () => [202, record(next, 'pending'), {location: `/api/products/imports/${next}`}],
  'GET /api/products/imports/i1': () => [200, later.i1.shift()],
  'GET /api/products/imports/i2': () => [200, later.i2.shift()],
});

const TOKEN = idToken({sub: 'u1', email: 'ada@shop.test', 'cognito:groups': ['admin']});
signedIn({id_token: TOKEN, access_token: 'access', refresh_token: 'refresh', expires_in: 3600});
const admin = await import('../../assets/js/views/admin.js');

const main = document.getElementById('main');
const text = (element) => element.textContent.trim();
const button = (name) => [...main.querySelectorAll('button')].find((b) => text(b) === name);

/** Resolves once `check()` holds, letting the page's calls be answered meanwhile (for tests
 *  whose clock is mocked, where `until` would wait for ever). */
async function soon(check, what = String(check)) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}

/** Chooses `file` in the import form and submits it; answers the form. */
function importFile(file) {
  const form = main.querySelector('form[aria-label="Import CSV"]');
  const input = form.elements.namedItem('file');
  assert.equal(input.type, 'file');
  assert.equal(input.accept, '.csv,text/csv');
  Object.defineProperty(input, 'files', {value: [file], configurable: true});
  form.dispatchEvent(new window.Event('submit', {cancelable: true}));
  return form;
}

test("the export is read with the session's token and saved as products.csv through an object URL", async (t) => {
  const saved = [];
  const revoked = [];
  t.mock.method(URL, 'createObjectURL', (blob) => (saved.push(blob), 'blob:http://shop.test/export'));
  t.mock.method(URL, 'revokeObjectURL', (url) => revoked.push(url));
  const followed = [];
  const follow = (event) => {
    if (event.target.localName !== 'a') return;
    followed.push({href: event.target.href, download: event.target.getAttribute('download')});
    event.preventDefault();
  };
  document.addEventListener('click', follow);
  t.after(() => document.removeEventListener('click', follow));

  show(main, admin.catalogue());
  button('Export CSV').click();
  await until(() => revoked.length > 0, 'the object URL is revoked');
  const call = calls.findLast((c) => c.path === '/api/products/export');
  assert.equal(call.method, 'GET');
  assert.equal(call.headers.get('authorization'), `Bearer ${TOKEN}`);
  assert.deepEqual(followed, [{href: 'blob:http://shop.test/export', download: 'products.csv'}]);
  assert.equal(await saved[0].text(), EXPORTED);
  assert.deepEqual(revoked, ['blob:http://shop.test/export']);
  assert.equal(document.querySelector('a[download]'), null, 'the link is gone');
  assert.equal(main.querySelector('[role=alert]'), null);
});

test('an import sends the file as text/csv, shows its progress each second, then its outcome and refused lines', async (t) => {
  t.mock.timers.enable({apis: ['setTimeout']});
  next = 'i1';
  show(main, admin.catalogue());
  const status = document.getElementById('import-status');
  assert.equal(status.getAttribute('aria-live'), 'polite');
  const form = importFile(new window.File([UPLOADED], 'lamps.csv', {type: 'text/csv'}));
  await soon(() => status.textContent.includes('Waiting'), 'the pending import is shown');
  const sent = calls.findLast((c) => c.method === 'POST');
  assert.deepEqual(sent, {method: 'POST', path: '/api/products/import', body: UPLOADED, type: 'text/csv'});
  assert.equal(sent.headers.get('authorization'), `Bearer ${TOKEN}`);
  assert.equal(
    status.querySelector('progress').hasAttribute('value'),
    false,
    'indeterminate until the rows are counted',
  );
  assert.equal(form.querySelector('[type=submit]').disabled, true, 'one import at a time');

  t.mock.timers.tick(1000);
  await soon(() => status.querySelector('p')?.textContent === '4 of 10 rows', 'the progress is shown');
  assert.equal(calls.at(-1).path, '/api/products/imports/i1');
  const progress = status.querySelector('progress');
  assert.deepEqual([progress.value, progress.max], [4, 10]);
  assert.equal(status.querySelector('table'), null);

  t.mock.timers.tick(1000);
  await soon(() => status.querySelector('table'), 'the outcome is shown');
  assert.equal(status.querySelector('progress'), null);
  assert.deepEqual([...status.querySelectorAll('li')].map(text), [
    '3 products created',
    '1 product updated',
    '2 rows refused',
  ]);
  const rows = [...status.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map(text));
  assert.deepEqual(rows, [
    ['3', 'price: EUR has 2 decimals; "12.345" has more'],
    ['9', 'sku: is empty'],
  ]);
  assert.equal(form.querySelector('[type=submit]').disabled, false);
  assert.equal(main.querySelector('[role=alert]'), null);
  assert.equal(calls.filter((c) => c.path.startsWith('/api/products/imports/')).length, 2, 'no asking once done');
});

test('a failed import shows why the file could not be read, as a problem of the form', async (t) => {
  t.mock.timers.enable({apis: ['setTimeout']});
  next = 'i2';
  show(main, admin.catalogue());
  const status = document.getElementById('import-status');
  const form = importFile(new window.File(['handle,name,colour\nx,y,z\n'], 'bad.csv', {type: 'text/csv'}));
  await soon(() => status.textContent.includes('Waiting'), 'the pending import is shown');
  t.mock.timers.tick(1000);
  await soon(() => form.querySelector('[role=alert]'), 'the failure is shown');
  assert.equal(text(form.querySelector('[role=alert]')), 'unknown column "colour"');
  assert.match(text(status), /failed/);
  assert.equal(status.querySelector('table, progress'), null);
});

test('a file too large for the API is refused before it is sent', async () => {
  const before = calls.length;
  show(main, admin.catalogue());
  const big = new window.File(['x'], 'big.csv', {type: 'text/csv'});
  Object.defineProperty(big, 'size', {value: 3 * 1024 * 1024 + 1});
  const form = importFile(big);
  await until(() => form.querySelector('[role=alert]'), 'the refusal is shown');
  assert.match(text(form.querySelector('[role=alert]')), /larger than 3 MB/);
  assert.equal(calls.length, before);
});
