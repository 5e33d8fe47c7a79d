// Staff roles in the pages, in jsdom against a stand-in API: the roles a token's groups name, the
// back office each role is shown (its tabs, where the header's link leads, the order actions it
// may take), and the staff page, which saves a member's roles as ticked and gives a role to an
// account found by its email.

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';
import {ApiError, holds, me, rolesOf, signedIn} from '../../assets/js/api.js';
import {drawWith} from '../../assets/js/nav.js';

const ORDER = {
  id: 'o1',
  user_id: 'u9',
  status: 'PAID',
  created_at: '2026-12-01T10:00:00Z',
  total: {amount: 1250, currency: 'EUR'},
};
const ADA = {user_id: 'u2', email: 'ada@shop.test', name: 'Ada', roles: ['catalogue']};
const BOB = {user_id: 'u3', email: 'bob@shop.test', name: 'Bob', roles: ['fulfilment', 'support']};
const problem = (status, detail) => [status, {title: 'Refused', status, detail}];
let staff = [ADA, BOB];
const roles = {u1: ['admin'], u2: ['catalogue'], u3: ['fulfilment', 'support'], u7: ['support']};

const calls = fakeApi({
  'GET /api/orders?status=PAID&limit=50': () => [200, [ORDER]],
  'GET /api/staff': () => [200, staff],
  'PUT /api/users/u1/roles': () =>
    problem(409, 'an admin cannot take the admin role from themselves; ask another admin'),
  'PUT /api/users/u2/roles': (body) => {
    staff = staff.map((m) => (m.user_id === 'u2' ? {...m, roles: body.roles} : m));
    return [200, {user_id: 'u2', roles: body.roles}];
  },
  'GET /api/users/u7/roles': () => [200, {user_id: 'u7', roles: roles.u7}],
  'PUT /api/users/u7/roles': (body) => [200, {user_id: 'u7', roles: body.roles}],
  'GET /api/users?limit=100': () => [
    200,
    [{id: 'u5', email: 'eve@shop.test', name: 'Eve'}],
    {link: '<?limit=100&cursor=c2>; rel="next"'},
  ],
  'GET /api/users?limit=100&cursor=c2': () => [200, [{id: 'u7', email: 'Cleo@Shop.test', name: 'Cleo'}]],
});

/** Signs in as someone whose token names `groups`. */
function signInAs(groups) {
  const token = idToken({sub: 'u1', email: 'someone@shop.test', 'cognito:groups': groups});
  signedIn({id_token: token, access_token: 'access', refresh_token: 'refresh', expires_in: 3600});
}

signInAs(['admin']);
const admin = await import('../../assets/js/views/admin.js');
const staffPages = await import('../../assets/js/views/staff.js');

const main = document.getElementById('main');
const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const tabNames = () => [...main.querySelectorAll('nav[aria-label="Back office"] a')].map(text);
const form = (label) => main.querySelector(`form[aria-label="${label}"]`);
const alert = (scope) => scope.querySelector('[role=alert]');
let view = null;
drawWith(async () => show(main, await view()));

test('the roles are the staff roles among the groups, however the token writes them', () => {
  assert.deepEqual(rolesOf(['customers', 'support', 'catalogue']), ['catalogue', 'support']);
  assert.deepEqual(rolesOf('fulfilment,customers'), ['fulfilment']);
  assert.deepEqual(rolesOf('[admin support]'), ['admin', 'support']);
  assert.deepEqual(rolesOf(undefined), []);
  assert.deepEqual(rolesOf('administrators'), []);
});

test('an admin holds every role; anyone else only their own', () => {
  signInAs(['admin']);
  assert.deepEqual(me().roles, ['admin']);
  assert.equal(me().admin, true);
  for (const role of ['admin', 'catalogue', 'fulfilment', 'support']) assert.equal(holds(role), true, role);

  signInAs(['catalogue', 'customers']);
  assert.deepEqual(me(), {id: 'u1', email: 'someone@shop.test', roles: ['catalogue'], admin: false});
  assert.deepEqual(
    ['admin', 'catalogue', 'fulfilment', 'support'].map((role) => holds(role)),
    [false, true, false, false],
  );

  signInAs(['customers']);
  assert.equal(holds('catalogue'), false);
  assert.equal(admin.backOffice(), null, 'a customer has no back office');
});

test('each role is shown the back office pages it may use, and led to the first of them', async () => {
  for (const [groups, tabs, home] of [
    [
      ['admin'],
      [
        'Products',
        'Orders',
        'Returns',
        'Import / export',
        'Shipping & tax',
        'Promotions',
        'Staff',
        'Audit log',
        'Webhooks',
      ],
      '#/admin',
    ],
    [['catalogue'], ['Products', 'Import / export'], '#/admin'],
    [['fulfilment'], ['Orders', 'Returns'], '#/admin/orders'],
    [['support'], ['Orders', 'Returns'], '#/admin/orders'],
    [['catalogue', 'support'], ['Products', 'Orders', 'Returns', 'Import / export'], '#/admin'],
  ]) {
    signInAs(groups);
    show(main, [admin.tabs('orders')]);
    assert.deepEqual(tabNames(), tabs, groups.join());
    assert.equal(admin.backOffice(), home, groups.join());
  }
});

test('a page none of the roles held may use is refused, as the API would refuse it', async () => {
  signInAs(['catalogue']);
  await assert.rejects(
    admin.orders(new URLSearchParams()),
    (error) =>
      error instanceof ApiError &&
      error.status === 403 &&
      error.message === 'This part of the back office is not among your roles.',
  );
  assert.throws(() => admin.admins(), ApiError);
  signInAs(['fulfilment']);
  assert.throws(() => admin.catalogue(), /not among your roles/);
  signInAs(['customers']);
  assert.throws(() => admin.catalogue(), /for the shop’s administrators/);
  await assert.rejects(staffPages.members(), /for the shop’s administrators/);
  signInAs(['support']);
  await assert.rejects(staffPages.audit(new URLSearchParams()), /not among your roles/);
});

test('fulfilment ships, support refunds, and only an admin exports for accounting', async () => {
  const actions = () => [...main.querySelectorAll('tr[data-order="o1"] button')].map(text);
  const exported = () => Boolean(form('Export for accounting'));
  signInAs(['fulfilment']);
  show(main, await admin.orders(new URLSearchParams()));
  assert.deepEqual([actions(), exported()], [['Ship'], false]);
  signInAs(['support']);
  show(main, await admin.orders(new URLSearchParams()));
  assert.deepEqual([actions(), exported()], [['Refund'], false]);
  signInAs(['admin']);
  show(main, await admin.orders(new URLSearchParams()));
  assert.deepEqual([actions(), exported()], [['Ship', 'Refund'], true]);
});

test('the staff page lists each member with their roles ticked, and says what each role means', async () => {
  signInAs(['admin']);
  view = () => staffPages.members();
  show(main, await view());
  assert.equal(text(main.querySelector('h1')), 'Staff');
  assert.deepEqual([...main.querySelectorAll('dl.roles dt')].map(text), [
    'admin',
    'catalogue',
    'fulfilment',
    'support',
  ]);
  assert.equal(text(main.querySelector('dl.roles dt:nth-of-type(2) + dd')), 'Products, stock, images and imports.');
  const bob = form('Roles of bob@shop.test');
  const ticked = (scope) => [...scope.querySelectorAll('input:checked')].map((input) => input.name);
  assert.deepEqual(ticked(bob), ['fulfilment', 'support']);
  assert.equal(text(main.querySelector('tr[data-user="u3"] th')), 'Bob');
  for (const input of bob.querySelectorAll('input')) assert.equal(text(input.closest('label')), input.name);
});

test('saving a member’s roles sends exactly those ticked, and the page is drawn again from the API', async () => {
  signInAs(['admin']);
  view = () => staffPages.members();
  show(main, await view());
  const ada = form('Roles of ada@shop.test');
  ada.elements.namedItem('catalogue').checked = false;
  ada.elements.namedItem('support').checked = true;
  ada.requestSubmit();
  await until(() => form('Roles of ada@shop.test') !== ada, 'the page is drawn again');
  assert.deepEqual(calls.findLast((c) => c.method === 'PUT').body, {roles: ['support']});
  const ticked = [...form('Roles of ada@shop.test').querySelectorAll('input:checked')].map((i) => i.name);
  assert.deepEqual(ticked, ['support']);
});

test('the API’s refusal to take an admin’s own admin role is said at their roles', async () => {
  signInAs(['admin']);
  staff = [{user_id: 'u1', email: 'someone@shop.test', name: 'Me', roles: ['admin']}, ADA];
  view = () => staffPages.members();
  show(main, await view());
  const mine = form('Roles of someone@shop.test');
  mine.elements.namedItem('admin').checked = false;
  mine.requestSubmit();
  await until(() => alert(mine), 'the refusal is shown');
  assert.equal(text(alert(mine)), 'an admin cannot take the admin role from themselves; ask another admin');
  assert.deepEqual(
    calls.findLast((c) => c.method === 'PUT'),
    {
      method: 'PUT',
      path: '/api/users/u1/roles',
      body: {roles: []},
    },
  );
});

test('a role is given to an account found by its email, through the pages of users, keeping its roles', async () => {
  signInAs(['admin']);
  view = () => staffPages.members();
  show(main, await view());
  const give = form('Give a role');
  assert.equal(text(main.querySelector(`label[for="${give.elements.namedItem('who').id}"]`)), 'Email or user ID');
  give.elements.namedItem('who').value = 'cleo@shop.test';
  give.elements.namedItem('role').value = 'fulfilment';
  give.requestSubmit();
  await until(() => form('Give a role') !== give, 'the page is drawn again');
  assert.deepEqual(
    calls.slice(-5).map((c) => `${c.method} ${c.path}`),
    [
      'GET /api/users?limit=100',
      'GET /api/users?limit=100&cursor=c2',
      'GET /api/users/u7/roles',
      'PUT /api/users/u7/roles',
      'GET /api/staff',
    ],
  );
  assert.deepEqual(calls.findLast((c) => c.method === 'PUT').body, {roles: ['support', 'fulfilment']});
});

test('an email no account has, and a role held already, are said at the form; nothing is sent', async () => {
  signInAs(['admin']);
  view = () => staffPages.members();
  show(main, await view());
  const puts = calls.filter((c) => c.method === 'PUT').length;
  const give = form('Give a role');
  assert.equal(give.elements.namedItem('role').value, '', 'no role is chosen until one is');
  give.elements.namedItem('who').value = 'nobody@shop.test';
  give.elements.namedItem('role').value = 'catalogue';
  give.requestSubmit();
  await until(() => alert(give), 'the refusal is shown');
  assert.equal(text(alert(give)), 'No account has the email nobody@shop.test.');

  give.elements.namedItem('who').value = 'u7';
  give.elements.namedItem('role').value = 'support';
  give.requestSubmit();
  await until(() => alert(give) && /already/.test(text(alert(give))), 'the second refusal is shown');
  assert.equal(text(alert(give)), 'u7 holds the support role already.');
  assert.equal(calls.filter((c) => c.method === 'PUT').length, puts);
});
