// The page-building helpers of assets/js/dom.js, in jsdom.

import {until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  h,
  fill,
  table,
  nextLink,
  moreButton,
  highlighted,
  field,
  fields,
  money,
  fromPrice,
  optionText,
  variantName,
  minorUnits,
  majorUnits,
  useCurrencyDigits,
  announce,
} from '../../assets/js/dom.js';

test('h() puts text in as text, never as markup', () => {
  const hostile = '<img src=x onerror=alert(1)>';
  const element = h('p', {title: hostile}, hostile, ' and ', '<script>alert(2)</script>');
  assert.equal(element.children.length, 0);
  assert.equal(element.textContent, `${hostile} and <script>alert(2)</script>`);
  assert.equal(element.getAttribute('title'), hostile);
  assert.match(element.innerHTML, /^&lt;img src=x onerror=alert\(1\)&gt;/);
});

test('h() sets attributes, skips the absent ones, and listens for on<event>', () => {
  let clicks = 0;
  const button = h('button', {
    type: 'button',
    disabled: true,
    hidden: false,
    'aria-label': null,
    onclick: () => clicks++,
  });
  assert.equal(button.getAttribute('type'), 'button');
  assert.equal(button.getAttribute('disabled'), '');
  assert.equal(button.hasAttribute('hidden'), false);
  assert.equal(button.hasAttribute('aria-label'), false);
  assert.equal(button.hasAttribute('onclick'), false);
  button.disabled = false;
  button.click();
  assert.equal(clicks, 1);
  assert.equal(h('input', {value: 3, max: 0}).getAttribute('max'), '0');
});

test('h() takes nodes, strings, numbers and nested arrays as children, skipping null and false', () => {
  const list = h('ul', {}, [h('li', {}, 'one'), [null, h('li', {}, 'two'), false]], undefined, h('li', {}, 3));
  assert.deepEqual(
    [...list.children].map((li) => li.textContent),
    ['one', 'two', '3'],
  );
});

test('fill() replaces what an element shows', () => {
  const box = h('div', {}, h('p', {}, 'old'));
  fill(box, [h('h1', {}, 'New'), 'text']);
  assert.equal(box.innerHTML, '<h1>New</h1>text');
  fill(box, null);
  assert.equal(box.childNodes.length, 0);
});

test('table() heads its columns and keeps rows and footer in their sections', () => {
  const made = table(
    ['Name', 'Price'],
    [h('tr', {}, h('td', {}, 'Lamp'), h('td', {}, '9'))],
    h('tr', {}, h('td', {}, 'Total')),
  );
  assert.deepEqual(
    [...made.querySelectorAll('thead th')].map((th) => [th.textContent, th.getAttribute('scope')]),
    [
      ['Name', 'col'],
      ['Price', 'col'],
    ],
  );
  assert.equal(made.querySelector('tbody').textContent, 'Lamp9');
  assert.equal(made.querySelector('tfoot').textContent, 'Total');
  assert.equal(table(['A'], []).querySelector('tfoot'), null);
});

test("nextLink() leads to the list's next page through the view's route, or is nothing", () => {
  const link = nextLink('orders', '/api/orders?cursor=a&b', 'Older');
  assert.equal(link.getAttribute('href'), '#/orders?page=%2Fapi%2Forders%3Fcursor%3Da%26b');
  assert.equal(link.textContent, 'Older');
  assert.equal(nextLink('orders', null, 'Older'), null);
});

test('moreButton() reads the following pages one per click into the list, says how many came, and hides after the last', async () => {
  const pages = {
    '/api/things?cursor=2': {items: ['b', 'c'], next: '/api/things?cursor=3'},
    '/api/things?cursor=3': {items: ['d'], next: null},
  };
  const read = [];
  const added = [];
  const more = moreButton({
    next: '/api/things?cursor=2',
    read: async (path) => {
      read.push(path);
      return pages[path];
    },
    add: (items) => added.push(...items),
    noun: ['thing', 'things'],
  });
  document.body.append(more);
  const status = document.getElementById('status');
  const done = () => added.length && !more.hasAttribute('aria-busy');
  assert.equal(more.textContent, 'More');
  assert.equal(more.getAttribute('type'), 'button');
  assert.equal(more.hidden, false);

  more.click();
  await until(done, 'the first page read');
  assert.deepEqual(added, ['b', 'c']);
  assert.equal(more.hidden, false);
  await until(() => status.textContent === '2 more things', 'announced');

  more.click();
  await until(() => added.length === 3 && !more.hasAttribute('aria-busy'), 'the last page read');
  assert.deepEqual(read, ['/api/things?cursor=2', '/api/things?cursor=3']);
  assert.deepEqual(added, ['b', 'c', 'd']);
  assert.equal(more.hidden, true, 'the last page has no more');
  await until(() => status.textContent === '1 more thing', 'announced');
  more.remove();

  const alone = moreButton({next: null, read: () => assert.fail('nothing to read'), add() {}, noun: ['x', 'xs']});
  assert.equal(alone.hidden, true, 'no button for a list of one page');
});

test('highlighted() honours the API’s <em> marks only, and reads its escapes as text', () => {
  const box = fill(h('p'), highlighted('<em>Brass</em> lamp &lt;b&gt;&amp;&quot;&#39; <strong>bold</strong> <em>x'));
  assert.deepEqual(
    [...box.querySelectorAll('mark')].map((m) => m.textContent),
    ['Brass', 'x'],
  );
  assert.equal(box.querySelector('b, strong'), null);
  assert.equal(box.textContent, 'Brass lamp <b>&"\' <strong>bold</strong> x');
});

test('field() labels its input and describes it by its hint', () => {
  const made = field('Email', {name: 'email', type: 'email', required: true}, 'We write to it.');
  const input = made.querySelector('input');
  assert.equal(input.id, 'f-email');
  assert.equal(made.querySelector('label').getAttribute('for'), 'f-email');
  assert.equal(input.required, true);
  assert.equal(input.getAttribute('aria-describedby'), 'f-email-hint');
  assert.equal(made.querySelector('#f-email-hint').textContent, 'We write to it.');
  assert.equal(field('Code', {name: 'code', id: 'c'}).querySelector('input').hasAttribute('aria-describedby'), false);
});

test("fields() reads a form's named fields, trimmed, checkboxes as booleans, and a radio group's checked value", () => {
  const form = h(
    'form',
    {},
    h('input', {name: 'name', value: '  Ada  '}),
    h('input', {type: 'checkbox', name: 'sms', checked: true}),
    h('input', {type: 'checkbox', name: 'email'}),
    h('textarea', {name: 'about'}, ' notes '),
    h('input', {type: 'radio', name: 'speed', value: 'slow'}),
    h('input', {type: 'radio', name: 'speed', value: 'fast', checked: true}),
    h('input', {type: 'radio', name: 'speed', value: 'faster'}),
    h('input', {type: 'radio', name: 'none', value: 'unchosen'}),
    h('input', {value: 'no name'}),
    h('button', {type: 'submit'}, 'Save'),
  );
  assert.deepEqual(fields(form), {name: 'Ada', sms: true, email: false, about: 'notes', speed: 'fast'});
});

test("money is written and read with the digits the API gives a currency, not the browser's", () => {
  // Browsers' tables (CLDR) write HUF without minor units and IQD with none; ISO 4217, and so
  // the API, counts 2 and 3.
  useCurrencyDigits({EUR: 2, HUF: 2, IQD: 3, JPY: 0});
  assert.match(money({amount: 1999, currency: 'HUF'}), /\b19[.,]99\b/);
  assert.match(money({amount: 12345, currency: 'IQD'}), /\b12[.,]345\b/);
  assert.match(money({amount: 500, currency: 'JPY'}), /500/);
  assert.doesNotMatch(money({amount: 500, currency: 'JPY'}), /[.,]\d/);
  assert.match(money({amount: 1250, currency: 'EUR'}), /\b12[.,]50\b/);
  assert.equal(money(null), '');
  assert.equal(minorUnits('19.99', 'HUF'), 1999);
  assert.equal(minorUnits('12,5', 'EUR'), 1250);
  assert.equal(minorUnits('1.234', 'IQD'), 1234);
  assert.equal(minorUnits('500', 'JPY'), 500);
  assert.ok(Number.isNaN(minorUnits('twelve', 'EUR')));
  assert.equal(majorUnits({amount: 1250, currency: 'EUR'}), '12.50');
  assert.equal(majorUnits({amount: 1999, currency: 'HUF'}), '19.99');
  assert.equal(majorUnits({amount: 500, currency: 'JPY'}), '500');
});

test('a currency the API did not name falls back to the browser’s digits', () => {
  useCurrencyDigits({});
  assert.equal(minorUnits('1.5', 'EUR'), 150);
  assert.equal(majorUnits({amount: 500, currency: 'JPY'}), '500');
});

test('announce() tells the status region, a moment later', async () => {
  const status = document.getElementById('status');
  status.textContent = 'before';
  announce('Saved');
  assert.equal(status.textContent, '');
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(status.textContent, 'Saved');
});

test("a variant's option values read in the order of the options' names, and a list's price is a \"from\" one when they differ", () => {
  useCurrencyDigits({EUR: 2});
  assert.equal(optionText({Size: 'M', Colour: 'Black'}), 'Black / M');
  assert.equal(optionText({}), '');
  assert.equal(variantName('Tee', {Size: 'M', Colour: 'Black'}), 'Tee — Black / M');
  assert.equal(variantName('Lamp', {}), 'Lamp');
  const eur = (amount) => ({amount, currency: 'EUR'});
  assert.equal(fromPrice({price: eur(1500), max_price: eur(1900)}), `from ${money(eur(1500))}`);
  assert.equal(fromPrice({price: eur(1500), max_price: eur(1500)}), money(eur(1500)));
});
