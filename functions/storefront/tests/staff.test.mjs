// Staff roles and the audit log in the back office, in Chromium against a local stack: an admin
// gives a new account the catalogue role on the Staff page; its holder signs in to a back office
// of the catalogue's tools only and changes a product's stock; the admin finds the grant and the
// write, with what each changed, in the audit log, and filters it by who wrote.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN,
  PASSWORD,
  accessibilityProblems,
  logIn,
  newEmail,
  newPage,
  screenshot,
  settled,
  useShop,
} from './support.mjs';

const world = useShop();

test('an admin gives a new account the catalogue role; its holder sees only the catalogue’s tools; the audit log shows the grant and the stock they changed', async () => {
  const email = newEmail('cataloguer');
  const account = (
    await world.shop.call('POST', '/api/users', world.admin, {email, password: PASSWORD, name: 'Cat Aloguer'})
  ).body;
  const product = await world.shop.product(world.admin, {name: `Audit Mug ${Date.now()}`});

  // The admin gives the role on the Staff page, naming the account by its email.
  const admin = await newPage(world.browser);
  await logIn(admin, world.url, ADMIN.email, ADMIN.password);
  await admin.getByRole('link', {name: 'Back office'}).click();
  const office = admin.getByRole('navigation', {name: 'Back office'});
  await office.getByRole('link', {name: 'Staff'}).click();
  await admin.getByRole('heading', {name: 'Staff', level: 1}).waitFor();
  await admin.getByText('Products, stock, images and imports.').waitFor();
  const give = admin.getByRole('form', {name: 'Give a role'});
  await give.getByLabel('Email or user ID').fill(email);
  await give.getByLabel('Role', {exact: true}).selectOption('catalogue');
  await give.getByRole('button', {name: 'Give role'}).click();
  const roles = admin.getByRole('form', {name: `Roles of ${email}`});
  await roles.waitFor();
  await settled(admin);
  for (const [role, held] of [
    ['admin', false],
    ['catalogue', true],
    ['fulfilment', false],
    ['support', false],
  ]) {
    assert.equal(await roles.getByLabel(role, {exact: true}).isChecked(), held, role);
  }
  const granted = await world.shop.call('GET', `/api/users/${account.id}/roles`, world.admin);
  assert.deepEqual(granted.body.roles, ['catalogue']);
  assert.deepEqual(await accessibilityProblems(admin), []);
  await screenshot(admin, 'staff');

  // The new member of staff: a back office of the catalogue's tools, and nothing more.
  const member = await newPage(world.browser);
  await logIn(member, world.url, email, PASSWORD);
  await member.getByRole('link', {name: 'Back office'}).click();
  await member.getByRole('heading', {name: 'Products', level: 1}).waitFor();
  const tabs = member.getByRole('navigation', {name: 'Back office'}).getByRole('link');
  assert.deepEqual(await tabs.allInnerTexts(), ['Products', 'Import / export']);
  await member.goto(`${world.url}/#/admin/products/${product.id}`);
  await member.getByRole('heading', {name: product.name, level: 1}).waitFor();
  await member.getByLabel('Change').fill('5');
  await member.getByLabel('Reason').fill('a box found in the back');
  await member.getByRole('button', {name: 'Adjust stock'}).click();
  await member.locator('#stock', {hasText: '15'}).waitFor();
  for (const path of ['admin/staff', 'admin/audit', 'admin/orders']) {
    await member.goto(`${world.url}/#/${path}`);
    await settled(member);
    await member.getByText('This part of the back office is not among your roles.').waitFor();
  }
  await screenshot(member, 'staff-catalogue-refused');
  assert.deepEqual(member.problems, []);

  // The audit log: the grant and the write, each with what it changed.
  await office.getByRole('link', {name: 'Audit log'}).click();
  await admin.getByRole('heading', {name: 'Audit log', level: 1}).waitFor();
  const records = admin.locator('table.audit tbody tr');
  const grant = records.filter({hasText: `PUT /api/users/${account.id}/roles`});
  assert.equal(await grant.count(), 1);
  assert.match(await grant.innerText(), /admin@shop\.test \(admin\)/);
  assert.match(await grant.locator('ul.changes').innerText(), /roles: \[\] → \["catalogue"\]/);
  const write = records.filter({hasText: `/api/products/${product.id}/variants/`});
  assert.equal(await write.count(), 1);
  assert.match(await write.innerText(), new RegExp(`${email.replace(/[.]/g, '\\.')} \\(catalogue\\)`));
  assert.match(await write.locator('ul.changes').innerText(), /^stock: 10 → 15$/m);
  assert.deepEqual(await accessibilityProblems(admin), []);
  await screenshot(admin, 'audit');

  // Filtered by who wrote: the member's one write.
  const filters = admin.getByRole('form', {name: 'Filter the audit log'});
  await filters.getByLabel('Who', {exact: true}).fill(email);
  await filters.getByRole('button', {name: 'Filter'}).click();
  await admin.waitForURL(new RegExp(`#/admin/audit\\?actor=${account.id}$`));
  await settled(admin);
  assert.equal(await records.count(), 1);
  assert.match(await records.first().innerText(), /stock: 10 → 15/);
  assert.equal(await filters.getByLabel('Who', {exact: true}).inputValue(), email);
  assert.deepEqual(admin.problems, []);
});
