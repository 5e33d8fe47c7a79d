// The back office's export of a period's orders for accounting, in jsdom against a stand-in API:
// its days are this month's first and today (UTC) until others are chosen, the CSV is read with
// the session's token and saved as orders-<from>-<to>.csv, and a period the API refuses is said
// at the day it names.

import {downloads, fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';

const CSV = 'order_id,placed_at,status,customer\no1,2026-03-02T10:00:00Z,PAID,u7\n';
const csv = () => [
  200,
  CSV,
  {'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="orders.csv"'},
];

const calls = fakeApi({
  'GET /api/orders?status=PAID&limit=50': () => [200, []],
  'GET /api/orders/export?from=2026-03-01&to=2026-03-31': csv,
  'GET /api/orders/export?from=2026-01-15&to=2026-02-28': csv,
  'GET /api/orders/export?from=2026-02-28&to=2026-01-15': () => [
    422,
    {
      type: '/problems/validation',
      title: 'Unprocessable Entity',
      status: 422,
      detail: 'to: is before from',
      errors: [{field: 'to', message: 'is before from'}],
    },
  ],
});

const TOKEN = idToken({sub: 'u1', email: 'admin@shop.test', 'cognito:groups': ['admin']});
signedIn({id_token: TOKEN, access_token: 'access', refresh_token: 'refresh', expires_in: 3600});
const admin = await import('../../assets/js/views/admin.js');

const main = document.getElementById('main');
const text = (element) => element.textContent.trim();
const form = () => main.querySelector('form[aria-label="Export for accounting"]');
const input = (name) => form().elements.namedItem(name);

/** The orders view drawn at `now`, with the clock's zone 14 hours ahead of UTC: its local day is
 *  a day later than UTC's late in the evening. */
async function drawnAt(t, now) {
  const zone = process.env.TZ;
  process.env.TZ = 'Pacific/Kiritimati';
  t.after(() => (zone === undefined ? delete process.env.TZ : (process.env.TZ = zone)));
  t.mock.timers.enable({apis: ['Date'], now: new Date(now)});
  show(main, await admin.orders(new URLSearchParams()));
  t.mock.timers.reset();
}

test("the period is this month's first day to today in UTC, labelled, and its CSV is saved as orders-<from>-<to>.csv", async (t) => {
  await drawnAt(t, '2026-03-31T23:30:00Z');
  const {saved, revoked} = downloads(t);
  assert.equal(text(main.querySelector('h2')), 'Export for accounting');
  for (const [name, label, value] of [
    ['from', 'From', '2026-03-01'],
    ['to', 'To', '2026-03-31'],
  ]) {
    const field = input(name);
    assert.deepEqual([field.type, field.value, field.required], ['date', value, true]);
    assert.equal(text(main.querySelector(`label[for="${field.id}"]`)), label);
  }

  form().requestSubmit();
  await until(() => revoked.length > 0, 'the object URL is revoked');
  const call = calls.at(-1);
  assert.deepEqual(call, {method: 'GET', path: '/api/orders/export?from=2026-03-01&to=2026-03-31', body: undefined});
  assert.equal(call.headers.get('authorization'), `Bearer ${TOKEN}`);
  assert.deepEqual(
    saved.map(({url, download}) => ({url, download})),
    [{url: 'blob:http://shop.test/1', download: 'orders-2026-03-01-2026-03-31.csv'}],
  );
  assert.equal(await saved[0].blob.text(), CSV);
  assert.deepEqual(revoked, ['blob:http://shop.test/1']);
  assert.equal(document.querySelector('a[download]'), null, 'the link is gone');
  assert.equal(main.querySelector('[role=alert]'), null);
});

test('other days chosen are sent as they are, and name the file', async (t) => {
  await drawnAt(t, '2026-03-31T23:30:00Z');
  const {saved} = downloads(t);
  input('from').value = '2026-01-15';
  input('to').value = '2026-02-28';
  form().requestSubmit();
  await until(() => saved.length > 0, 'the export is saved');
  assert.equal(calls.at(-1).path, '/api/orders/export?from=2026-01-15&to=2026-02-28');
  assert.equal(saved[0].download, 'orders-2026-01-15-2026-02-28.csv');
});

test('a period the API refuses is said above the form and at the day it names, and cleared by the next try', async (t) => {
  await drawnAt(t, '2026-03-31T23:30:00Z');
  const {saved} = downloads(t);
  input('from').value = '2026-02-28';
  input('to').value = '2026-01-15';
  form().requestSubmit();
  await until(() => document.getElementById('f-to-error'), 'the day is marked');
  assert.equal(calls.at(-1).path, '/api/orders/export?from=2026-02-28&to=2026-01-15');
  assert.equal(text(document.getElementById('f-to-error')), 'is before from');
  assert.equal(input('to').getAttribute('aria-invalid'), 'true');
  assert.equal(input('to').getAttribute('aria-describedby'), 'f-to-error');
  assert.equal(input('from').hasAttribute('aria-invalid'), false);
  assert.equal(text(form().querySelector('[role=alert]')), 'to: is before from');
  assert.equal(form().querySelector('[type=submit]').disabled, false, 'it can be tried again');
  assert.deepEqual(saved, []);

  input('from').value = '2026-01-15';
  input('to').value = '2026-02-28';
  form().requestSubmit();
  await until(() => saved.length > 0, 'the export is saved');
  assert.equal(form().querySelector('[role=alert], .field-error'), null);
  assert.equal(input('to').hasAttribute('aria-invalid'), false);
});
