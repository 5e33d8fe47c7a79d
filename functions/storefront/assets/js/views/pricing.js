// The back office's pricing settings (the `admin` group): tax (whether prices include it, and
// each country's or region's rate per class), the shipping zones with their options, and the
// promotions with their uses. Each is one document the API keeps versions of: every change
// names the version read (`If-Match`), one made meanwhile is refused (412) and said as such, and
// the page is drawn again from the API after each change.

import {h, table, field, money, majorUnits, date, onSubmit, act, announce, Refusal} from '../dom.js';
import {call} from '../api.js';
import {go, redraw} from '../nav.js';
import {deliveryEstimate, shippingPrice} from '../totals.js';
import {admins, tabs, versioned, priceOf} from './admin.js';

const meanwhile = (what) => `Someone changed the ${what} meanwhile: reload the page and save again.`;
const CLASSES = {standard: 'Standard', reduced: 'Reduced', zero: 'Zero'};
const RATE_TYPES = ['flat', 'weight', 'subtotal'];

/** Items typed separated by commas, each once: "DE, at,DE" is `['DE', 'AT']` (upper-cased). */
function listOf(text, upper = false) {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return [...new Set(upper ? items.map((item) => item.toUpperCase()) : items)];
}

/** Shipping and tax: the tax settings as a table of rates, and the shipping zones, each with
 *  its options, edited or deleted, and a form that adds one. */
export async function shipping() {
  admins();
  const [tax, zones] = await Promise.all([
    call('GET', '/api/tax-settings', {fresh: true}),
    call('GET', '/api/shipping-zones', {fresh: true}),
  ]);
  const etag = zones.headers.get('etag');
  return [
    h('h1', {}, 'Shipping & tax'),
    tabs('shipping'),
    h('h2', {}, 'Tax'),
    taxForm(tax.body, tax.headers.get('etag')),
    h('h2', {}, 'Shipping zones'),
    zones.body.zones.length
      ? zones.body.zones.map((zone) => zoneSection(zone, etag))
      : h('p', {}, 'No zones: the shop ships everywhere, for nothing, and a checkout names no option.'),
    h('h2', {}, 'Add a zone'),
    zoneForm(null, etag),
  ];
}

/** The tax settings: whether prices include tax, and a row for each rate, added and removed
 *  before the whole is saved. */
function taxForm(settings, etag) {
  const rates = table(['Country', 'Region', 'Class', 'Rate (%)', ''], []);
  rates.setAttribute('aria-label', 'Tax rates');
  rates.classList.add('rates');
  const rows = rates.tBodies[0];
  const add = () => {
    rows.append(rateRow({}));
    rows.lastElementChild.querySelector('input').focus();
  };
  const form = onSubmit(
    h(
      'form',
      {'aria-label': 'Tax settings'},
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          role: 'switch',
          name: 'prices_include_tax',
          checked: settings.prices_include_tax,
          'aria-describedby': 'tax-hint',
        }),
        'Prices include tax',
      ),
      h(
        'p',
        {id: 'tax-hint'},
        h(
          'small',
          {},
          'On: catalogue and shipping prices include tax (the EU way). Off: tax is added at checkout (the US way). ' +
            'A country without a rate taxes at zero; a region’s rate (a US state, say) replaces its country’s.',
        ),
      ),
      rates,
      h(
        'div',
        {class: 'actions'},
        h('button', {type: 'button', class: 'secondary', onclick: add}, 'Add rate'),
        h('button', {type: 'submit'}, 'Save tax settings'),
      ),
    ),
    async (values) => {
      const body = {prices_include_tax: values.prices_include_tax, rates: ratesOf(rows)};
      await versioned('PUT', '/api/tax-settings', etag, body, meanwhile('tax settings'));
      announce('Tax settings saved');
      await redraw();
    },
  );
  for (const rate of settings.rates) rows.append(rateRow(rate));
  return form;
}

let rateRows = 0;

/** A rate's row: its country, region (if any), class and percentage, and its removal. Its
 *  inputs' ids are its own (a refusal is said at the input it names). */
function rateRow(rate) {
  const k = ++rateRows;
  const input = (name, label, attributes) =>
    h('input', {id: `rate-${k}-${name}`, 'data-name': name, 'aria-label': label, ...attributes});
  const row = h(
    'tr',
    {},
    h('td', {}, input('country', 'Country', {value: rate.country ?? '', required: true, maxlength: 2})),
    h('td', {}, input('region', 'Region', {value: rate.region ?? '', maxlength: 3})),
    h(
      'td',
      {},
      h(
        'select',
        {id: `rate-${k}-class`, 'data-name': 'class', 'aria-label': 'Class'},
        Object.entries(CLASSES).map(([value, label]) =>
          h('option', {value, selected: value === (rate.class ?? 'standard')}, label),
        ),
      ),
    ),
    h('td', {}, input('rate', 'Rate (%)', {value: rate.rate ?? '', required: true, inputmode: 'decimal'})),
    h('td', {}, h('button', {type: 'button', class: 'secondary outline', onclick: () => row.remove()}, 'Remove')),
  );
  return row;
}

/** The rates the rows hold, as the API takes them (a row left empty is no rate). Each input is
 *  named as the API names it, so that its word shows at the input. */
function ratesOf(rows) {
  const rates = [];
  for (const row of rows.rows) {
    const inputs = Object.fromEntries([...row.querySelectorAll('[data-name]')].map((i) => [i.dataset.name, i]));
    const value = (name) => inputs[name].value.trim();
    if (!value('country') && !value('region') && !value('rate')) continue;
    for (const [name, input] of Object.entries(inputs)) input.name = `rates[${rates.length}].${name}`;
    const rate = {
      country: value('country').toUpperCase(),
      class: value('class'),
      rate: value('rate').replace(',', '.'),
    };
    if (value('region')) rate.region = value('region').toUpperCase();
    rates.push(rate);
  }
  return rates;
}

/** A zone as the page lists it: where it ships, each option's price and estimate, its edit and
 *  its removal. */
function zoneSection(zone, etag) {
  const headingId = `zone-${zone.id}`;
  const where = [...zone.countries, ...(zone.regions ?? [])].join(', ');
  return h(
    'section',
    {'aria-labelledby': headingId, class: 'zone'},
    h('h3', {id: headingId}, zone.name),
    h('p', {}, `${zone.id} · ships to ${where || 'nowhere'}`),
    table(
      ['Option', 'Price', 'Free from', 'Delivery', 'Tax class'],
      zone.options.map((option) =>
        h(
          'tr',
          {},
          h('th', {scope: 'row'}, `${option.name} (${option.id})`),
          h('td', {}, rateText(option.rate)),
          h('td', {}, option.free_above ? money(option.free_above) : '—'),
          h('td', {}, deliveryEstimate(option.min_days, option.max_days)),
          h('td', {}, CLASSES[option.tax_class ?? 'standard']),
        ),
      ),
    ),
    h('details', {}, h('summary', {}, `Edit ${zone.name}`), zoneForm(zone, etag)),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary outline',
        onclick: act(async () => {
          await versioned(
            'DELETE',
            `/api/shipping-zones/${encodeURIComponent(zone.id)}`,
            etag,
            undefined,
            meanwhile('shipping zones'),
          );
          announce(`${zone.name} deleted`);
          await redraw();
        }),
      },
      `Delete ${zone.name}`,
    ),
  );
}

/** What an option's rate charges: "€4.90", or its bands ("up to 1000 g: €9.90; …"). */
function rateText(rate) {
  if (rate.type === 'flat') return shippingPrice(rate.price);
  if (rate.type === 'weight') return rate.bands.map((b) => `up to ${b.up_to_grams} g: ${money(b.price)}`).join('; ');
  return rate.bands.map((b) => `from ${money(b.from)}: ${money(b.price)}`).join('; ');
}

const OPTIONS_EXAMPLE = JSON.stringify([
  {
    id: 'de-standard',
    name: 'Standard',
    min_days: 2,
    max_days: 4,
    tax_class: 'standard',
    rate: {type: 'flat', price: {amount: 490, currency: 'EUR'}},
    free_above: {amount: 5000, currency: 'EUR'},
  },
]);

/** The form of a zone (`zone`), or of a new one (null): its id (kept once made), name,
 *  countries and regions, and its options as JSON, checked before they are sent. */
function zoneForm(zone, etag) {
  const prefix = zone ? `edit-zone-${zone.id}` : 'new-zone';
  const hint = `${prefix}-options-hint`;
  return onSubmit(
    h(
      'form',
      {'aria-label': zone ? `Edit ${zone.name}` : 'Add a zone'},
      h(
        'div',
        {class: 'grid'},
        field(
          'ID',
          {name: 'id', id: `${prefix}-id`, value: zone?.id ?? '', required: true, maxlength: 40, readonly: !!zone},
          zone ? 'A zone keeps its ID.' : 'Lower-case letters, digits and -.',
        ),
        field('Name', {name: 'name', id: `${prefix}-name`, value: zone?.name ?? '', required: true, maxlength: 200}),
      ),
      h(
        'div',
        {class: 'grid'},
        field(
          'Countries',
          {name: 'countries', id: `${prefix}-countries`, value: zone?.countries.join(', ') ?? ''},
          'Two letters each, separated by commas: DE, AT.',
        ),
        field(
          'Regions',
          {name: 'regions', id: `${prefix}-regions`, value: zone?.regions?.join(', ') ?? ''},
          'Country and region, separated by commas: US-AK, US-HI. A region’s zone wins over its country’s.',
        ),
      ),
      h(
        'label',
        {for: `${prefix}-options`},
        'Shipping options (JSON)',
        h(
          'textarea',
          {
            id: `${prefix}-options`,
            name: 'options',
            class: 'json',
            rows: 10,
            spellcheck: 'false',
            'aria-describedby': hint,
          },
          JSON.stringify(zone?.options ?? [], null, 2),
        ),
      ),
      h(
        'small',
        {id: hint},
        'A JSON list of options; amounts in minor units (490 is 4.90). Each has an id, a name, min_days, ' +
          'max_days, a tax_class (standard, reduced or zero), an optional free_above, and a rate: ' +
          '{"type": "flat", "price"}, {"type": "weight", "bands": [{"up_to_grams", "price"}]} or ' +
          `{"type": "subtotal", "bands": [{"from", "price"}]}. Like ${OPTIONS_EXAMPLE}`,
      ),
      h('button', {type: 'submit'}, zone ? 'Save zone' : 'Add zone'),
    ),
    async (values) => {
      const body = {
        id: values.id,
        name: values.name,
        countries: listOf(values.countries, true),
        regions: listOf(values.regions, true),
        options: optionsOf(values.options),
      };
      await versioned(
        'PUT',
        `/api/shipping-zones/${encodeURIComponent(values.id)}`,
        etag,
        body,
        meanwhile('shipping zones'),
      );
      announce(`${values.name} saved`);
      await redraw();
    },
  );
}

/** A zone's options from the JSON typed: a list of objects, each with an id, a name and a rate
 *  of a known type (the API checks the rest, and says what it refuses). */
function optionsOf(text) {
  let options;
  try {
    options = JSON.parse(text || '[]');
  } catch (error) {
    throw new Refusal(`The shipping options are not JSON: ${error.message}`);
  }
  if (!Array.isArray(options)) throw new Refusal('The shipping options are a JSON list: [{…}, {…}].');
  options.forEach((option, i) => {
    const which = `Shipping option ${i + 1}`;
    if (!option || typeof option !== 'object' || Array.isArray(option)) throw new Refusal(`${which} is not an object.`);
    if (typeof option.id !== 'string' || typeof option.name !== 'string')
      throw new Refusal(`${which} needs an "id" and a "name".`);
    if (!RATE_TYPES.includes(option.rate?.type))
      throw new Refusal(`${which} needs a "rate" whose "type" is flat, weight or subtotal.`);
  });
  return options;
}

const DISCOUNTS = {percentage: 'A percentage off', fixed: 'An amount off', free_shipping: 'Free shipping'};
const TARGETS = {order: 'The whole order', products: 'Some products', categories: 'Some categories'};

/** The promotions: a table of them with their uses, each edited (`?edit=<id>` fills the form
 *  with it) or deleted, and the form that adds one or saves the one edited. */
export async function promotions(params) {
  admins();
  const answer = await call('GET', '/api/promotions', {fresh: true});
  const {promotions: all, uses} = answer.body;
  const etag = answer.headers.get('etag');
  const edited = all.find((p) => p.id === params?.get('edit')) ?? null;
  const remove = (promotion) =>
    act(async () => {
      await versioned(
        'DELETE',
        `/api/promotions/${encodeURIComponent(promotion.id)}`,
        etag,
        undefined,
        meanwhile('promotions'),
      );
      announce(`${promotion.name} deleted`);
      if (promotion === edited) go('admin/promotions');
      else await redraw();
    });
  return [
    h('h1', {}, 'Promotions'),
    tabs('promotions'),
    all.length === 0
      ? h('p', {}, 'No promotions yet.')
      : table(
          ['Promotion', 'Code', 'Discount', 'Applies to', 'When', 'Limits', 'Uses', 'Active', ''],
          all.map((p) =>
            h(
              'tr',
              {'data-promotion': p.id},
              h('th', {scope: 'row'}, p.name, h('small', {class: 'muted sku'}, p.id)),
              h('td', {}, p.code ?? 'none: automatic'),
              h('td', {}, discountText(p.discount)),
              h('td', {}, targetText(p)),
              h('td', {}, whenText(p)),
              h('td', {}, limitsText(p)),
              h('td', {class: 'uses'}, String(uses?.[p.id] ?? 0)),
              h('td', {}, p.active ? 'Yes' : 'No'),
              h(
                'td',
                {},
                h(
                  'div',
                  {class: 'actions'},
                  h('a', {href: `#/admin/promotions?edit=${encodeURIComponent(p.id)}`}, `Edit ${p.name}`),
                  h('button', {type: 'button', class: 'secondary outline', onclick: remove(p)}, `Delete ${p.name}`),
                ),
              ),
            ),
          ),
        ),
    h('h2', {id: 'promotion-form'}, edited ? `Edit ${edited.name}` : 'New promotion'),
    edited && h('p', {}, h('a', {href: '#/admin/promotions'}, 'Add a new promotion instead')),
    promotionForm(edited, etag),
  ];
}

function discountText(discount) {
  if (discount.type === 'percentage') return `${discount.percent} % off`;
  if (discount.type === 'fixed') return `${money(discount.amount)} off`;
  return 'Free shipping';
}

function targetText(promotion) {
  const to = promotion.applies_to;
  const what =
    to.type === 'products'
      ? `Products ${to.products.join(', ')}`
      : to.type === 'categories'
        ? `Categories ${to.categories.join(', ')}`
        : 'The whole order';
  return promotion.min_subtotal ? `${what}, from ${money(promotion.min_subtotal)}` : what;
}

function whenText(promotion) {
  const from = promotion.starts_at && `from ${date(promotion.starts_at)}`;
  const until = promotion.ends_at && `until ${date(promotion.ends_at)}`;
  return [from, until].filter(Boolean).join(' ') || 'Always';
}

function limitsText(promotion) {
  const limits = [
    promotion.usage_limit && `${promotion.usage_limit} in all`,
    promotion.per_customer_limit && `${promotion.per_customer_limit} per customer`,
  ];
  return limits.filter(Boolean).join(', ') || 'None';
}

/** An instant as a `datetime-local` input shows it, in the browser's time zone. */
function localTime(timestamp) {
  if (!timestamp) return '';
  const at = new Date(timestamp);
  return new Date(at.getTime() - at.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** The instant a `datetime-local` input names (in the browser's time zone), as RFC 3339. */
function instant(text) {
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new Refusal('Enter dates and times like 2026-12-01 10:00.');
  return at.toISOString();
}

/** The form of a promotion (`promotion`, or a new one: null). The fields of a discount's value
 *  and of what it applies to are those of the kinds chosen; each is named as the API names it,
 *  so that its word shows at the field. */
function promotionForm(promotion, etag) {
  const p = promotion ?? {discount: {type: 'percentage'}, applies_to: {type: 'order'}, active: true};
  const priced = p.discount.amount ?? p.min_subtotal;
  const select = (name, label, choices, chosen) =>
    h(
      'div',
      {class: 'field'},
      h('label', {for: `f-${name}`}, label),
      h(
        'select',
        {id: `f-${name}`, name},
        Object.entries(choices).map(([value, text]) => h('option', {value, selected: value === chosen}, text)),
      ),
    );
  const form = h(
    'form',
    {'aria-labelledby': 'promotion-form', onchange: () => shown()},
    h(
      'div',
      {class: 'grid'},
      field(
        'ID',
        {name: 'id', value: p.id ?? '', required: true, maxlength: 40, readonly: !!promotion},
        promotion ? 'A promotion keeps its ID.' : 'Lower-case letters, digits and -.',
      ),
      field('Name', {name: 'name', value: p.name ?? '', required: true, maxlength: 200}),
    ),
    field(
      'Code',
      {name: 'code', value: p.code ?? '', maxlength: 32, autocomplete: 'off', spellcheck: 'false'},
      '3 to 32 letters, digits, - or _, as shoppers type it. None: the promotion applies by itself to every order it fits.',
    ),
    h(
      'div',
      {class: 'grid'},
      select('discount_type', 'Discount', DISCOUNTS, p.discount.type),
      field('Percent', {name: 'percent', inputmode: 'decimal', value: p.discount.percent ?? ''}, 'Like 10 or 7.5.'),
      field(
        'Amount',
        {name: 'amount', inputmode: 'decimal', value: p.discount.amount ? majorUnits(p.discount.amount) : ''},
        'In the currency’s main unit, like 5.00.',
      ),
      field('Currency', {name: 'currency', value: priced?.currency ?? 'EUR', required: true, maxlength: 3}),
    ),
    h(
      'div',
      {class: 'grid'},
      select('applies_to', 'Applies to', TARGETS, p.applies_to.type),
      field(
        'Products',
        {name: 'products', value: p.applies_to.products?.join(', ') ?? ''},
        'Their IDs, separated by commas.',
      ),
      field(
        'Categories',
        {name: 'categories', value: p.applies_to.categories?.join(', ') ?? ''},
        'Their slugs, separated by commas.',
      ),
      field(
        'Minimum subtotal',
        {name: 'min_subtotal', inputmode: 'decimal', value: p.min_subtotal ? majorUnits(p.min_subtotal) : ''},
        'Before discounts; empty: none.',
      ),
    ),
    h(
      'div',
      {class: 'grid'},
      field('Starts', {name: 'starts_at', type: 'datetime-local', value: localTime(p.starts_at)}, 'Empty: now.'),
      field('Ends', {name: 'ends_at', type: 'datetime-local', value: localTime(p.ends_at)}, 'Empty: never.'),
    ),
    h(
      'div',
      {class: 'grid'},
      field(
        'Usage limit',
        {name: 'usage_limit', type: 'number', min: 1, value: p.usage_limit ?? ''},
        'Orders in all; empty: no limit.',
      ),
      field(
        'Per customer limit',
        {name: 'per_customer_limit', type: 'number', min: 1, value: p.per_customer_limit ?? ''},
        'Orders of one customer; empty: no limit.',
      ),
    ),
    h('label', {}, h('input', {type: 'checkbox', role: 'switch', name: 'active', checked: p.active}), 'Active'),
    h('button', {type: 'submit'}, 'Save promotion'),
  );
  /** Shows the fields of the kinds of discount and target chosen, and only those. */
  const shown = () => {
    const discount = form.elements.namedItem('discount_type').value;
    const target = form.elements.namedItem('applies_to').value;
    const wanted = {
      percent: discount === 'percentage',
      amount: discount === 'fixed',
      products: target === 'products',
      categories: target === 'categories',
    };
    for (const [name, wants] of Object.entries(wanted)) {
      const input = form.elements.namedItem(name);
      input.closest('.field').hidden = !wants;
      input.disabled = !wants;
      input.required = wants;
    }
  };
  shown();
  return onSubmit(form, async (values) => {
    const body = promotionBody(values);
    await versioned('PUT', `/api/promotions/${encodeURIComponent(body.id)}`, etag, body, meanwhile('promotions'));
    announce(`${body.name} saved`);
    go('admin/promotions');
  });
}

/** A promotion as the API takes it, from its form's fields (those left empty are left out). */
function promotionBody(values) {
  const currency = values.currency.toUpperCase();
  const body = {id: values.id, name: values.name};
  if (values.code) body.code = values.code.toUpperCase();
  if (values.discount_type === 'percentage') {
    body.discount = {type: 'percentage', percent: values.percent.replace(',', '.')};
  } else if (values.discount_type === 'fixed') {
    body.discount = {type: 'fixed', amount: priceOf(values.amount, currency)};
  } else {
    body.discount = {type: 'free_shipping'};
  }
  if (values.applies_to === 'products') body.applies_to = {type: 'products', products: listOf(values.products)};
  else if (values.applies_to === 'categories')
    body.applies_to = {type: 'categories', categories: listOf(values.categories)};
  else body.applies_to = {type: 'order'};
  if (values.min_subtotal) body.min_subtotal = priceOf(values.min_subtotal, currency);
  if (values.starts_at) body.starts_at = instant(values.starts_at);
  if (values.ends_at) body.ends_at = instant(values.ends_at);
  if (values.usage_limit) body.usage_limit = Number(values.usage_limit);
  if (values.per_customer_limit) body.per_customer_limit = Number(values.per_customer_limit);
  body.active = values.active;
  return body;
}
