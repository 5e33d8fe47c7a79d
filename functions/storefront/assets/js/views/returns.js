// Returns: a shopper sends back units of a delivered order from its page (a guest's too), and
// the back office follows them: support approves them with instructions or refuses them,
// fulfilment receives the goods (back to stock or not), and the refund follows in the
// background. The Returns page lists them by status; each order's pages show its own.

import {h, field, money, date, onSubmit, announce, Refusal, variantName} from '../dom.js';
import {get, post, holds, listPage} from '../api.js';
import {go, redraw} from '../nav.js';
import {staffOnly, tabs} from './admin.js';

/** Why goods go back, as the API names each reason and the pages word it. */
export const REASONS = {
  damaged: 'Arrived damaged',
  defective: 'Does not work',
  wrong_item: 'Wrong item sent',
  not_as_described: 'Not as described',
  no_longer_needed: 'No longer needed',
  other: 'Another reason',
};

/** Where a return stands, in words, by its status; in the order of its steps (refused last). */
export const STATUS_WORDS = {
  requested: 'Requested: waiting for the shop’s answer',
  approved: 'Approved: waiting for the goods',
  received: 'Received: the refund is on its way',
  refunded: 'Refunded',
  refused: 'Refused',
};

/** How many returns a page of the back office's list shows. */
const PAGE = 20;

/** A return's status in words (the status itself for one the page does not know). */
export function statusWords(status) {
  return STATUS_WORDS[status] ?? status;
}

/** The units of each variant an order's returns hold, by variant id: what arrived for a received
 *  or refunded return, what was asked for before, none for a refused one. */
export function returnedUnits(returns) {
  const units = new Map();
  for (const r of returns ?? []) {
    if (r.status === 'refused') continue;
    const lines = r.status === 'received' || r.status === 'refunded' ? (r.received ?? []) : r.lines;
    for (const line of lines) units.set(line.variant_id, (units.get(line.variant_id) ?? 0) + line.quantity);
  }
  return units;
}

/** What of an order can go back: one row per variant it bought, `{variant_id, name, bought,
 *  most}`, `most` the units bought that no return holds. */
export function returnable(order) {
  const held = returnedUnits(order.returns);
  const rows = new Map();
  for (const line of order.lines) {
    const row = rows.get(line.variant_id);
    if (row) row.bought += line.quantity;
    else
      rows.set(line.variant_id, {
        variant_id: line.variant_id,
        name: variantName(line.name, line.options),
        bought: line.quantity,
      });
  }
  return [...rows.values()].map((row) => ({...row, most: Math.max(0, row.bought - (held.get(row.variant_id) ?? 0))}));
}

/** A whole number of units typed in a field ('' is none), or a refusal naming `what`. */
function units(text, most, what) {
  const n = Number(text || 0);
  if (!Number.isInteger(n) || n < 0 || n > most) throw new Refusal(`Choose from 0 to ${most} units of ${what}.`);
  return n;
}

/** The return the shopper's form asks for (`values` as `fields` reads them, for the `rows` of
 *  `returnable`): each row's units (`quantity-<i>`) and reason (`reason-<i>`), the rows with
 *  none left out, and the comment when there is one. */
export function returnBody(values, rows) {
  const lines = [];
  rows.forEach((row, i) => {
    const quantity = units(values[`quantity-${i}`], row.most, row.name);
    if (quantity === 0) return;
    const reason = values[`reason-${i}`];
    if (!REASONS[reason]) throw new Refusal(`Say why you return ${row.name}.`);
    lines.push({variant_id: row.variant_id, quantity, reason});
  });
  if (lines.length === 0) throw new Refusal('Choose at least one unit to return.');
  return values.comment ? {lines, comment: values.comment} : {lines};
}

/** What arrived of a return (its `lines`), as fulfilment's form says it: each line's units
 *  (`arrived-<i>`) and whether they go back to stock (`restock-<i>`); lines with none left out. */
export function receivedBody(values, lines, names = new Map()) {
  const received = [];
  lines.forEach((line, i) => {
    const quantity = units(values[`arrived-${i}`], line.quantity, names.get(line.variant_id) ?? line.variant_id);
    if (quantity > 0) received.push({variant_id: line.variant_id, quantity, restock: Boolean(values[`restock-${i}`])});
  });
  if (received.length === 0) throw new Refusal('Say how many units arrived.');
  return {lines: received};
}

/** The names of an order's variants ("Mug — Blue"), by variant id. */
export function lineNames(order) {
  return new Map((order?.lines ?? []).map((line) => [line.variant_id, variantName(line.name, line.options)]));
}

/** What a shopper can do and see of returns on an order's page: for a delivered order with units
 *  left to send back, the form that asks to return them; then the order's returns. */
export function shopperReturns(order) {
  return [returnForm(order), returnsList(order)];
}

function returnForm(order) {
  if (order.status !== 'DELIVERED') return null;
  const rows = returnable(order);
  if (!rows.some((row) => row.most > 0)) return null;
  const form = onSubmit(
    h(
      'form',
      {'aria-label': 'Return items', 'aria-describedby': 'return-hint'},
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Product', 'Can go back', 'Units to return', 'Reason'].map((t) => h('th', {scope: 'col'}, t)),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((row, i) =>
            h(
              'tr',
              {'data-variant': row.variant_id},
              h('th', {scope: 'row'}, row.name),
              h('td', {}, String(row.most)),
              h(
                'td',
                {},
                row.most > 0 &&
                  h('input', {
                    type: 'number',
                    id: `return-quantity-${i}`,
                    name: `quantity-${i}`,
                    'aria-label': `Units of ${row.name} to return`,
                    min: 0,
                    max: row.most,
                    value: 0,
                  }),
              ),
              h(
                'td',
                {},
                row.most > 0 &&
                  h(
                    'select',
                    {id: `return-reason-${i}`, name: `reason-${i}`, 'aria-label': `Why ${row.name} goes back`},
                    h('option', {value: ''}, 'Choose a reason'),
                    Object.entries(REASONS).map(([value, words]) => h('option', {value}, words)),
                  ),
              ),
            ),
          ),
        ),
      ),
      h(
        'label',
        {for: 'f-comment'},
        'Comment (optional)',
        h('textarea', {id: 'f-comment', name: 'comment', maxlength: 200, rows: 2}),
      ),
      h('button', {type: 'submit'}, 'Ask to return'),
    ),
    async (values) => {
      await post(`/api/orders/${encodeURIComponent(order.id)}/returns`, returnBody(values, rows));
      announce('Return requested');
      await redraw();
    },
  );
  return [
    h('h2', {}, 'Return items'),
    h(
      'p',
      {id: 'return-hint'},
      'Choose how many units of each you send back, and why. The shop answers with how to send them; ' +
        'the money comes back once they arrive.',
    ),
    form,
  ];
}

/** An order's returns, oldest first, each with where it stands; in the back office with what the
 *  signed-in person's roles let them do to each. Nothing for an order with none. */
export function returnsList(order, {backOffice = false} = {}) {
  const returns = order.returns ?? [];
  if (returns.length === 0) return null;
  const names = lineNames(order);
  return [
    h('h2', {}, backOffice ? 'Returns' : 'Your returns'),
    returns.map((r) =>
      returnCard(r, names, {
        level: 'h3',
        title: `Return asked ${date(r.created_at)}`,
        actions: backOffice && returnActions(order.id, r, names),
      }),
    ),
  ];
}

/** One return: where it stands, its lines and why each goes back, the shopper's comment, the
 *  instructions or the refusal, what arrived and what was paid back; `actions` below. */
function returnCard(r, names, {level, title, actions}) {
  const name = (id) => names.get(id) ?? id;
  const headingId = `return-${r.id}`;
  return h(
    'article',
    {class: 'return', 'data-return': r.id, 'aria-labelledby': headingId},
    h(level, {id: headingId}, title),
    h(
      'p',
      {},
      'Status: ',
      h('strong', {class: 'return-status', 'data-status': r.status}, statusWords(r.status)),
      r.refunded && [' · ', h('span', {class: 'refunded'}, `${money(r.refunded)} paid back`)],
    ),
    h(
      'ul',
      {class: 'return-lines'},
      r.lines.map((line) =>
        h('li', {}, `${line.quantity} × ${name(line.variant_id)}: ${REASONS[line.reason] ?? line.reason}`),
      ),
    ),
    r.comment && h('p', {}, 'Comment: ', h('q', {}, r.comment)),
    r.instructions && [
      h('p', {}, h('strong', {}, 'How to send the goods back:')),
      h('p', {class: 'instructions'}, r.instructions),
    ],
    r.refusal && h('p', {}, h('strong', {}, 'Why it was refused: '), r.refusal),
    r.received?.length > 0 &&
      h(
        'p',
        {},
        'Arrived: ',
        r.received
          .map(
            (line) => `${line.quantity} × ${name(line.variant_id)} (${line.restock ? 'back to stock' : 'written off'})`,
          )
          .join('; '),
      ),
    actions,
  );
}

/** What the signed-in person may do to a return now: support approves (with instructions) or
 *  refuses (with a reason) one not yet received; fulfilment receives an approved one. Each step
 *  draws the page again. */
function returnActions(orderId, r, names) {
  const path = `/api/orders/${encodeURIComponent(orderId)}/returns/${encodeURIComponent(r.id)}`;
  const step = (label, fields, body, word) =>
    onSubmit(
      h(
        'form',
        {class: 'return-step', 'aria-label': `${label} return ${r.id}`},
        fields,
        h('button', {type: 'submit'}, label),
      ),
      async (values) => {
        await post(`${path}/${label.toLowerCase()}`, body(values));
        announce(`Return ${word}`);
        await redraw();
      },
    );
  const answers = holds('support') && (r.status === 'requested' || r.status === 'approved');
  const receives = holds('fulfilment') && r.status === 'approved';
  if (!answers && !receives) return null;
  return h(
    'div',
    {class: 'grid'},
    answers &&
      r.status === 'requested' &&
      step(
        'Approve',
        h(
          'label',
          {for: `instructions-${r.id}`},
          'Instructions for the shopper',
          h('textarea', {id: `instructions-${r.id}`, name: 'instructions', required: true, maxlength: 5000, rows: 3}),
        ),
        ({instructions}) => ({instructions}),
        'approved',
      ),
    receives &&
      step(
        'Receive',
        r.lines.map((line, i) => {
          const id = `${r.id}-${i}`;
          return h(
            'fieldset',
            {},
            h('legend', {}, names.get(line.variant_id) ?? line.variant_id),
            field(`Units arrived (of ${line.quantity})`, {
              id: `arrived-${id}`,
              name: `arrived-${i}`,
              type: 'number',
              min: 0,
              max: line.quantity,
              value: line.quantity,
              required: true,
            }),
            h('label', {}, h('input', {type: 'checkbox', name: `restock-${i}`, checked: true}), 'Back to stock'),
          );
        }),
        (values) => receivedBody(values, r.lines, names),
        'received',
      ),
    answers &&
      step(
        'Refuse',
        field('Why it is refused', {id: `refusal-${r.id}`, name: 'reason', required: true, maxlength: 200}),
        ({reason}) => ({reason}),
        'refused',
      ),
  );
}

/** The back office's returns in one status (`requested` unless the address names another),
 *  oldest first, each with its order's link and names, and what the person may do to it. */
export async function queue(params) {
  staffOnly('fulfilment', 'support');
  const chosen = STATUS_WORDS[params.get('status')] ? params.get('status') : 'requested';
  const {items, next} = await listPage(params, `/api/returns?status=${chosen}&limit=${PAGE}`, {fresh: true});
  // Each order is read once, for its lines' names; one that cannot be read shows variant ids.
  const ids = [...new Set(items.map((r) => r.order_id))];
  const orders = new Map(
    await Promise.all(
      ids.map((id) =>
        get(`/api/orders/${encodeURIComponent(id)}`).then(
          (o) => [id, o],
          () => [id, null],
        ),
      ),
    ),
  );
  return [
    h('h1', {}, 'Returns'),
    tabs('returns'),
    h(
      'label',
      {for: 'return-filter'},
      'Returns in status',
      h(
        'select',
        {id: 'return-filter', onchange: (e) => go(`admin/returns?status=${e.target.value}`)},
        Object.keys(STATUS_WORDS).map((s) => h('option', {value: s, selected: s === chosen}, statusWords(s))),
      ),
    ),
    items.length === 0
      ? h('p', {}, 'None.')
      : items.map((r) => {
          const names = lineNames(orders.get(r.order_id));
          const order = h('a', {href: `#/admin/orders/${encodeURIComponent(r.order_id)}`}, r.order_id);
          return returnCard(r, names, {
            level: 'h2',
            title: ['Order ', order, `, asked ${date(r.created_at)}`],
            actions: returnActions(r.order_id, r, names),
          });
        }),
    next && h('a', {href: `#/admin/returns?status=${chosen}&page=${encodeURIComponent(next)}`}, 'More'),
  ];
}
