// Returns in the pages, in jsdom against a stand-in API: the units of an order that can still go
// back (what refused returns held is free again; a received return holds what arrived), the
// words of each status, the bodies the shopper's and fulfilment's forms send; the shopper's form
// on a delivered order (a guest's through their link too) and the returns listed under it; and
// the back office's Returns page, its filter and what each role may do to a return.

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {Refusal, money, show, useCurrencyDigits} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';
import {useLink} from '../../assets/js/guest.js';
import {drawWith} from '../../assets/js/nav.js';
import {
  REASONS,
  STATUS_WORDS,
  queue,
  receivedBody,
  returnBody,
  returnable,
  returnedUnits,
  statusWords,
} from '../../assets/js/views/returns.js';
import {detail} from '../../assets/js/views/orders.js';
import {order as backOfficeOrder} from '../../assets/js/views/admin.js';

useCurrencyDigits({EUR: 2});
const eur = (amount) => ({amount, currency: 'EUR'});
const line = (variant, name, quantity, options = {}) => ({
  product_id: `p-${variant}`,
  variant_id: variant,
  name,
  options,
  quantity,
  unit_price: eur(1500),
  line_total: eur(1500 * quantity),
});
const at = '2026-12-01T10:00:00Z';
const REFUSED = {
  id: 'r1',
  status: 'refused',
  lines: [{variant_id: 'v1', quantity: 2, reason: 'damaged'}],
  refusal: 'Not damaged in the photos',
  history: [],
  created_at: at,
};
const APPROVED = {
  id: 'r2',
  status: 'approved',
  lines: [{variant_id: 'v1', quantity: 1, reason: 'wrong_item'}],
  comment: 'Ordered blue',
  instructions: 'Send it to Returns,\n1 Dock Rd, Hamburg.',
  history: [],
  created_at: at,
};
const REFUNDED = {
  id: 'r3',
  status: 'refunded',
  lines: [{variant_id: 'v2', quantity: 2, reason: 'no_longer_needed'}],
  received: [{variant_id: 'v2', quantity: 1, restock: true}],
  refunded: eur(1500),
  history: [],
  created_at: at,
};
/** A delivered order of three blue mugs and two lamps, with a return of each kind above. */
const ORDER = {
  id: 'o1',
  user_id: 'u7',
  status: 'DELIVERED',
  lines: [line('v1', 'Mug', 3, {Colour: 'Blue'}), line('v2', 'Lamp', 2)],
  total: eur(7500),
  shipping_address: {name: 'Ada', line1: '1 Main St', postal_code: '10115', city: 'Berlin', country: 'DE'},
  history: [{status: 'DELIVERED', at}],
  returns: [REFUSED, APPROVED, REFUNDED],
  created_at: at,
};
const problem = (status, detail) => [status, {title: 'Conflict', status, detail}];

let order = ORDER;
const queued = [
  {...APPROVED, id: 'r2', order_id: 'o1'},
  {...APPROVED, id: 'r4', status: 'requested', instructions: undefined, order_id: 'o2'},
];
const calls = fakeApi({
  'GET /api/orders/o1': () => [200, order],
  'GET /api/orders/o2': () => problem(404, 'no such order'),
  'GET /api/orders/o3': () => [200, {...ORDER, id: 'o3', status: 'SHIPPED', returns: undefined}],
  'POST /api/orders/o1/returns': (body) => {
    const asked = {id: 'r9', status: 'requested', ...body, history: [], created_at: at};
    order = {...order, returns: [...order.returns, asked]};
    return [201, asked];
  },
  'GET /api/guest/orders/o5': () => [200, {...ORDER, id: 'o5'}],
  'POST /api/guest/orders/o5/returns': () =>
    problem(409, 'this order has 3 returns waiting already; wait for an answer'),
  'GET /api/returns?status=requested&limit=20': () => [200, [queued[1]]],
  'GET /api/returns?status=approved&limit=20': () => [
    200,
    [queued[0]],
    {link: '<?status=approved&limit=20&cursor=c2>; rel="next"'},
  ],
  'POST /api/orders/o2/returns/r4/approve': () => [200, {}],
  'POST /api/orders/o1/returns/r2/receive': () => problem(409, 'at most 1 unit(s) of variant v1 can be returned'),
  'POST /api/orders/o1/returns/r2/refuse': () => [200, {}],
});

function signInAs(groups) {
  const token = idToken({sub: 'u1', email: 'someone@shop.test', 'cognito:groups': groups});
  signedIn({id_token: token, access_token: 'access', refresh_token: 'refresh', expires_in: 3600});
}

const main = document.getElementById('main');
const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
const form = (label) => main.querySelector(`form[aria-label="${label}"]`);
let view = null;
drawWith(async () => show(main, await view()));
const draw = async (next) => {
  view = next;
  show(main, await view());
};

test('the units still returnable: bought, less what returns not refused hold (what arrived, once received)', () => {
  assert.deepEqual(
    [...returnedUnits(ORDER.returns)],
    [
      ['v1', 1],
      ['v2', 1],
    ],
  );
  assert.deepEqual(returnedUnits(undefined), new Map());
  assert.deepEqual(returnable(ORDER), [
    {variant_id: 'v1', name: 'Mug — Blue', bought: 3, most: 2},
    {variant_id: 'v2', name: 'Lamp', bought: 2, most: 1},
  ]);
  // Two lines of one variant are one row; a return never leaves less than none.
  const twice = {
    lines: [line('v1', 'Mug', 1), line('v1', 'Mug', 1)],
    returns: [{...APPROVED, lines: [{variant_id: 'v1', quantity: 3}]}],
  };
  assert.deepEqual(returnable(twice), [{variant_id: 'v1', name: 'Mug', bought: 2, most: 0}]);
});

test('each status and reason has its words', () => {
  assert.deepEqual(Object.keys(STATUS_WORDS), ['requested', 'approved', 'received', 'refunded', 'refused']);
  assert.equal(statusWords('approved'), 'Approved: waiting for the goods');
  assert.equal(statusWords('refunded'), 'Refunded');
  assert.equal(statusWords('lost'), 'lost');
  assert.deepEqual(Object.keys(REASONS), [
    'damaged',
    'defective',
    'wrong_item',
    'not_as_described',
    'no_longer_needed',
    'other',
  ]);
});

test("the shopper's form sends the lines with units, each with its reason, and the comment when there is one", () => {
  const rows = returnable(ORDER);
  assert.deepEqual(
    returnBody({'quantity-0': '2', 'reason-0': 'damaged', 'quantity-1': '0', 'reason-1': '', comment: ''}, rows),
    {
      lines: [{variant_id: 'v1', quantity: 2, reason: 'damaged'}],
    },
  );
  assert.deepEqual(
    returnBody({'quantity-0': '', 'quantity-1': '1', 'reason-1': 'other', comment: 'Too bright'}, rows),
    {lines: [{variant_id: 'v2', quantity: 1, reason: 'other'}], comment: 'Too bright'},
  );
  const refused = (values, message) => assert.throws(() => returnBody(values, rows), {name: 'Error', message});
  refused({'quantity-0': '0', 'quantity-1': '0'}, 'Choose at least one unit to return.');
  refused({'quantity-0': '1', 'reason-0': ''}, 'Say why you return Mug — Blue.');
  refused({'quantity-0': '3', 'reason-0': 'damaged'}, 'Choose from 0 to 2 units of Mug — Blue.');
  refused({'quantity-1': '0.5', 'reason-1': 'damaged'}, 'Choose from 0 to 1 units of Lamp.');
  assert.throws(() => returnBody({}, rows), Refusal);
});

test("fulfilment's form sends what arrived and whether it goes back to stock", () => {
  const lines = [
    {variant_id: 'v1', quantity: 2, reason: 'damaged'},
    {variant_id: 'v2', quantity: 1, reason: 'other'},
  ];
  assert.deepEqual(receivedBody({'arrived-0': '2', 'restock-0': true, 'arrived-1': '1', 'restock-1': false}, lines), {
    lines: [
      {variant_id: 'v1', quantity: 2, restock: true},
      {variant_id: 'v2', quantity: 1, restock: false},
    ],
  });
  assert.deepEqual(receivedBody({'arrived-0': '0', 'arrived-1': '1', 'restock-1': true}, lines), {
    lines: [{variant_id: 'v2', quantity: 1, restock: true}],
  });
  assert.throws(() => receivedBody({'arrived-0': '0', 'arrived-1': '0'}, lines), {
    message: 'Say how many units arrived.',
  });
  assert.throws(() => receivedBody({'arrived-0': '3'}, lines, new Map([['v1', 'Mug']])), {
    message: 'Choose from 0 to 2 units of Mug.',
  });
});

test("a delivered order's page asks what goes back and why, lists its returns, and shows the one asked for", async () => {
  signInAs([]);
  order = ORDER;
  await draw(() => detail('o1'));
  const returns = [...main.querySelectorAll('article.return')];
  assert.deepEqual(
    returns.map((r) => text(r.querySelector('.return-status'))),
    ['Refused', 'Approved: waiting for the goods', 'Refunded'],
  );
  assert.match(text(returns[0]), /2 × Mug — Blue: Arrived damaged.*Why it was refused: Not damaged in the photos/);
  assert.match(text(returns[1]), /Comment: Ordered blue.*How to send the goods back:\s?Send it to Returns/);
  assert.equal(returns[1].querySelector('.instructions').textContent, APPROVED.instructions);
  assert.match(text(returns[2]), new RegExp(`${money(eur(1500)).replace(/[.$]/g, '\\$&')} paid back`));
  assert.match(text(returns[2]), /Arrived: 1 × Lamp \(back to stock\)/);
  assert.equal(main.querySelector('article.return form'), null, 'the shopper has no staff steps');

  const asking = form('Return items');
  const quantity = asking.querySelector('#return-quantity-0');
  assert.deepEqual([quantity.min, quantity.max, quantity.value], ['0', '2', '0']);
  assert.equal(quantity.getAttribute('aria-label'), 'Units of Mug — Blue to return');
  assert.equal(asking.querySelector('#return-reason-0').getAttribute('aria-label'), 'Why Mug — Blue goes back');
  assert.equal(main.querySelector('label[for="f-comment"]').textContent, 'Comment (optional)');

  // Submitted without a reason: said at the form, and nothing sent.
  quantity.value = '1';
  asking.requestSubmit();
  await until(() => asking.querySelector('[role=alert]'));
  assert.equal(text(asking.querySelector('[role=alert]')), 'Say why you return Mug — Blue.');
  assert.equal(calls.filter((c) => c.method === 'POST').length, 0);

  asking.querySelector('#return-reason-0').value = 'damaged';
  asking.querySelector('#f-comment').value = '  chipped  ';
  asking.requestSubmit();
  await until(() => main.querySelectorAll('article.return').length === 4);
  assert.deepEqual(
    calls.findLast((c) => c.method === 'POST'),
    {
      method: 'POST',
      path: '/api/orders/o1/returns',
      body: {lines: [{variant_id: 'v1', quantity: 1, reason: 'damaged'}], comment: 'chipped'},
    },
  );
  assert.equal(text(main.querySelector('article.return:last-of-type .return-status')), STATUS_WORDS.requested);
  assert.equal(form('Return items').querySelector('#return-quantity-0').max, '1', 'one mug fewer to return');
});

test('an order not delivered has no return form; a guest asks through their link and hears the refusal', async () => {
  signInAs([]);
  await draw(() => detail('o3'));
  assert.equal(form('Return items'), null);
  assert.equal(main.querySelector('article.return'), null);

  sessionStorage.clear();
  useLink('o5', 'link.o5');
  await draw(() => detail('o5'));
  const asking = form('Return items');
  asking.querySelector('#return-quantity-1').value = '1';
  asking.querySelector('#return-reason-1').value = 'defective';
  asking.requestSubmit();
  await until(() => asking.querySelector('[role=alert]'));
  const sent = calls.at(-1);
  assert.equal(sent.path, '/api/guest/orders/o5/returns');
  assert.equal(sent.headers.get('guest-token'), 'link.o5');
  assert.equal(sent.headers.get('authorization'), null);
  assert.equal(
    text(asking.querySelector('[role=alert]')),
    'this order has 3 returns waiting already; wait for an answer',
  );
});

test("the back office's Returns page: the requested ones by default, support approves and refuses", async () => {
  signInAs(['support']);
  order = ORDER;
  await draw(() => queue(new URLSearchParams()));
  assert.equal(text(main.querySelector('h1')), 'Returns');
  assert.equal(main.querySelector('nav a[aria-current=page]').textContent, 'Returns');
  assert.equal(main.querySelector('#return-filter').value, 'requested');
  const card = main.querySelector('article[data-return="r4"]');
  assert.equal(card.querySelector('h2 a').getAttribute('href'), '#/admin/orders/o2');
  assert.match(text(card), /1 × v1: Wrong item sent/, 'an order that cannot be read shows variant ids');
  assert.ok(form('Refuse return r4'));
  assert.equal(form('Receive return r4'), null, 'support receives nothing');

  const approve = form('Approve return r4');
  approve.querySelector('textarea').value = 'Send it to Hamburg.';
  approve.requestSubmit();
  await until(() => calls.some((c) => c.path === '/api/orders/o2/returns/r4/approve'));
  assert.deepEqual(
    calls.findLast((c) => c.method === 'POST'),
    {
      method: 'POST',
      path: '/api/orders/o2/returns/r4/approve',
      body: {instructions: 'Send it to Hamburg.'},
    },
  );

  await draw(() => queue(new URLSearchParams('status=approved')));
  assert.equal(main.querySelector('#return-filter').value, 'approved');
  assert.match(text(main.querySelector('article[data-return="r2"]')), /1 × Mug — Blue: Wrong item sent/);
  assert.equal(form('Approve return r2'), null, 'approved once');
  assert.equal(form('Receive return r2'), null);
  assert.equal(
    [...main.querySelectorAll('a')].find((a) => text(a) === 'More').getAttribute('href'),
    `#/admin/returns?status=approved&page=${encodeURIComponent('/api/returns?status=approved&limit=20&cursor=c2')}`,
  );
  const refuse = form('Refuse return r2');
  refuse.querySelector('input').value = 'Worn';
  refuse.requestSubmit();
  await until(() => calls.some((c) => c.path === '/api/orders/o1/returns/r2/refuse'));
  assert.deepEqual(calls.find((c) => c.path === '/api/orders/o1/returns/r2/refuse').body, {reason: 'Worn'});
});

test('fulfilment receives an approved return, on the Returns page and the order’s; a refusal shows its detail there', async () => {
  signInAs(['fulfilment']);
  await draw(() => queue(new URLSearchParams('status=approved')));
  assert.equal(form('Refuse return r2'), null, 'fulfilment answers nothing');
  const receive = form('Receive return r2');
  const arrived = receive.querySelector('input[type=number]');
  assert.equal(text(receive.querySelector('legend')), 'Mug — Blue');
  assert.equal(text(receive.querySelector(`label[for="${arrived.id}"]`)), 'Units arrived (of 1)');
  assert.deepEqual([arrived.value, arrived.max], ['1', '1']);
  assert.equal(receive.querySelector('input[type=checkbox]').checked, true);
  receive.querySelector('input[type=checkbox]').checked = false;
  receive.requestSubmit();
  await until(() => receive.querySelector('[role=alert]'));
  assert.deepEqual(calls.at(-1).body, {lines: [{variant_id: 'v1', quantity: 1, restock: false}]});
  assert.equal(text(receive.querySelector('[role=alert]')), 'at most 1 unit(s) of variant v1 can be returned');

  await draw(() => backOfficeOrder('o1'));
  assert.ok([...main.querySelectorAll('h2')].some((h2) => text(h2) === 'Returns'));
  assert.ok(form('Receive return r2'));
  assert.equal(main.querySelectorAll('article.return').length, 3);
  assert.equal(form('Return items'), null, 'the back office asks for no return');
});
