// The back office (the `admin` group): products, their variants and stock, orders by status.

import {
  h,
  fill,
  table,
  nextLink,
  field,
  money,
  majorUnits,
  minorUnits,
  optionText,
  onSubmit,
  act,
  announce,
  Refusal,
} from '../dom.js';
import {ApiError, call, get, post, put, me, listPage} from '../api.js';
import {go, redraw} from '../nav.js';
import {orderTable} from './orders.js';

function admins() {
  if (!me()?.admin) throw new ApiError(403, {detail: 'The back office is for the shop’s administrators.'});
}

function tabs(current) {
  return h(
    'nav',
    {'aria-label': 'Back office'},
    h(
      'ul',
      {},
      h('li', {}, h('a', {href: '#/admin', 'aria-current': current === 'products' ? 'page' : null}, 'Products')),
      h('li', {}, h('a', {href: '#/admin/orders', 'aria-current': current === 'orders' ? 'page' : null}, 'Orders')),
    ),
  );
}

export async function products(params) {
  admins();
  const {items, next} = await listPage(params, '/api/products?limit=50', {fresh: true});
  return [
    h('h1', {}, 'Products'),
    tabs('products'),
    h('p', {}, h('a', {href: '#/admin/products/new', class: 'step'}, 'New product')),
    table(
      ['Name', 'Category', 'Price', 'Stock', 'Variants'],
      items.map((p) =>
        h(
          'tr',
          {'data-product': p.id},
          h('th', {scope: 'row'}, h('a', {href: `#/admin/products/${encodeURIComponent(p.id)}`}, p.name)),
          h('td', {}, p.category),
          h('td', {}, priceRange(p)),
          h('td', {}, String(p.stock)),
          h('td', {}, String(p.variants?.length ?? 1)),
        ),
      ),
    ),
    nextLink('admin', next, 'More'),
  ];
}

/** A product's prices: "€10.00–€14.00" when its variants' prices differ. */
function priceRange(product) {
  return product.max_price && product.max_price.amount > product.price.amount
    ? `${money(product.price)}–${money(product.max_price)}`
    : money(product.price);
}

const CHANGED_MEANWHILE = 'Someone changed this product meanwhile (a sale, perhaps): reload the page and save again.';
const MAX_OPTIONS = 3;
const MAX_VARIANTS = 48;

/** A change sent with the version read (`If-Match`): one made meanwhile is told as such. */
async function versioned(method, path, etag, body) {
  try {
    return await call(method, path, {body, headers: {'If-Match': etag}});
  } catch (error) {
    throw error?.status === 412 ? new Refusal(CHANGED_MEANWHILE) : error;
  }
}

/** A price as the API takes it, from what the admin typed. */
function priceOf(text, currency) {
  const amount = minorUnits(text, currency);
  if (!Number.isInteger(amount)) throw new Refusal('Enter prices as numbers, like 19.99.');
  return {amount, currency};
}

/** A weight in grams, when one was typed. */
function weightOf(text) {
  return text === '' || text === undefined ? undefined : Number(text);
}

/** The product's own fields, as both its forms show them. */
function ownFields(p) {
  return [
    field('Name', {name: 'name', value: p.name ?? '', required: true, maxlength: 200}),
    h(
      'label',
      {for: 'f-description'},
      'Description',
      h('textarea', {id: 'f-description', name: 'description', maxlength: 5000}, p.description ?? ''),
    ),
    field(
      'Category',
      {name: 'category', value: p.category ?? '', required: true, maxlength: 64},
      'Lower-case letters, digits and -.',
    ),
  ];
}

function activeSwitch(p) {
  return h('label', {}, h('input', {type: 'checkbox', role: 'switch', name: 'active', checked: p.active}), 'On sale');
}

/** The fields of a product sold as one variant: its SKU, price and weight (and first stock). */
function soleFields(variant, currency, withStock) {
  return [
    field('SKU', {name: 'sku', value: variant?.sku ?? '', required: true, maxlength: 64}),
    h(
      'div',
      {class: 'grid'},
      field(
        'Price',
        {
          name: 'price',
          inputmode: 'decimal',
          value: variant ? majorUnits(variant.price) : '',
          required: true,
        },
        'In the currency’s main unit, like 19.99.',
      ),
      currency,
    ),
    h(
      'div',
      {class: 'grid'},
      withStock && field('Stock', {name: 'stock', type: 'number', min: 0, value: 0, required: true}),
      field('Weight (grams)', {
        name: 'weight_grams',
        type: 'number',
        min: 0,
        max: 1000000,
        value: variant?.weight_grams ?? '',
      }),
    ),
  ];
}

function currencyField(value) {
  return field('Currency', {name: 'currency', value, required: true, maxlength: 3});
}

/** Every combination of the options' values, the first option's changing slowest. */
function combinations(options) {
  return options.reduce(
    (found, option) => found.flatMap((c) => option.values.map((value) => ({...c, [option.name]: value}))),
    [{}],
  );
}

/** The options the new-product form names: each row given a name or values, its values split
 *  at commas (each once), and which row it is. */
function optionRows(form) {
  const rows = [];
  for (let i = 0; i < MAX_OPTIONS; i++) {
    const name = form.querySelector(`#f-option-${i}-name`).value.trim();
    const values = [
      ...new Set(
        form
          .querySelector(`#f-option-${i}-values`)
          .value.split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      ),
    ];
    if (name || values.length) rows.push({row: i, name, values});
  }
  return rows;
}

export function newProduct() {
  admins();
  const sole = h('fieldset', {}, h('legend', {}, 'Price and stock'), soleFields(null, null, true));
  const variantRows = h('tbody', {});
  const variantNote = h('p', {id: 'variants-hint'}, 'One for each combination: untick those you do not sell.');
  const variants = h(
    'fieldset',
    {hidden: true, disabled: true},
    h('legend', {}, 'Variants'),
    variantNote,
    h(
      'table',
      {'aria-describedby': 'variants-hint'},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Sold', 'Variant', 'SKU', 'Price', 'Stock'].map((t) => h('th', {scope: 'col'}, t)),
        ),
      ),
      variantRows,
    ),
  );
  // What was typed for each combination, kept while the options change.
  const typed = new Map();
  let shown = [];

  function keep() {
    for (const {key, inputs} of shown) {
      typed.set(key, {
        offered: inputs.offered.checked,
        sku: inputs.sku.value,
        price: inputs.price.value,
        stock: inputs.stock.value,
      });
    }
  }

  /** Draws a row for each combination of the options typed, and shows either them or the
   *  fields of a product sold as one. */
  function drawVariants() {
    keep();
    const options = optionRows(form).filter((o) => o.name && o.values.length);
    const combined = combinations(options);
    const withOptions = options.length > 0;
    sole.hidden = sole.disabled = withOptions;
    variants.hidden = variants.disabled = !withOptions;
    shown = [];
    if (!withOptions || combined.length > MAX_VARIANTS) {
      variantNote.textContent = withOptions
        ? `These options make ${combined.length} combinations; a product has at most ${MAX_VARIANTS} variants.`
        : '';
      variantRows.replaceChildren();
      return;
    }
    variantNote.textContent = 'One for each combination: untick those you do not sell.';
    const rows = combined.map((values, k) => {
      const label = options.map((o) => values[o.name]).join(' / ');
      const key = JSON.stringify(options.map((o) => [o.name, values[o.name]]));
      const was = typed.get(key) ?? {offered: true, sku: '', price: '', stock: '0'};
      const input = (name, title, attributes) =>
        h('input', {
          id: `variant-${k}-${name}`,
          'aria-label': `${title} of ${label}`,
          disabled: !was.offered,
          ...attributes,
        });
      const inputs = {
        offered: h('input', {
          type: 'checkbox',
          id: `variant-${k}-offered`,
          'aria-label': `Sell ${label}`,
          checked: was.offered,
          onchange: (e) => {
            for (const name of ['sku', 'price', 'stock']) inputs[name].disabled = !e.target.checked;
          },
        }),
        sku: input('sku', 'SKU', {class: 'sku', value: was.sku, required: true, maxlength: 64}),
        price: input('price', 'Price', {inputmode: 'decimal', value: was.price, required: true}),
        stock: input('stock', 'Stock', {type: 'number', min: 0, value: was.stock, required: true}),
      };
      shown.push({key, values, inputs});
      return h(
        'tr',
        {},
        h('td', {}, inputs.offered),
        h('th', {scope: 'row'}, label),
        h('td', {}, inputs.sku),
        h('td', {}, inputs.price),
        h('td', {}, inputs.stock),
      );
    });
    variantRows.replaceChildren(...rows);
  }

  const optionFields = h(
    'fieldset',
    {'aria-describedby': 'options-hint', oninput: () => drawVariants()},
    h('legend', {}, 'Options (optional)'),
    h(
      'p',
      {id: 'options-hint'},
      'Up to three, like Size with the values S, M, L. None for a product sold as one thing.',
    ),
    Array.from({length: MAX_OPTIONS}, (_, i) =>
      h(
        'div',
        {class: 'grid'},
        field(`Option ${i + 1} name`, {name: `option-${i}-name`, id: `f-option-${i}-name`, maxlength: 64}),
        field(
          `Option ${i + 1} values`,
          {name: `option-${i}-values`, id: `f-option-${i}-values`},
          'Separated by commas.',
        ),
      ),
    ),
  );

  const form = onSubmit(
    h(
      'form',
      {'aria-label': 'New product'},
      ownFields({}),
      currencyField('EUR'),
      optionFields,
      sole,
      variants,
      activeSwitch({active: true}),
      h('button', {type: 'submit'}, 'Create'),
    ),
    async (values) => {
      const currency = values.currency.toUpperCase();
      const body = {
        name: values.name,
        description: values.description,
        category: values.category,
        active: values.active,
      };
      const options = optionRows(form);
      // Each field is named as the API names it, so that its word shows at the field.
      for (const input of form.querySelectorAll('[id^=f-option-], [id^=variant-]')) input.removeAttribute('name');
      if (options.length === 0) {
        Object.assign(body, {
          sku: values.sku,
          price: priceOf(values.price, currency),
          stock: Number(values.stock),
          weight_grams: weightOf(values.weight_grams),
        });
      } else {
        const partial = options.find((o) => !o.name || !o.values.length);
        if (partial) throw new Refusal(`Give option ${partial.row + 1} a name and at least one value.`);
        options.forEach((o, i) => {
          form.querySelector(`#f-option-${o.row}-name`).name = `options[${i}].name`;
          form.querySelector(`#f-option-${o.row}-values`).name = `options[${i}].values`;
        });
        body.options = options.map(({name, values}) => ({name, values}));
        const sold = shown.filter((row) => row.inputs.offered.checked);
        if (sold.length === 0) throw new Refusal(shown.length ? 'Sell one variant at least.' : variantNote.textContent);
        sold.forEach(({inputs}, i) => {
          for (const name of ['sku', 'price', 'stock']) inputs[name].name = `variants[${i}].${name}`;
        });
        body.variants = sold.map(({values, inputs}) => ({
          sku: inputs.sku.value.trim(),
          options: values,
          price: priceOf(inputs.price.value, currency),
          stock: Number(inputs.stock.value),
        }));
      }
      const created = await post('/api/products', body);
      go(`admin/products/${encodeURIComponent(created.id)}`);
    },
  );
  return [h('h1', {}, 'New product'), tabs('products'), form];
}

/** An adjustment of stock: units in or out, and why. `suffix` keeps its fields' ids apart from
 *  another variant's. */
function stockForm(label, suffix, adjust) {
  const id = (name) => (suffix ? `${name}-${suffix}` : `f-${name}`);
  return onSubmit(
    h(
      'form',
      {'aria-label': label},
      h(
        'div',
        {class: 'grid'},
        field(
          'Change',
          {name: 'delta', id: id('delta'), type: 'number', required: true},
          'Units in (a restock) or, negative, out (a write-off).',
        ),
        field('Reason', {name: 'reason', id: id('reason'), required: true, maxlength: 200}),
        h('div', {class: 'field submit'}, h('button', {type: 'submit'}, 'Adjust stock')),
      ),
    ),
    async ({delta, reason}, form) => {
      await adjust({delta: Number(delta), reason});
      form.reset();
    },
  );
}

/** The fields of a variant: a value of each option (one of its values, or a new one), its SKU,
 *  price, first stock (when added) and weight. */
function variantFields(product, variant, prefix) {
  const currency = product.price.currency;
  return [
    h(
      'div',
      {class: 'grid'},
      product.options.map((option, i) =>
        field(option.name, {
          name: `options.${option.name}`,
          id: `${prefix}-option-${i}`,
          list: `option-values-${i}`,
          value: variant?.options[option.name] ?? '',
          required: true,
          maxlength: 64,
        }),
      ),
    ),
    h(
      'div',
      {class: 'grid'},
      field('SKU', {name: 'sku', id: `${prefix}-sku`, value: variant?.sku ?? '', required: true, maxlength: 64}),
      field(
        'Price',
        {
          name: 'price',
          id: `${prefix}-price`,
          inputmode: 'decimal',
          value: variant ? majorUnits(variant.price) : '',
          required: true,
        },
        `In ${currency}, like 19.99.`,
      ),
      !variant && field('Stock', {name: 'stock', id: `${prefix}-stock`, type: 'number', min: 0, value: 0}),
      field('Weight (grams)', {
        name: 'weight_grams',
        id: `${prefix}-weight`,
        type: 'number',
        min: 0,
        max: 1000000,
        value: variant?.weight_grams ?? '',
      }),
    ),
  ];
}

/** A variant as the API takes it, from its form's fields. */
function variantBody(product, values, variant) {
  const body = {
    sku: values.sku,
    options: Object.fromEntries(product.options.map((o) => [o.name, values[`options.${o.name}`]])),
    price: priceOf(values.price, product.price.currency),
    weight_grams: weightOf(values.weight_grams),
    images: variant?.images ?? [],
  };
  if (!variant && values.stock !== '') body.stock = Number(values.stock);
  return body;
}

export async function editProduct(id) {
  admins();
  const path = `/api/products/${encodeURIComponent(id)}`;
  const answer = await call('GET', `${path}/record`, {fresh: true});
  let product = answer.body;
  let etag = answer.headers.get('etag');
  /** Takes the product, and its version, from the API's answer to a change. */
  const took = (changed) => {
    product = changed.body;
    etag = changed.headers.get('etag') ?? etag;
    return product;
  };
  // A product without options is sold as its one variant, edited with the product.
  const simple = product.options.length === 0;
  const details = simple
    ? [
        ownFields(product),
        soleFields(product.variants[0], currencyField(product.price.currency), false),
        activeSwitch(product),
      ]
    : [ownFields(product), activeSwitch(product)];
  const page = [h('h1', {}, product.name), tabs('products')];
  if (simple) {
    const stock = h('strong', {id: 'stock'}, String(product.stock));
    const only = product.variants[0];
    page.push(
      h('h2', {}, 'Stock'),
      h('p', {}, 'In stock: ', stock),
      stockForm('Adjust stock', null, async (change) => {
        took(await call('POST', `${path}/variants/${encodeURIComponent(only.id)}/stock`, {body: change}));
        stock.textContent = String(product.stock);
        announce(`Stock is now ${product.stock}`);
      }),
    );
  } else {
    page.push(...variantsSection());
  }
  page.push(
    h('h2', {}, 'Details'),
    onSubmit(
      h('form', {'aria-label': 'Product details'}, details, h('button', {type: 'submit'}, 'Save')),
      async (values) => {
        const body = {
          name: values.name,
          description: values.description,
          category: values.category,
          active: values.active,
          // Kept as they are: this form does not show them.
          images: product.images ?? [],
          attributes: product.attributes ?? {},
        };
        if (simple) {
          body.sku = values.sku;
          body.price = priceOf(values.price, values.currency.toUpperCase());
          body.weight_grams = weightOf(values.weight_grams);
        }
        took(await versioned('PUT', path, etag, body));
        announce('Saved');
        go('admin');
      },
    ),
    h('h2', {}, 'Remove'),
    h(
      'button',
      {
        type: 'button',
        class: 'contrast',
        onclick: act(async () => {
          await versioned('DELETE', path, etag);
          go('admin');
        }),
      },
      'Delete product',
    ),
  );
  return page;

  /** The variants of a product with options: each with its stock, its edit and its removal,
   *  and a form that adds one. Drawn again from each answer. */
  function variantsSection() {
    const heading = h('h2', {id: 'variants', tabindex: -1}, 'Variants');
    const list = h('div', {});
    const draw = (focus) => {
      fill(list, [
        h(
          'p',
          {},
          product.options.map((o) => `${o.name}: ${o.values.join(', ')}`).join(' · '),
          h('br'),
          `${product.variants.length} ${product.variants.length === 1 ? 'variant' : 'variants'}, `,
          `${product.stock} in stock`,
        ),
        product.options.map((o, i) =>
          h(
            'datalist',
            {id: `option-values-${i}`},
            o.values.map((value) => h('option', {value})),
          ),
        ),
        product.variants.map(variantSection),
      ]);
      (focus ? document.getElementById(focus) : null)?.focus();
    };
    const variantSection = (variant) => {
      const label = optionText(variant.options);
      const vid = encodeURIComponent(variant.id);
      const headingId = `variant-${variant.id}`;
      return h(
        'section',
        {'aria-labelledby': headingId, class: 'variant'},
        h('h3', {id: headingId, tabindex: -1}, label),
        h(
          'p',
          {},
          `SKU ${variant.sku} · ${money(variant.price)} · In stock: `,
          h('strong', {class: 'variant-stock'}, String(variant.stock)),
          variant.weight_grams ? ` · ${variant.weight_grams} g` : '',
        ),
        stockForm(`Adjust stock of ${label}`, variant.id, async (change) => {
          took(await call('POST', `${path}/variants/${vid}/stock`, {body: change}));
          draw(headingId);
          announce(`Stock of ${label} is now ${product.variants.find((v) => v.id === variant.id)?.stock}`);
        }),
        h(
          'details',
          {},
          h('summary', {}, `Edit ${label}`),
          onSubmit(
            h(
              'form',
              {'aria-label': `Edit ${label}`},
              variantFields(product, variant, `edit-${variant.id}`),
              h('button', {type: 'submit'}, 'Save variant'),
            ),
            async (values) => {
              took(await versioned('PUT', `${path}/variants/${vid}`, etag, variantBody(product, values, variant)));
              draw(headingId);
              announce(`${optionText(product.variants.find((v) => v.id === variant.id)?.options)} saved`);
            },
          ),
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary outline',
            onclick: act(async () => {
              took(await versioned('DELETE', `${path}/variants/${vid}`, etag));
              draw('variants');
              announce(`${label} deleted`);
            }),
          },
          'Delete variant',
        ),
      );
    };
    const add = onSubmit(
      h(
        'form',
        {'aria-label': 'Add a variant'},
        variantFields(product, null, 'new'),
        h('button', {type: 'submit'}, 'Add variant'),
      ),
      async (values, form) => {
        took(await versioned('POST', `${path}/variants`, etag, variantBody(product, values, null)));
        form.reset();
        const added = product.variants.at(-1);
        draw(`variant-${added.id}`);
        announce(`${optionText(added.options)} added`);
      },
    );
    draw(null);
    return [heading, list, h('h2', {}, 'Add a variant'), add];
  }
}

const STATUSES = ['PAID', 'SHIPPED', 'DELIVERED', 'PENDING_PAYMENT', 'CANCELLED', 'REFUNDED'];

function orderActions(order) {
  const inline = (label, fields, action) =>
    onSubmit(
      h('form', {class: 'actions', 'aria-label': `${label} ${order.id}`}, fields, h('button', {type: 'submit'}, label)),
      async (values, form) => {
        await action(values, form);
        announce(`${label}: done`);
        await redraw();
      },
    );
  const id = encodeURIComponent(order.id);
  const parts = [];
  if (order.status === 'PAID') {
    parts.push(
      inline(
        'Ship',
        field('Tracking number', {name: 'tracking_number', id: `track-${order.id}`, required: true, maxlength: 64}),
        ({tracking_number}) => put(`/api/orders/${id}/status`, {status: 'SHIPPED', tracking_number}),
      ),
    );
  }
  if (order.status === 'SHIPPED') {
    parts.push(inline('Mark delivered', [], () => put(`/api/orders/${id}/status`, {status: 'DELIVERED'})));
  }
  if (['PAID', 'SHIPPED', 'DELIVERED'].includes(order.status)) {
    parts.push(
      inline(
        'Refund',
        [
          field('Amount (empty: all that is left)', {name: 'amount', id: `amount-${order.id}`, inputmode: 'decimal'}),
          field('Reason', {name: 'reason', id: `reason-${order.id}`, required: true, maxlength: 200}),
        ],
        ({amount, reason}) =>
          post(`/api/orders/${id}/refunds`, {
            reason,
            amount: amount ? {amount: minorUnits(amount, order.total.currency), currency: order.total.currency} : null,
          }),
      ),
    );
  }
  return parts;
}

export async function orders(params) {
  admins();
  const chosen = STATUSES.includes(params.get('status')) ? params.get('status') : 'PAID';
  const found = await get(`/api/orders?status=${chosen}&limit=50`);
  return [
    h('h1', {}, 'Orders'),
    tabs('orders'),
    h(
      'label',
      {for: 'status-filter'},
      'Orders in status',
      h(
        'select',
        {id: 'status-filter', onchange: (e) => go(`admin/orders?status=${e.target.value}`)},
        STATUSES.map((s) => h('option', {value: s, selected: s === chosen}, s)),
      ),
    ),
    found.length === 0 ? h('p', {}, 'None.') : orderTable(found, orderActions),
  ];
}
