// Partners' webhooks (admins only): the endpoints other systems (an ERP, a warehouse) hear of
// the shop's events at. Each is registered with the event types it wants and shown its signing
// secret that once; its own page changes it, disables or enables it, deletes it, and logs its
// deliveries, any of which can be sent again.

import {h, table, field, date, onSubmit, act, announce, moreButton, Refusal} from '../dom.js';
import {call, post, del, nextPage} from '../api.js';
import {go, redraw} from '../nav.js';
import {admins, tabs, versioned} from './admin.js';

/** The event types partners may hear of, as the API names them, by what they are about. */
export const EVENT_GROUPS = [
  {
    name: 'Orders',
    types: ['OrderPlaced', 'OrderPaid', 'OrderShipped', 'OrderDelivered', 'OrderCancelled', 'OrderRefunded'],
  },
  {name: 'Returns', types: ['ReturnRequested', 'ReturnApproved', 'ReturnRefused', 'ReturnReceived', 'ReturnRefunded']},
  {name: 'Catalogue', types: ['ProductCreated', 'ProductUpdated', 'ProductDeleted', 'StockChanged']},
];

export const EVENT_TYPES = EVENT_GROUPS.flatMap((group) => group.types);

/** How many deliveries a page of an endpoint's log shows. */
const PAGE = 20;

const CHANGED_MEANWHILE = 'Someone changed this endpoint meanwhile: reload the page and try again.';

/** `types` in their groups (`{name, types}`), each group's in its own order; a group none of
 *  them is in is left out, and a type the page does not know goes under "Other". */
export function grouped(types) {
  const known = EVENT_GROUPS.map(({name, types: all}) => ({name, types: all.filter((t) => types.includes(t))}));
  const other = {name: 'Other', types: types.filter((t) => !EVENT_TYPES.includes(t))};
  return [...known, other].filter((group) => group.types.length > 0);
}

/** What an endpoint's form sends (`values` as `fields` reads them, a box per event type): its
 *  URL, the types ticked (one at least), and its description when one is typed (an empty one is
 *  left out: a change keeps the one it had). */
export function endpointBody(values) {
  const events = EVENT_TYPES.filter((type) => values[type] === true);
  if (!events.length) throw new Refusal('Choose at least one event.');
  const body = {url: values.url, events};
  if (values.description) body.description = values.description;
  return body;
}

/** Where a delivery stands, in words: `{state, answer, next}`, `next` empty unless it waits for
 *  another attempt. */
export function deliveryWords(delivery) {
  const {state, attempts, last_status: status, last_error: error} = delivery;
  const words = {pending: attempts > 0 ? 'Pending (retrying)' : 'Pending', delivered: 'Delivered', failed: 'Failed'};
  return {
    state: words[state] ?? state,
    answer: status ? `HTTP ${status}` : (error ?? (attempts > 0 ? 'No answer' : 'Not tried yet')),
    next: state === 'pending' && delivery.next_attempt_at ? date(delivery.next_attempt_at) : '',
  };
}

/** Whether an endpoint hears of events, and why not when it was disabled. */
export function endpointState(endpoint) {
  if (endpoint.enabled) return 'Enabled';
  return endpoint.disabled_reason ? `Disabled: ${endpoint.disabled_reason}` : 'Disabled';
}

/** The secret of the endpoint just registered, while its page is shown: it leaves with it. */
let registered = null;
addEventListener('hashchange', () => {
  if (registered && location.hash !== registered.at) registered = null;
});

/** The endpoints, and the form that registers one. */
export async function list() {
  admins();
  const endpoints = (await call('GET', '/api/webhooks', {fresh: true})).body;
  return [
    h('h1', {}, 'Webhooks'),
    tabs('webhooks'),
    h(
      'p',
      {},
      'Other systems (an ERP, a warehouse) hear of the shop’s events at their endpoints: each event is posted as ' +
        'signed JSON, and tried again for a day while it fails.',
    ),
    endpoints.length === 0
      ? h('p', {}, 'No endpoint is registered.')
      : h(
          'div',
          {class: 'overflow-auto'},
          table(['Endpoint', 'Events', 'State', 'Last success'], endpoints.map(endpointRow)),
        ),
    h('h2', {}, 'Register an endpoint'),
    onSubmit(
      h(
        'form',
        {'aria-label': 'Register an endpoint'},
        endpointFields({}),
        h('button', {type: 'submit'}, 'Register endpoint'),
      ),
      async (values) => {
        const made = await post('/api/webhooks', endpointBody(values));
        const route = `admin/webhooks/${encodeURIComponent(made.id)}`;
        registered = {id: made.id, secret: made.secret, at: `#/${route}`};
        announce('Endpoint registered: copy its secret now');
        go(route);
      },
    ),
    howToVerify(),
  ];
}

function endpointRow(endpoint) {
  return h(
    'tr',
    {'data-endpoint': endpoint.id},
    h(
      'th',
      {scope: 'row', class: 'endpoint-url'},
      h('a', {href: `#/admin/webhooks/${encodeURIComponent(endpoint.id)}`}, endpoint.url),
      endpoint.description && h('small', {class: 'muted'}, endpoint.description),
    ),
    h(
      'td',
      {},
      grouped(endpoint.events).map((group) => h('div', {}, `${group.name}: ${group.types.join(', ')}`)),
    ),
    h('td', {}, endpointState(endpoint)),
    h('td', {}, endpoint.last_success_at ? date(endpoint.last_success_at) : 'Never'),
  );
}

/** An endpoint's fields: its URL, description, and event types in their groups. */
function endpointFields(endpoint) {
  const chosen = endpoint.events ?? [];
  return [
    field(
      'URL',
      {name: 'url', type: 'url', value: endpoint.url ?? '', required: true, maxlength: 2000, autocomplete: 'off'},
      'An https:// address of the partner’s (not a private network’s).',
    ),
    field(
      'Description',
      {name: 'description', value: endpoint.description ?? '', maxlength: 200},
      'Optional: whose it is, what it is for.',
    ),
    h(
      'fieldset',
      {id: 'events', class: 'events'},
      h('legend', {}, 'Events (one at least)'),
      EVENT_GROUPS.map((group) =>
        h(
          'fieldset',
          {},
          h('legend', {}, group.name),
          group.types.map((type) =>
            h('label', {}, h('input', {type: 'checkbox', name: type, checked: chosen.includes(type)}), type),
          ),
        ),
      ),
    ),
  ];
}

/** One endpoint: its secret when it was just registered, whether it hears of events, its
 *  settings, its deliveries, and its removal. */
export async function endpoint(id) {
  admins();
  const path = `/api/webhooks/${encodeURIComponent(id)}`;
  const [answer, first] = await Promise.all([
    call('GET', path, {fresh: true}),
    deliveries(`${path}/deliveries?limit=${PAGE}`),
  ]);
  const found = answer.body;
  const etag = answer.headers.get('etag');
  const secret = registered?.id === found.id ? registered.secret : null;
  const change = (body, done) =>
    act(async () => {
      await versioned('PUT', path, etag, body, CHANGED_MEANWHILE);
      announce(done);
      await redraw();
    });
  return [
    h('h1', {class: 'endpoint-url'}, found.description ?? found.url),
    tabs('webhooks'),
    secret && secretPanel(secret),
    h('p', {class: 'endpoint-url'}, 'Posts to ', h('code', {}, found.url)),
    h(
      'div',
      {class: 'actions'},
      h('p', {}, h('strong', {}, endpointState(found))),
      h(
        'p',
        {},
        'Last success: ',
        found.last_success_at ? h('time', {datetime: found.last_success_at}, date(found.last_success_at)) : 'never',
      ),
      found.enabled
        ? h('button', {type: 'button', class: 'secondary', onclick: change({enabled: false}, 'Disabled')}, 'Disable')
        : h('button', {type: 'button', onclick: change({enabled: true}, 'Enabled')}, 'Enable'),
    ),
    h('h2', {}, 'Deliveries'),
    deliveriesLog(path, first),
    h('h2', {}, 'Settings'),
    onSubmit(
      h('form', {'aria-label': 'Endpoint settings'}, endpointFields(found), h('button', {type: 'submit'}, 'Save')),
      async (values) => {
        await versioned('PUT', path, etag, endpointBody(values), CHANGED_MEANWHILE);
        announce('Saved');
        await redraw();
      },
    ),
    h('h2', {}, 'Delete'),
    onSubmit(
      h(
        'form',
        {'aria-label': 'Delete the endpoint'},
        h(
          'label',
          {},
          h('input', {type: 'checkbox', name: 'sure', required: true}),
          'Delete it: no more events are sent to it',
        ),
        h('button', {type: 'submit', class: 'contrast'}, 'Delete endpoint'),
      ),
      async () => {
        await del(path);
        announce('Endpoint deleted');
        go('admin/webhooks');
      },
    ),
    howToVerify(),
  ];
}

/** A page of deliveries at `path`, and the next page's path. */
async function deliveries(path) {
  const answer = await call('GET', path, {fresh: true});
  return {items: answer.body, next: nextPage(answer.headers, path)};
}

/** The secret of an endpoint just registered, to copy now: the API never shows it again. */
function secretPanel(secret) {
  const input = h('input', {id: 'secret', class: 'secret', readonly: true, value: secret});
  const copied = h('span', {class: 'ok'});
  return h(
    'article',
    {'aria-labelledby': 'secret-title'},
    h('h2', {id: 'secret-title'}, 'Signing secret'),
    h(
      'p',
      {},
      h('strong', {}, 'Copy it now: it is shown this once, and never again. '),
      'Give it to the partner: it checks each delivery’s signature with it.',
    ),
    h('label', {for: 'secret'}, 'Secret'),
    h(
      'div',
      {class: 'actions'},
      input,
      h(
        'button',
        {
          type: 'button',
          onclick: act(async () => {
            try {
              await navigator.clipboard.writeText(secret);
            } catch {
              input.select();
              throw new Refusal('The browser would not copy it: it is selected, copy it with Ctrl+C.');
            }
            copied.textContent = 'Copied.';
            announce('Secret copied');
          }),
        },
        'Copy secret',
      ),
      copied,
    ),
  );
}

/** An endpoint's deliveries, newest first, each sent again at a click; "More" reads older ones. */
function deliveriesLog(path, first) {
  const refresh = h('button', {type: 'button', class: 'secondary outline', onclick: act(() => redraw())}, 'Refresh');
  const intro = h(
    'p',
    {},
    'Newest first. A failed delivery is tried again, less and less often, for about a day; Redeliver sends its ' +
      'event again within a minute.',
  );
  if (!first.items.length) return [h('p', {}, 'Nothing was sent yet.'), refresh];
  const row = (delivery) => deliveryRow(path, delivery);
  const list = table(
    ['When', 'Event', 'Event ID', 'State', 'Attempts', 'Last answer', 'Next attempt', 'Action'],
    first.items.map(row),
  );
  list.classList.add('deliveries');
  const more = moreButton({
    next: first.next,
    read: deliveries,
    add: (items) => list.tBodies[0].append(...items.map(row)),
    noun: ['delivery', 'deliveries'],
  });
  return [intro, h('div', {class: 'overflow-auto'}, list), h('div', {class: 'actions'}, more, refresh)];
}

function deliveryRow(path, delivery) {
  const words = deliveryWords(delivery);
  const redeliver = act(async () => {
    await post(`${path}/deliveries/${encodeURIComponent(delivery.id)}/redeliver`);
    announce('Sent again: it is attempted within a minute');
    await redraw();
  });
  return h(
    'tr',
    {'data-delivery': delivery.id, 'data-state': delivery.state},
    h('td', {}, h('time', {datetime: delivery.created_at}, date(delivery.created_at))),
    h('td', {}, delivery.event_type),
    h('td', {}, h('code', {}, delivery.event_id)),
    h('td', {}, words.state),
    h('td', {}, String(delivery.attempts)),
    h('td', {}, words.answer),
    h('td', {}, words.next && h('time', {datetime: delivery.next_attempt_at}, words.next)),
    h(
      'td',
      {},
      h(
        'button',
        {type: 'button', class: 'secondary outline', 'aria-label': `Redeliver ${delivery.id}`, onclick: redeliver},
        'Redeliver',
      ),
    ),
  );
}

const EXAMPLE = `// Node: true when the delivery is the shop's, signed within 5 minutes.
const crypto = require('node:crypto');

function verified(secret, header, rawBody) {
  const {t, v1 = ''} = Object.fromEntries(header.split(',').map((part) => part.split('=')));
  const expected = crypto.createHmac('sha256', secret).update(\`\${t}.\${rawBody}\`).digest('hex');
  return Math.abs(Date.now() / 1000 - Number(t)) <= 300 && v1.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(v1), Buffer.from(expected));
}`;

/** How a partner tells a delivery is the shop's. */
function howToVerify() {
  const code = (text) => h('code', {}, text);
  return h(
    'details',
    {class: 'verify'},
    h('summary', {}, 'How to verify a delivery'),
    h(
      'p',
      {},
      'Each delivery is a POST of JSON with ',
      code('Shop-Event'),
      ' (its type), ',
      code('Shop-Delivery'),
      ' (its id) and ',
      code('Shop-Signature: t=<unix seconds>,v1=<hex>'),
      ': the HMAC-SHA256 of ',
      code('<t>.<raw body>'),
      ' under the endpoint’s secret. Compare it in constant time, refuse a ',
      code('t'),
      ' more than 5 minutes away, and answer 2xx: anything else is tried again. An event may come twice: its ',
      code('id'),
      ' tells.',
    ),
    h('pre', {}, h('code', {}, EXAMPLE)),
  );
}
