// How shipping and totals are worded (assets/js/totals.js): a delivery estimate, a shipping
// option as the checkout offers it, the lines of a cart's or an order's totals, with the tax
// said as included or added as the shop's setting has it, and what promotions take off.

import './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {money, useCurrencyDigits} from '../../assets/js/dom.js';
import {
  deliveryEstimate,
  lineDiscount,
  off,
  promotionsList,
  shippingLabel,
  shippingPrice,
  taxNote,
  totalsLines,
  totalsRows,
} from '../../assets/js/totals.js';

useCurrencyDigits({EUR: 2, USD: 2});
const eur = (amount) => ({amount, currency: 'EUR'});
const usd = (amount) => ({amount, currency: 'USD'});
/** The demo's German cart: €12.50 by Express, 19 % VAT included. */
const INCLUDED = {
  subtotal: eur(1250),
  discount: eur(0),
  shipping: eur(990),
  tax: eur(358),
  total: eur(2240),
  tax_included: true,
};
const EXPRESS = {
  option_id: 'de-express',
  name: 'Express',
  min_days: 1,
  max_days: 1,
  price: eur(990),
  net: eur(832),
  tax: eur(158),
  rate: '19',
};
/** A cart in California: tax added to the prices, and $5 off. */
const ADDED = {
  subtotal: usd(4000),
  discount: usd(500),
  shipping: usd(700),
  tax: usd(363),
  total: usd(4563),
  tax_included: false,
};

test('a delivery estimate reads as days: one, a range, up to, or the same day', () => {
  assert.equal(deliveryEstimate(2, 4), '2–4 days');
  assert.equal(deliveryEstimate(1, 1), '1 day');
  assert.equal(deliveryEstimate(3, 3), '3 days');
  assert.equal(deliveryEstimate(0, 2), 'up to 2 days');
  assert.equal(deliveryEstimate(0, 0), 'same day');
});

test('a shipping option is offered with its name, its price (or "Free") and its estimate', () => {
  const standard = {id: 'de-standard', name: 'Standard', price: eur(490), min_days: 2, max_days: 4};
  assert.equal(shippingLabel(standard), `Standard — ${money(eur(490))}, 2–4 days`);
  assert.equal(shippingLabel({...standard, price: eur(0)}), 'Standard — Free, 2–4 days');
  assert.equal(shippingPrice(eur(0)), 'Free');
  assert.equal(shippingPrice(eur(990)), money(eur(990)));
});

test('totals with tax included: subtotal, the shipping named by its option, the total, and "incl." tax', () => {
  assert.deepEqual(totalsLines(INCLUDED, EXPRESS), [
    ['Subtotal', money(eur(1250))],
    ['Shipping (Express)', money(eur(990))],
    ['Total', money(eur(2240))],
  ]);
  assert.equal(taxNote(INCLUDED), `incl. ${money(eur(358))} tax`);
});

test('totals with tax added: the discount and the tax are lines of their own, and nothing says "incl."', () => {
  assert.deepEqual(totalsLines(ADDED, null), [
    ['Subtotal', money(usd(4000))],
    ['Discount', `−${money(usd(500))}`],
    ['Shipping', money(usd(700))],
    ['Tax', money(usd(363))],
    ['Total', money(usd(4563))],
  ]);
  assert.equal(taxNote(ADDED), null);
});

test('a shop without zones ships for nothing, and no tax is no tax note', () => {
  const free = {...INCLUDED, shipping: eur(0), tax: eur(0), total: eur(1250)};
  assert.deepEqual(totalsLines(free, null), [
    ['Subtotal', money(eur(1250))],
    ['Shipping', 'Free'],
    ['Total', money(eur(1250))],
  ]);
  assert.equal(taxNote(free), null);
});

test("totals as a table's rows: each labelled by its row heading, the total last with its tax note", () => {
  const rows = totalsRows(INCLUDED, EXPRESS, 3);
  assert.deepEqual(
    rows.map((row) => [...row.cells].map((cell) => cell.textContent)),
    [
      ['Subtotal', money(eur(1250))],
      ['Shipping (Express)', money(eur(990))],
      ['Total', `${money(eur(2240))}incl. ${money(eur(358))} tax`],
    ],
  );
  for (const row of rows) {
    assert.equal(row.cells[0].localName, 'th');
    assert.equal(row.cells[0].getAttribute('scope'), 'row');
    assert.equal(row.cells[0].getAttribute('colspan'), '3');
  }
  assert.equal(rows.at(-1).className, 'grand-total');
  assert.equal(rows.at(-1).querySelector('.tax-note').textContent, `incl. ${money(eur(358))} tax`);
  const alone = totalsRows(ADDED, null);
  assert.equal(alone[0].cells[0].hasAttribute('colspan'), false);
  assert.equal(alone.at(-1).querySelector('.tax-note'), null);
});

test("what promotions take off: a line's discount under its total, and the promotions by name and code", () => {
  assert.equal(off(eur(125)), `−${money(eur(125))}`);
  const note = lineDiscount({line_total: eur(1250), discount: eur(125)});
  assert.equal(note.className, 'line-discount');
  assert.equal(note.textContent, `−${money(eur(125))} discount`);
  assert.equal(lineDiscount({line_total: eur(1250), discount: null}), null);
  assert.equal(lineDiscount({line_total: eur(1250), discount: eur(0)}), null);
  assert.equal(lineDiscount({line_total: eur(1250)}), null, 'an order from before promotions');

  const list = promotionsList([
    {id: 'summer', name: 'Summer sale', code: 'SUMMER10', amount: eur(500)},
    {id: 'ship', name: 'Free shipping over €50', amount: eur(490)},
  ]);
  assert.equal(list.getAttribute('aria-label'), 'Promotions applied');
  assert.deepEqual(
    [...list.children].map((li) => li.textContent),
    [`Summer sale (SUMMER10): −${money(eur(500))}`, `Free shipping over €50: −${money(eur(490))}`],
  );
  assert.equal(promotionsList([]), null);
  assert.equal(promotionsList(undefined), null);
});
