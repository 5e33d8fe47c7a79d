// The back office's people (admins only): the staff and the roles each holds, given and taken
// away, and the audit log of what staff wrote, each write with what it changed.

import {h, table, field, date, onSubmit, announce, moreButton, showProblem, Refusal} from '../dom.js';
import {ApiError, ROLES, call, put, nextPage} from '../api.js';
import {go, redraw} from '../nav.js';
import {admins, tabs} from './admin.js';

/** What each role lets its holders do. */
export const MEANINGS = {
  admin: 'Everything, roles included.',
  catalogue: 'Products, stock, images and imports.',
  fulfilment: 'Reading and shipping orders, receiving returns.',
  support: 'Reading orders and customers, refunds up to the shop’s limit.',
};

/** How many records a page of the audit log asks for. */
const AUDIT_PAGE = 50;
/** The most characters of a value the audit log shows. */
const MAX_SHOWN = 80;

/** Everyone holding a staff role, as the API lists them now: `{user_id, email, name, roles}`. */
async function staffList() {
  return (await call('GET', '/api/staff', {fresh: true})).body;
}

/** The staff: each member's roles, ticked and saved; what each role means; and a form that
 *  gives a role to an account by its email or id. */
export async function members() {
  admins();
  const staff = await staffList();
  return [
    h('h1', {}, 'Staff'),
    tabs('staff'),
    h(
      'dl',
      {class: 'roles'},
      ROLES.map((role) => [h('dt', {}, role), h('dd', {}, MEANINGS[role])]),
    ),
    h(
      'p',
      {},
      'A role given reaches its holder at their next sign-in. Taking a role away signs its holder out at once.',
    ),
    staff.length === 0
      ? h('p', {}, 'Nobody holds a role.')
      : h(
          'div',
          {class: 'overflow-auto'},
          table(
            ['Name', 'Email', 'Roles'],
            staff.map((member) =>
              h(
                'tr',
                {'data-user': member.user_id},
                h('th', {scope: 'row'}, member.name),
                h('td', {}, member.email),
                h('td', {}, rolesForm(member)),
              ),
            ),
          ),
        ),
    h('h2', {}, 'Give a role'),
    giveForm(),
  ];
}

/** A member's roles, one box each: saving sends exactly those ticked (none makes them a
 *  customer). */
function rolesForm(member) {
  return onSubmit(
    h(
      'form',
      {class: 'actions roles', 'aria-label': `Roles of ${member.email}`},
      ROLES.map((role) =>
        h('label', {}, h('input', {type: 'checkbox', name: role, checked: member.roles.includes(role)}), role),
      ),
      h('button', {type: 'submit', class: 'secondary'}, 'Save roles'),
    ),
    async (values) => {
      const roles = ROLES.filter((role) => values[role]);
      await put(`/api/users/${encodeURIComponent(member.user_id)}/roles`, {roles});
      announce(roles.length ? `${member.email} holds ${roles.join(', ')}` : `${member.email} is a customer now`);
      await redraw();
    },
  );
}

/** Gives a role to an account, keeping those it holds. */
function giveForm() {
  return onSubmit(
    h(
      'form',
      {'aria-label': 'Give a role'},
      h(
        'div',
        {class: 'grid'},
        field(
          'Email or user ID',
          {name: 'who', required: true, maxlength: 254, autocomplete: 'off'},
          'Of an account the shop has.',
        ),
        h(
          'div',
          {class: 'field'},
          h('label', {for: 'f-role'}, 'Role'),
          h(
            'select',
            {id: 'f-role', name: 'role', required: true},
            h('option', {value: ''}, 'Choose a role'),
            ROLES.map((role) => h('option', {value: role}, role)),
          ),
        ),
        h('div', {class: 'field submit'}, h('button', {type: 'submit'}, 'Give role')),
      ),
    ),
    async ({who, role}) => {
      const id = encodeURIComponent(await accountId(who));
      const held = (await call('GET', `/api/users/${id}/roles`, {fresh: true})).body.roles;
      if (held.includes(role)) throw new Refusal(`${who} holds the ${role} role already.`);
      await put(`/api/users/${id}/roles`, {roles: [...held, role]});
      announce(`${who} holds the ${role} role`);
      await redraw();
    },
  );
}

/** The id of the account `who` names: by its email (found in the list of users, page by page),
 *  or its id as it is. */
async function accountId(who) {
  if (!who.includes('@')) return who;
  const wanted = who.toLowerCase();
  let path = '/api/users?limit=100';
  while (path) {
    const answer = await call('GET', path, {fresh: true});
    const found = answer.body.find((user) => user.email?.toLowerCase() === wanted);
    if (found) return found.id;
    path = nextPage(answer.headers, path);
  }
  throw new Refusal(`No account has the email ${who}.`);
}

/** The instant a UTC day (`2026-12-01`) starts, as the API takes one (`2026-12-01T00:00:00Z`);
 *  with `after`, the next day's start (a period "to" a day includes it). Anything but a day is
 *  left as it is, for the API to say what is wrong with it. */
export function dayStart(day, after = false) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return day;
  const at = new Date(`${day}T00:00:00Z`);
  // A day the calendar lacks (February 30th) is not one, though Date would roll it over.
  if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== day) return day;
  if (after) at.setUTCDate(at.getUTCDate() + 1);
  return at.toISOString().replace('.000Z', 'Z');
}

/** The audit log's first page for the filters a view's address names (`actor`, a user id;
 *  `target`, a path or its start; `from` and `to`, UTC days, both included). */
export function auditPath(params) {
  const query = new URLSearchParams({limit: String(AUDIT_PAGE)});
  for (const name of ['actor', 'target']) if (params.get(name)) query.set(name, params.get(name));
  if (params.get('from')) query.set('from', dayStart(params.get('from')));
  if (params.get('to')) query.set('to', dayStart(params.get('to'), true));
  return `/api/audit?${query}`;
}

/** A value as a change shows it: text as it is, anything else as JSON, cut at `MAX_SHOWN`
 *  characters; "(none)" where there was none. */
export function shown(value) {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' && value !== '' ? value : JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

/** JSON with every object's keys in order: two values are the same when theirs are equal. */
function canonical(value) {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

const objectOr = (value) => (value && typeof value === 'object' && !Array.isArray(value) ? value : {});

/** What a write changed: each top-level field of its target whose value differs before and
 *  after it (`{key, before, after}`, each value as `shown`). A creation has nothing before, a
 *  deletion nothing after. */
export function changes(before, after) {
  const was = objectOr(before);
  const now = objectOr(after);
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])];
  return keys
    .filter((key) => canonical(was[key]) !== canonical(now[key]))
    .map((key) => ({key, before: shown(was[key]), after: shown(now[key])}));
}

/** The audit log, newest first, filtered by who wrote, what, and when; each record with what it
 *  changed, and "More" reading further back. */
export async function audit(params) {
  admins();
  const [staff, first] = await Promise.all([staffList(), listed(auditPath(params))]);
  const emails = new Map(staff.map((member) => [member.user_id, member.email]));
  const form = filterForm(params, staff);
  const page = [h('h1', {}, 'Audit log'), tabs('audit'), form];
  if (first instanceof ApiError) {
    showProblem(form, first);
    return page;
  }
  const list = table(
    ['When', 'Who', 'What', 'Changes'],
    first.records.map((r) => recordRow(r, emails)),
  );
  list.classList.add('audit');
  const rows = list.tBodies[0];
  const more = moreButton({
    next: first.next,
    read: async (path) => {
      const answer = await listed(path);
      if (answer instanceof ApiError) throw answer;
      return {items: answer.records, next: answer.next};
    },
    add: (records) => rows.append(...records.map((r) => recordRow(r, emails))),
    noun: ['record', 'records'],
  });
  if (!first.records.length && !first.next) return [...page, h('p', {}, 'No records match.')];
  return [
    ...page,
    !first.records.length && h('p', {}, 'None among the latest records: More reads further back.'),
    h('div', {class: 'overflow-auto'}, list),
    more,
  ];
}

/** A page of the audit log at `path`: its records and the next page's path; or the API's
 *  refusal of a filter (422), for the form to show at its field. */
async function listed(path) {
  try {
    const answer = await call('GET', path, {fresh: true});
    return {records: answer.body, next: nextPage(answer.headers, path)};
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) return error;
    throw error;
  }
}

/** The audit log's filters, as the view's address names them; an actor is typed as a member of
 *  staff's email (or any account's) or a user id, and sent as the id. */
function filterForm(params, staff) {
  const actor = params.get('actor') ?? '';
  const known = staff.find((member) => member.user_id === actor);
  return onSubmit(
    h(
      'form',
      {'aria-label': 'Filter the audit log'},
      h(
        'div',
        {class: 'grid'},
        field(
          'Who',
          {name: 'actor', value: known?.email ?? actor, list: 'staff-emails', autocomplete: 'off', maxlength: 254},
          'A member of staff’s email, or a user ID.',
        ),
        field('Target', {name: 'target', value: params.get('target') ?? '', maxlength: 500}, 'A path, or its start.'),
      ),
      h(
        'datalist',
        {id: 'staff-emails'},
        staff.map((member) => h('option', {value: member.email})),
      ),
      h(
        'div',
        {class: 'grid'},
        field('From', {name: 'from', type: 'date', value: params.get('from') ?? ''}, 'A day in UTC.'),
        field('To', {name: 'to', type: 'date', value: params.get('to') ?? ''}, 'A day in UTC, included.'),
        h('div', {class: 'field submit'}, h('button', {type: 'submit'}, 'Filter')),
      ),
      [...params.keys()].length > 0 && h('p', {}, h('a', {href: '#/admin/audit'}, 'Show every record')),
    ),
    async (values) => {
      const query = new URLSearchParams();
      for (const name of ['actor', 'target', 'from', 'to']) if (values[name]) query.set(name, values[name]);
      if (values.actor.includes('@')) {
        const member = staff.find((m) => m.email.toLowerCase() === values.actor.toLowerCase());
        query.set('actor', member?.user_id ?? (await accountId(values.actor)));
      }
      const search = query.toString();
      go(`admin/audit${search ? `?${search}` : ''}`);
    },
  );
}

/** One record: when, who (their email when they are staff now, else their id) with the roles
 *  they held, what (the method and the path written), and what it changed; what a creation
 *  made or a deletion took away is folded under its word. */
function recordRow(record, emails) {
  const changed = changes(record.before, record.after);
  const list =
    changed.length > 0 &&
    h(
      'ul',
      {class: 'changes'},
      changed.map((c) => h('li', {}, h('code', {}, c.key), `: ${c.before} → ${c.after}`)),
    );
  const created = record.before == null && record.after != null;
  const what = created ? 'Created' : record.after == null && record.before != null ? 'Deleted' : null;
  return h(
    'tr',
    {'data-record': record.id},
    h('td', {}, h('time', {datetime: record.at}, date(record.at))),
    h(
      'td',
      {},
      emails.get(record.actor) ?? h('code', {}, record.actor),
      record.roles?.length ? ` (${record.roles.join(', ')})` : '',
    ),
    h('td', {}, `${record.method} `, h('code', {}, record.target)),
    h('td', {}, what ? h('details', {}, h('summary', {}, what), list) : list || 'No change shown.'),
  );
}
