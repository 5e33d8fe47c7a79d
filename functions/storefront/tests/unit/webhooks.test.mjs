// Partners' webhooks in the back office, in jsdom against a stand-in API: the event types in
// their groups, the body an endpoint's form sends, a delivery's state in words, and the pages:
// the list with the form that registers an endpoint (its secret shown that once, the API's
// refusal at its field), and an endpoint's page (disabling it, its deliveries sent again, older
// ones read with "More", its deletion).

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';
import {drawWith} from '../../assets/js/nav.js';

const ENDPOINT = {
  id: 'e1',
  url: 'https://erp.example.com/hook',
  events: ['ProductCreated', 'OrderPaid'],
  description: 'The ERP',
  enabled: true,
  created_by: 'u1',
  created_at: '2026-12-01T10:00:00Z',
  version: 3,
};
const PAUSED = {
  ...ENDPOINT,
  id: 'e2',
  url: 'https://wms.example.com/in',
  description: undefined,
  events: ['StockChanged'],
  enabled: false,
  disabled_reason: 'every attempt failed for a day (delivery d9, last: answered 503)',
};
const delivery = (id, fields) => ({
  id,
  endpoint_id: 'e1',
  event_id: `ev-${id}`,
  event_type: 'ProductCreated',
  state: 'delivered',
  attempts: 1,
  last_status: 200,
  created_at: '2026-12-02T10:00:00Z',
  updated_at: '2026-12-02T10:00:00Z',
  ...fields,
});
const FAILED = delivery('d2', {state: 'pending', last_status: 500, next_attempt_at: '2026-12-02T10:01:00Z'});
let endpoint = ENDPOINT;
let registered = 0;

const calls = fakeApi({
  'GET /api/webhooks': () => [200, [ENDPOINT, PAUSED]],
  'POST /api/webhooks': (body) =>
    body.url.startsWith('https://')
      ? [201, {...ENDPOINT, id: `new${++registered}`, ...body, secret: 'whsec_abc123'}]
      : [
          422,
          {
            title: 'Unprocessable Entity',
            status: 422,
            detail: 'url must be an https:// URL',
            errors: [{field: 'url', message: 'must be an https:// URL'}],
          },
        ],
  'GET /api/webhooks/new1': () => [200, {...ENDPOINT, id: 'new1'}, {etag: '"1"'}],
  'GET /api/webhooks/new1/deliveries?limit=20': () => [200, []],
  'GET /api/webhooks/e1': () => [200, endpoint, {etag: `"${endpoint.version}"`}],
  'PUT /api/webhooks/e1': (body) => {
    endpoint = {...endpoint, ...body, version: endpoint.version + 1};
    return [200, endpoint];
  },
  'DELETE /api/webhooks/e1': () => [204, undefined, {'content-type': 'text/plain'}],
  'GET /api/webhooks/e1/deliveries?limit=20': () => [200, [FAILED], {link: '<?limit=20&cursor=c2>; rel="next"'}],
  'GET /api/webhooks/e1/deliveries?limit=20&cursor=c2': () => [200, [delivery('d1')]],
  'POST /api/webhooks/e1/deliveries/d2/redeliver': () =>
    endpoint.enabled
      ? [202, delivery('d3', {state: 'pending', attempts: 0, last_status: undefined})]
      : [
          422,
          {
            title: 'Unprocessable Entity',
            status: 422,
            detail: 'endpoint is disabled: enable it first',
            errors: [{field: 'endpoint', message: 'is disabled: enable it first'}],
          },
        ],
});

const token = idToken({sub: 'u1', email: 'admin@shop.test', 'cognito:groups': ['admin']});
signedIn({id_token: token, access_token: 'access', refresh_token: 'refresh', expires_in: 3600});
const webhooks = await import('../../assets/js/views/webhooks.js');

const main = document.getElementById('main');
const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const form = (label) => main.querySelector(`form[aria-label="${label}"]`);
const button = (label, scope = main) => [...scope.querySelectorAll('button')].find((b) => text(b) === label);
const cells = (row) => [...row.cells].map(text);
let view = null;
drawWith(async () => show(main, await view()));
/** Shows the view the address names, as the app's router would. */
async function visit(hash) {
  location.hash = hash;
  await new Promise((resolve) => setTimeout(resolve, 0));
  const id = hash.match(/^#\/admin\/webhooks\/(.+)$/)?.[1];
  view = () => (id ? webhooks.endpoint(decodeURIComponent(id)) : webhooks.list());
  show(main, await view());
}

test('the event types are grouped by orders, returns and the catalogue, in their order', () => {
  assert.deepEqual(
    webhooks.EVENT_GROUPS.map((g) => [g.name, g.types.length]),
    [
      ['Orders', 6],
      ['Returns', 5],
      ['Catalogue', 4],
    ],
  );
  assert.equal(new Set(webhooks.EVENT_TYPES).size, 15);
  assert.deepEqual(webhooks.grouped(['StockChanged', 'OrderPaid', 'ProductCreated', 'OrderPlaced']), [
    {name: 'Orders', types: ['OrderPlaced', 'OrderPaid']},
    {name: 'Catalogue', types: ['ProductCreated', 'StockChanged']},
  ]);
  assert.deepEqual(webhooks.grouped(['Teleported']), [{name: 'Other', types: ['Teleported']}]);
  assert.deepEqual(webhooks.grouped([]), []);
});

test('an endpoint’s body holds its URL, the types ticked, and its description only when typed', () => {
  const values = {url: 'https://erp.example.com/hook', description: '', OrderPaid: true, StockChanged: true};
  assert.deepEqual(webhooks.endpointBody({...values, ProductCreated: false}), {
    url: 'https://erp.example.com/hook',
    events: ['OrderPaid', 'StockChanged'],
  });
  assert.deepEqual(webhooks.endpointBody({...values, description: 'The ERP'}).description, 'The ERP');
  assert.throws(() => webhooks.endpointBody({url: 'https://x.example', OrderPaid: false}), /at least one event/);
});

test('a delivery’s state, last answer and next attempt are said in words', () => {
  const words = webhooks.deliveryWords;
  assert.deepEqual(words(delivery('d1')), {state: 'Delivered', answer: 'HTTP 200', next: ''});
  const retrying = words(FAILED);
  assert.equal(retrying.state, 'Pending (retrying)');
  assert.equal(retrying.answer, 'HTTP 500');
  assert.equal(retrying.next, new Date(FAILED.next_attempt_at).toLocaleString());
  const fresh = delivery('d3', {state: 'pending', attempts: 0, last_status: undefined, next_attempt_at: 'x'});
  assert.deepEqual([words(fresh).state, words(fresh).answer], ['Pending', 'Not tried yet']);
  const refused = delivery('d4', {state: 'failed', attempts: 7, last_status: undefined, last_error: 'timed out'});
  assert.deepEqual(words(refused), {state: 'Failed', answer: 'timed out', next: ''});
  assert.equal(webhooks.endpointState(ENDPOINT), 'Enabled');
  assert.equal(webhooks.endpointState(PAUSED), `Disabled: ${PAUSED.disabled_reason}`);
  assert.equal(webhooks.endpointState({enabled: false}), 'Disabled');
});

test('the list shows each endpoint with its events by group, its state, and a link to its page', async () => {
  await visit('#/admin/webhooks');
  assert.equal(text(main.querySelector('h1')), 'Webhooks');
  assert.equal(main.querySelector('nav[aria-label="Back office"] [aria-current=page]').textContent, 'Webhooks');
  const rows = [...main.querySelectorAll('tbody tr')];
  assert.deepEqual(cells(rows[0]), [
    'https://erp.example.com/hookThe ERP',
    'Orders: OrderPaidCatalogue: ProductCreated',
    'Enabled',
    'Never',
  ]);
  assert.equal(rows[0].querySelector('a').getAttribute('href'), '#/admin/webhooks/e1');
  assert.match(text(rows[1].cells[2]), /^Disabled: every attempt failed for a day/);
  const legends = [...form('Register an endpoint').querySelectorAll('legend')].map(text);
  assert.deepEqual(legends, ['Events (one at least)', 'Orders', 'Returns', 'Catalogue']);
  assert.equal(text(main.querySelector('details.verify summary')), 'How to verify a delivery');
});

test('registering refused by the API says why at the URL; registered, its secret is shown once', async () => {
  await visit('#/admin/webhooks');
  let register = form('Register an endpoint');
  register.elements.namedItem('url').value = 'http://10.0.0.1/hook';
  register.requestSubmit();
  await until(() => register.querySelector('[role=alert]'), 'nothing was ticked');
  assert.equal(text(register.querySelector('[role=alert]')), 'Choose at least one event.');
  assert.equal(calls.filter((c) => c.method === 'POST').length, 0, 'nothing was sent');

  register.elements.namedItem('ProductCreated').checked = true;
  register.requestSubmit();
  await until(() => register.querySelector('.field-error'), 'the refusal is shown');
  assert.equal(text(register.querySelector('#f-url-error')), 'must be an https:// URL');
  assert.equal(register.elements.namedItem('url').getAttribute('aria-invalid'), 'true');

  register.elements.namedItem('url').value = 'https://erp.example.com/hook';
  register.elements.namedItem('description').value = 'The ERP';
  register.requestSubmit();
  await until(() => location.hash === '#/admin/webhooks/new1', 'the new endpoint is shown');
  assert.deepEqual(calls.findLast((c) => c.method === 'POST').body, {
    url: 'https://erp.example.com/hook',
    events: ['ProductCreated'],
    description: 'The ERP',
  });
  await visit('#/admin/webhooks/new1');
  assert.equal(main.querySelector('#secret').value, 'whsec_abc123');
  assert.match(text(main.querySelector('[aria-labelledby=secret-title]')), /Copy it now: it is shown this once/);
  // Node has no clipboard: the secret is selected for the admin to copy.
  button('Copy secret').click();
  await until(() => main.querySelector('.action-problem'), 'the copy is refused');
  assert.match(text(main.querySelector('.action-problem')), /copy it with Ctrl\+C/);

  // Drawn again, it is still there; gone once the admin goes elsewhere.
  await visit('#/admin/webhooks/new1');
  assert.ok(main.querySelector('#secret'));
  await visit('#/admin/webhooks');
  await visit('#/admin/webhooks/new1');
  assert.equal(main.querySelector('#secret'), null);
});

test('an endpoint’s page logs its deliveries, sends one again, reads older ones, and disables it', async () => {
  endpoint = ENDPOINT;
  await visit('#/admin/webhooks/e1');
  assert.equal(text(main.querySelector('h1')), 'The ERP');
  const settings = form('Endpoint settings');
  assert.equal(settings.elements.namedItem('url').value, ENDPOINT.url);
  const ticked = [...settings.querySelectorAll('input[type=checkbox]:checked')].map((i) => i.name);
  assert.deepEqual(ticked, ['OrderPaid', 'ProductCreated']);

  const log = () => main.querySelector('table.deliveries');
  const row = log().querySelector('tr[data-delivery=d2]');
  assert.deepEqual(cells(row).slice(1, 7), [
    'ProductCreated',
    'ev-d2',
    'Pending (retrying)',
    '1',
    'HTTP 500',
    new Date(FAILED.next_attempt_at).toLocaleString(),
  ]);
  button('More').click();
  await until(() => log().querySelector('tr[data-delivery=d1]'), 'older deliveries are read');
  assert.equal(button('More').hidden, true);

  button('Redeliver', row).click();
  await until(() => log() && !log().querySelector('tr[data-delivery=d1]'), 'the page is drawn again');
  assert.equal(calls.findLast((c) => c.method === 'POST').path, '/api/webhooks/e1/deliveries/d2/redeliver');

  button('Disable').click();
  await until(() => button('Enable'), 'the endpoint is disabled');
  assert.deepEqual(
    calls.findLast((c) => c.method === 'PUT'),
    {
      method: 'PUT',
      path: '/api/webhooks/e1',
      body: {enabled: false},
      ifMatch: '"3"',
    },
  );
  assert.equal(text(main.querySelector('.actions strong')), 'Disabled');

  // Disabled, a delivery is not sent again: the API's word is shown at its button.
  const again = button('Redeliver', log().querySelector('tr[data-delivery=d2]'));
  again.click();
  await until(() => main.querySelector('.action-problem'), 'the refusal is shown');
  assert.match(text(main.querySelector('.action-problem')), /endpoint is disabled: enable it first/);
});

test('saving an endpoint sends its fields with its version; deleting it asks to be sure', async () => {
  endpoint = {...ENDPOINT, version: 7};
  await visit('#/admin/webhooks/e1');
  const settings = form('Endpoint settings');
  settings.elements.namedItem('StockChanged').checked = true;
  settings.elements.namedItem('description').value = '';
  settings.requestSubmit();
  await until(() => form('Endpoint settings') !== settings, 'the page is drawn again');
  assert.deepEqual(
    calls.findLast((c) => c.method === 'PUT'),
    {
      method: 'PUT',
      path: '/api/webhooks/e1',
      body: {url: ENDPOINT.url, events: ['OrderPaid', 'ProductCreated', 'StockChanged']},
      ifMatch: '"7"',
    },
  );

  const remove = form('Delete the endpoint');
  assert.equal(remove.elements.namedItem('sure').required, true);
  remove.elements.namedItem('sure').checked = true;
  remove.requestSubmit();
  await until(() => location.hash === '#/admin/webhooks', 'the list is shown');
  assert.equal(calls.at(-1).method, 'DELETE');
});
