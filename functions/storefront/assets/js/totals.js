// What a cart going somewhere, or an order, costs in all, what promotions take off it, and how
// it ships: as the cart, the checkout and an order's page word them. Whether prices include tax is the shop's setting, told by each
// answer's `totals.tax_included`; the pages never assume it.

import {h, money} from './dom.js';

/** How long a shipping option takes: "1 day", "2–4 days" (from its `min_days` and `max_days`). */
export function deliveryEstimate(minDays, maxDays) {
  if (maxDays === 0) return 'same day';
  if (minDays === maxDays) return `${maxDays} ${maxDays === 1 ? 'day' : 'days'}`;
  if (minDays === 0) return `up to ${maxDays} days`;
  return `${minDays}–${maxDays} days`;
}

/** What shipping costs: its price, or "Free". */
export function shippingPrice(price) {
  return price.amount === 0 ? 'Free' : money(price);
}

/** A shipping option as the checkout offers it: "Standard — €4.90, 2–4 days". */
export function shippingLabel(option) {
  return `${option.name} — ${shippingPrice(option.price)}, ${deliveryEstimate(option.min_days, option.max_days)}`;
}

/** The lines of `totals` as `[label, amount]` pairs, in the order they add up: the subtotal, a
 *  discount (when there is one), the shipping (named by its option, when one was chosen), the
 *  tax when it is added to the prices (when they include it, `taxNote` says so), the total. */
export function totalsLines(totals, shipping) {
  const lines = [['Subtotal', money(totals.subtotal)]];
  if (totals.discount.amount > 0) lines.push(['Discount', off(totals.discount)]);
  lines.push([shipping ? `Shipping (${shipping.name})` : 'Shipping', shippingPrice(totals.shipping)]);
  if (!totals.tax_included) lines.push(['Tax', money(totals.tax)]);
  lines.push(['Total', money(totals.total)]);
  return lines;
}

/** What the total says of the tax in it where prices include tax: "incl. €3.58 tax"; null where
 *  the tax is a line of its own, or there is none. */
export function taxNote(totals) {
  return totals.tax_included && totals.tax.amount > 0 ? `incl. ${money(totals.tax)} tax` : null;
}

/** `totals` as rows of a table: each line's label heads its row across `span` columns, its amount
 *  in the last; the total's row last, with its tax note. */
export function totalsRows(totals, shipping, span = 1) {
  const note = taxNote(totals);
  const lines = totalsLines(totals, shipping);
  return lines.map(([label, amount], i) => {
    const last = i === lines.length - 1;
    return h(
      'tr',
      {class: last ? 'grand-total' : null},
      h('th', {scope: 'row', colspan: span > 1 ? span : null}, label),
      h('td', {}, amount, last && note && h('small', {class: 'tax-note muted'}, note)),
    );
  });
}

/** An amount taken off: "−€1.25". */
export function off(amount) {
  return `−${money(amount)}`;
}

/** What promotions take off a cart's or an order's line (its `discount`), said under its
 *  total; nothing for a line they take nothing off. */
export function lineDiscount(line) {
  return line.discount?.amount > 0 ? h('small', {class: 'line-discount'}, `${off(line.discount)} discount`) : null;
}

/** The promotions a cart or an order gets, each named (with its code) and what it takes off:
 *  "Summer sale (SUMMER10): −€5.00"; nothing when there are none. */
export function promotionsList(promotions) {
  if (!promotions?.length) return null;
  return h(
    'ul',
    {class: 'promotions', 'aria-label': 'Promotions applied'},
    promotions.map((p) => h('li', {}, p.name, p.code && ` (${p.code})`, ': ', h('strong', {}, off(p.amount)))),
  );
}
