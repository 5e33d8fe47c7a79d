// The audit log in the back office, in jsdom against a stand-in API: what a write changed (the
// top-level fields whose values differ, long ones cut), the days of its filters sent as the
// instants the API takes, the next page its `Link` names, and the page itself: who wrote (by
// email when they are staff), "More" reading further back, and its filters.

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';
import {nextPage, signedIn} from '../../assets/js/api.js';
import {drawWith} from '../../assets/js/nav.js';

const STAFF = [{user_id: 'u2', email: 'cat@shop.test', name: 'Cat', roles: ['catalogue']}];
const STOCK = {
  id: 'r2',
  at: '2026-12-02T09:30:00Z',
  actor: 'u2',
  roles: ['catalogue'],
  method: 'POST',
  route: '/api/products/{id}/variants/{variant_id}/stock',
  target: '/api/products/p1/variants/v1/stock',
  status: 200,
  before: {id: 'p1', name: 'Mug', stock: 10, variants: [{id: 'v1', stock: 10}], version: 3},
  after: {id: 'p1', name: 'Mug', stock: 15, variants: [{id: 'v1', stock: 15}], version: 4},
};
const GRANT = {
  id: 'r1',
  at: '2026-12-01T08:00:00Z',
  actor: 'u1',
  roles: ['admin'],
  method: 'PUT',
  route: '/api/users/{id}/roles',
  target: '/api/users/u2/roles',
  status: 200,
  before: {user_id: 'u2', roles: []},
  after: {user_id: 'u2', roles: ['catalogue']},
};
const MADE = {
  ...GRANT,
  id: 'r0',
  at: '2026-11-30T08:00:00Z',
  method: 'POST',
  route: '/api/products',
  target: '/api/products/p1',
  status: 201,
  before: null,
  after: {id: 'p1', name: 'Mug', stock: 10},
};
const FILTERED = '/api/audit?limit=50&actor=u2&target=%2Fapi%2Fproducts&from=2026-12-01T00%3A00%3A00Z';

const calls = fakeApi({
  'GET /api/staff': () => [200, STAFF],
  'GET /api/audit?limit=50': () => [200, [STOCK], {link: '<?limit=50&cursor=c2>; rel="next"'}],
  'GET /api/audit?limit=50&cursor=c2': () => [200, [GRANT, MADE]],
  [`GET ${FILTERED}`]: () => [200, [STOCK]],
  'GET /api/audit?limit=50&actor=nobody': () => [
    422,
    {
      title: 'Unprocessable Entity',
      status: 422,
      detail: 'actor: is not a user id',
      errors: [{field: 'actor', message: 'is not a user id'}],
    },
  ],
});

signedIn({
  id_token: idToken({sub: 'u1', email: 'admin@shop.test', 'cognito:groups': ['admin']}),
  access_token: 'access',
  refresh_token: 'refresh',
  expires_in: 3600,
});
const {audit, auditPath, changes, dayStart, shown} = await import('../../assets/js/views/staff.js');

const main = document.getElementById('main');
const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const rows = () => [...main.querySelectorAll('table.audit tbody tr')];
const cells = (row) => [...row.children].map(text);
const button = (name) => [...main.querySelectorAll('button')].find((b) => text(b) === name);
const filters = () => main.querySelector('form[aria-label="Filter the audit log"]');
let params = new URLSearchParams();
drawWith(async () => show(main, await audit(params)));

/** The page drawn for the address `hash` (`#/admin/audit?…`), as the router draws it. */
async function open(hash) {
  location.hash = hash;
  params = new URLSearchParams(hash.split('?')[1] ?? '');
  show(main, await audit(params));
}

test('a change is each top-level field whose value differs, old → new', () => {
  assert.deepEqual(changes(STOCK.before, STOCK.after), [
    {key: 'stock', before: '10', after: '15'},
    {key: 'variants', before: '[{"id":"v1","stock":10}]', after: '[{"id":"v1","stock":15}]'},
    {key: 'version', before: '3', after: '4'},
  ]);
  assert.deepEqual(changes({a: {x: 1, y: 2}, b: 'same'}, {a: {y: 2, x: 1}, b: 'same'}), [], 'key order is no change');
  assert.deepEqual(changes({email: '(withheld)', name: 'Ada'}, {email: '(withheld)', name: ''}), [
    {key: 'name', before: 'Ada', after: '""'},
  ]);
});

test('a creation has nothing before it and a deletion nothing after it', () => {
  assert.deepEqual(changes(null, {id: 'p9', active: true}), [
    {key: 'id', before: '(none)', after: 'p9'},
    {key: 'active', before: '(none)', after: 'true'},
  ]);
  assert.deepEqual(changes({id: 'p9'}, null), [{key: 'id', before: 'p9', after: '(none)'}]);
  assert.deepEqual(changes(null, null), []);
});

test('a long value is cut at 80 characters, nested values shown as JSON', () => {
  const long = shown({description: 'x'.repeat(200)});
  assert.equal(long.length, 80);
  assert.ok(long.startsWith('{"description":"xxx'));
  assert.ok(long.endsWith('…'));
  assert.equal(shown('y'.repeat(80)), 'y'.repeat(80));
  assert.equal(shown(null), 'null');
  assert.equal(shown(undefined), '(none)');
});

test('a day is sent as the instant it starts in UTC; a day "to" as the next one’s start', () => {
  assert.equal(dayStart('2026-12-01'), '2026-12-01T00:00:00Z');
  assert.equal(dayStart('2026-12-31', true), '2027-01-01T00:00:00Z');
  assert.equal(dayStart('2028-02-28', true), '2028-02-29T00:00:00Z');
  for (const wrong of ['2026-02-30', '1 Dec', '2026-12-01T10:00:00Z']) assert.equal(dayStart(wrong), wrong);
  assert.equal(
    auditPath(new URLSearchParams('actor=u2&target=/api/products&from=2026-12-01&to=2026-12-02&page=x')),
    '/api/audit?limit=50&actor=u2&target=%2Fapi%2Fproducts&from=2026-12-01T00%3A00%3A00Z&to=2026-12-03T00%3A00%3A00Z',
  );
  assert.equal(auditPath(new URLSearchParams()), '/api/audit?limit=50');
});

test('the next page is the one the Link names, a link of a query alone on the list’s own path', () => {
  const link = (value) => new Headers(value ? {link: value} : {});
  assert.equal(
    nextPage(link('<?limit=50&cursor=c2>; rel="next"'), '/api/audit?limit=50&actor=u2'),
    '/api/audit?limit=50&cursor=c2',
  );
  assert.equal(
    nextPage(link('</api/products?cursor=c3>; rel="next"'), '/api/products?limit=5'),
    '/api/products?cursor=c3',
  );
  assert.equal(nextPage(link(null), '/api/audit'), null);
});

test('the log lists when, who (by email when they are staff), what and what it changed; More reads further back', async () => {
  await open('#/admin/audit');
  assert.equal(text(main.querySelector('h1')), 'Audit log');
  assert.deepEqual([...main.querySelectorAll('table.audit th')].map(text), ['When', 'Who', 'What', 'Changes']);
  assert.equal(rows().length, 1);
  const [when, who, what, changed] = cells(rows()[0]);
  assert.equal(when, new Date(STOCK.at).toLocaleString());
  assert.equal(rows()[0].querySelector('time').getAttribute('datetime'), STOCK.at);
  assert.equal(who, 'cat@shop.test (catalogue)');
  assert.equal(what, 'POST /api/products/p1/variants/v1/stock');
  assert.equal(changed, text(rows()[0].querySelector('ul.changes')));
  assert.deepEqual([...rows()[0].querySelectorAll('ul.changes li')].map(text), [
    'stock: 10 → 15',
    'variants: [{"id":"v1","stock":10}] → [{"id":"v1","stock":15}]',
    'version: 3 → 4',
  ]);

  button('More').click();
  await until(() => rows().length === 3, 'the next page is added');
  assert.equal(calls.at(-1).path, '/api/audit?limit=50&cursor=c2');
  const grant = cells(rows()[1]);
  assert.equal(grant[1], 'u1 (admin)', 'someone not on the staff list is named by their id');
  assert.equal(grant[3], 'roles: [] → ["catalogue"]');
  assert.equal(button('More').hidden, true, 'the last page has no more');
  const made = rows()[2].querySelector('details');
  assert.equal(text(made.querySelector('summary')), 'Created', 'what a creation made is folded under its word');
  assert.deepEqual([...made.querySelectorAll('li')].map(text), [
    'id: (none) → p1',
    'name: (none) → Mug',
    'stock: (none) → 10',
  ]);
});

test('the filters are the address’s: a staff email is sent as their id, days as instants', async () => {
  await open('#/admin/audit');
  const form = filters();
  for (const [name, label] of [
    ['actor', 'Who'],
    ['target', 'Target'],
    ['from', 'From'],
    ['to', 'To'],
  ]) {
    assert.equal(text(main.querySelector(`label[for="${form.elements.namedItem(name).id}"]`)), label);
  }
  form.elements.namedItem('actor').value = 'CAT@shop.test';
  form.elements.namedItem('target').value = '/api/products';
  form.elements.namedItem('from').value = '2026-12-01';
  form.requestSubmit();
  await until(() => location.hash.includes('actor='), 'the address names the filters');
  assert.equal(location.hash, '#/admin/audit?actor=u2&target=%2Fapi%2Fproducts&from=2026-12-01');

  await open(location.hash);
  assert.equal(calls.findLast((c) => c.path.startsWith('/api/audit')).path, FILTERED);
  assert.equal(rows().length, 1);
  assert.equal(button('More').hidden, true);
  assert.equal(filters().elements.namedItem('actor').value, 'cat@shop.test', 'the actor shown by their email');
  assert.equal(filters().elements.namedItem('from').value, '2026-12-01');
  assert.ok(main.querySelector('a[href="#/admin/audit"]'), 'a way back to every record');
});

test('a filter the API refuses is said at its field, the form still there to mend it', async () => {
  await open('#/admin/audit?actor=nobody');
  const form = filters();
  assert.equal(text(form.querySelector('[role=alert]')), 'actor: is not a user id');
  assert.equal(text(document.getElementById('f-actor-error')), 'is not a user id');
  assert.equal(form.elements.namedItem('actor').getAttribute('aria-invalid'), 'true');
  assert.equal(main.querySelector('table'), null);
});
