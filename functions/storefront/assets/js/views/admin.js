// The back office (its staff roles: `admin` holds them all): products, their variants and stock,
// the catalogue as CSV (exported, and imported with its progress and refused lines), orders by
// status (and a period's exported for accounting) and each order's page, its returns among it.
// Shipping, tax and promotions are pricing.js's, the staff and the audit log staff.js's, returns
// returns.js's, partners' webhooks webhooks.js's; the tabs lead there too, each shown to those
// whose roles let them use it.

import {
  h,
  fill,
  table,
  nextLink,
  field,
  money,
  date,
  majorUnits,
  minorUnits,
  optionText,
  onSubmit,
  act,
  announce,
  Refusal,
  productImage,
  save,
} from '../dom.js';
import {ApiError, call, get, post, put, me, holds, listPage} from '../api.js';
import {go, redraw} from '../nav.js';
import {orderTable, statusLine, summary} from './orders.js';
import {returnsList} from './returns.js';

/** The back office's pages: each one's tab, and the roles that may use it (an admin holds every
 *  role, so uses them all). */
const PAGES = [
  {name: 'products', href: '#/admin', label: 'Products', roles: ['catalogue']},
  {name: 'orders', href: '#/admin/orders', label: 'Orders', roles: ['fulfilment', 'support']},
  {name: 'returns', href: '#/admin/returns', label: 'Returns', roles: ['fulfilment', 'support']},
  {name: 'catalogue', href: '#/admin/catalogue', label: 'Import / export', roles: ['catalogue']},
  {name: 'shipping', href: '#/admin/shipping', label: 'Shipping & tax', roles: ['admin']},
  {name: 'promotions', href: '#/admin/promotions', label: 'Promotions', roles: ['admin']},
  {name: 'staff', href: '#/admin/staff', label: 'Staff', roles: ['admin']},
  {name: 'audit', href: '#/admin/audit', label: 'Audit log', roles: ['admin']},
  {name: 'webhooks', href: '#/admin/webhooks', label: 'Webhooks', roles: ['admin']},
];

/** The back office's pages the signed-in person's roles let them use. */
function usable() {
  return PAGES.filter((page) => page.roles.some(holds));
}

/** Where the header's "Back office" leads the signed-in person: the first page their roles let
 *  them use; null for a customer. */
export function backOffice() {
  return usable()[0]?.href ?? null;
}

/** Lets a view go on for someone holding one of `roles` (an admin holds them all); anyone else
 *  is refused, as the API would refuse them. */
export function staffOnly(...roles) {
  if (roles.some(holds)) return;
  const detail = me()?.roles.length
    ? 'This part of the back office is not among your roles.'
    : 'The back office is for the shop’s administrators.';
  throw new ApiError(403, {detail});
}

export function admins() {
  staffOnly('admin');
}

/** The back office's pages the signed-in person may use, `current` marked as the one shown. */
export function tabs(current) {
  return h(
    'nav',
    {'aria-label': 'Back office'},
    h(
      'ul',
      {},
      usable().map(({name, href, label}) =>
        h('li', {}, h('a', {href, 'aria-current': current === name ? 'page' : null}, label)),
      ),
    ),
  );
}

export async function products(params) {
  staffOnly('catalogue');
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

/** A change sent with the version read (`If-Match`): one made meanwhile is told as such
 *  (`meanwhile`, a product's word unless another is given). */
export async function versioned(method, path, etag, body, meanwhile = CHANGED_MEANWHILE) {
  try {
    return await call(method, path, {body, headers: {'If-Match': etag}});
  } catch (error) {
    throw error?.status === 412 ? new Refusal(meanwhile) : error;
  }
}

/** A price as the API takes it, from what the admin typed. */
export function priceOf(text, currency) {
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
  staffOnly('catalogue');
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
  staffOnly('catalogue');
  const path = `/api/products/${encodeURIComponent(id)}`;
  const answer = await call('GET', `${path}/record`, {fresh: true});
  let product = answer.body;
  let etag = answer.headers.get('etag');
  /** Takes the product, and its version, from the API's answer to a change. */
  const took = (changed) => {
    product = changed.body;
    etag = changed.headers.get('etag') ?? etag;
    variantsChanged();
    return product;
  };
  /** Offers the variants as they are now wherever an image's variant is chosen. */
  let variantsChanged = () => {};
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
    ...imagesSection(),
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

  /** The product's uploaded images in the order the shop shows them, each with its thumbnail,
   *  alt text and variant, moved, edited and deleted with the version last answered; and the
   *  form that uploads one (asked for, sent to its target, then followed until it is made into
   *  the shop's sizes or refused). */
  function imagesSection() {
    const heading = h('h2', {id: 'images', tabindex: -1}, 'Images');
    const list = h('div', {});
    const withOptions = product.options.length > 0;
    const variantLabel = (id) => {
      if (!id) return 'All variants';
      const variant = product.variants.find((v) => v.id === id);
      return variant ? optionText(variant.options) : 'A variant no longer sold';
    };
    const choices = (current) => [
      h('option', {value: ''}, 'All variants'),
      product.variants.map((v) => h('option', {value: v.id, selected: v.id === current}, optionText(v.options))),
    ];
    const variantField = (id, current, hint) =>
      h(
        'div',
        {class: 'field'},
        h('label', {for: id}, 'Variant'),
        h('select', {id, name: 'variant_id', 'aria-describedby': `${id}-hint`}, choices(current)),
        h('small', {id: `${id}-hint`}, hint),
      );
    const draw = (focus) => {
      const media = product.media ?? [];
      fill(list, media.length ? media.map(imageSection) : h('p', {}, 'No images yet: the shop shows none.'));
      (focus ? document.getElementById(focus) : null)?.focus();
    };
    const imageSection = (image, i, media) => {
      const iid = encodeURIComponent(image.id);
      const headingId = `image-${image.id}`;
      const label = `Image ${i + 1}`;
      const move = (by) =>
        act(async () => {
          const order = product.media.map((m) => m.id);
          order.splice(order.indexOf(image.id), 1);
          order.splice(i + by, 0, image.id);
          took(await versioned('PUT', `${path}/images/order`, etag, {order}));
          draw(headingId);
          const at = product.media.findIndex((m) => m.id === image.id) + 1;
          announce(`The image is now ${at} of ${product.media.length}`);
        });
      return h(
        'section',
        {'aria-labelledby': headingId, class: 'image-item'},
        productImage(image, {sizes: '6rem', width: 200}),
        h(
          'div',
          {},
          h('h3', {id: headingId, tabindex: -1}, label),
          h('p', {}, 'Alt text: ', h('span', {class: 'image-alt'}, image.alt)),
          withOptions && h('p', {}, `Variant: ${variantLabel(image.variant_id)}`),
          h(
            'div',
            {class: 'actions'},
            h('button', {type: 'button', class: 'secondary', disabled: i === 0, onclick: move(-1)}, 'Move up'),
            h(
              'button',
              {type: 'button', class: 'secondary', disabled: i === media.length - 1, onclick: move(1)},
              'Move down',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'secondary outline',
                onclick: act(async () => {
                  took(await versioned('DELETE', `${path}/images/${iid}`, etag));
                  draw('images');
                  announce(`${label} deleted`);
                }),
              },
              'Delete image',
            ),
          ),
          h(
            'details',
            {},
            h('summary', {}, `Edit ${label.toLowerCase()}`),
            onSubmit(
              h(
                'form',
                {'aria-label': `Edit ${label.toLowerCase()}`},
                field('Alt text', {
                  name: 'alt',
                  id: `alt-${image.id}`,
                  value: image.alt,
                  required: true,
                  maxlength: MAX_ALT,
                }),
                withOptions &&
                  variantField(`variant-of-${image.id}`, image.variant_id, 'Shown first when it is chosen.'),
                h('button', {type: 'submit'}, 'Save image'),
              ),
              async (values) => {
                // A product sold as one keeps the variant its image names (it has no choice).
                const variant = withOptions ? values.variant_id || undefined : image.variant_id;
                took(await versioned('PUT', `${path}/images/${iid}`, etag, {alt: values.alt, variant_id: variant}));
                draw(headingId);
                announce(`${label} saved`);
              },
            ),
          ),
        ),
      );
    };
    const status = h('p', {id: 'upload-status', 'aria-live': 'polite'});
    const upload = onSubmit(
      h(
        'form',
        {'aria-label': 'Upload an image'},
        field(
          'Image file',
          {name: 'file', id: 'f-image-file', type: 'file', accept: IMAGE_TYPES.join(','), required: true},
          'A JPEG, PNG, WebP or GIF image, at most 10 MB.',
        ),
        field(
          'Alt text',
          {name: 'alt', id: 'f-image-alt', required: true, maxlength: MAX_ALT},
          'What the image shows, for those who cannot see it.',
        ),
        withOptions && variantField('f-image-variant', null, 'Shown first when it is chosen.'),
        h('button', {type: 'submit'}, 'Upload image'),
      ),
      async (values, form) => {
        const file = form.elements.namedItem('file').files[0];
        if (!file) throw new Refusal('Choose an image to upload.');
        if (!IMAGE_TYPES.includes(file.type)) throw new Refusal('Choose a JPEG, PNG, WebP or GIF image.');
        if (file.size === 0 || file.size > MAX_IMAGE_BYTES)
          throw new Refusal('The image must be larger than nothing and at most 10 MB.');
        fill(status, 'Uploading…');
        try {
          const asked = await call('POST', `${path}/images`, {
            body: {
              content_type: file.type,
              size: file.size,
              alt: values.alt,
              variant_id: values.variant_id || undefined,
            },
          });
          const {upload: started, target} = asked.body;
          const where = asked.headers.get('location') ?? `${path}/images/uploads/${encodeURIComponent(started.id)}`;
          await sendFile(target, file);
          fill(status, 'Processing…');
          let record = started;
          for (let asking = 0; record.state === 'waiting'; asking++) {
            if (!form.isConnected) return;
            if (asking === MAX_ASKING)
              throw new Refusal('The image is taking long to process: look for it here again in a while.');
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
            record = (await call('GET', where, {fresh: true})).body;
          }
          if (record.state === 'refused')
            throw new Refusal(`The image was refused: ${record.reason ?? 'no reason given'}`);
          // The product's latest version (and its images) come from its record.
          took(await call('GET', `${path}/record`, {fresh: true}));
          draw(null);
          form.reset();
          const at = product.media.findIndex((m) => m.id === record.image_id) + 1;
          fill(status, at > 0 ? `Uploaded: it is image ${at}.` : 'Uploaded.');
          announce('Image uploaded');
        } catch (error) {
          fill(status, '');
          throw error;
        }
      },
    );
    variantsChanged = () => {
      for (const select of [...list.querySelectorAll('select'), ...upload.querySelectorAll('select')]) {
        const current = select.value;
        fill(select, choices(current));
      }
    };
    draw(null);
    return [heading, list, h('h3', {}, 'Upload an image'), upload, status];
  }

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

/** The types of image an upload may be, and the largest file it takes (the API's limits). */
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** The longest alt text the API takes. */
const MAX_ALT = 250;
/** How often an upload is asked after (at `POLL_MS`) before the page stops waiting for it. */
const MAX_ASKING = 120;

/** Sends an upload's file to its target (the store, maybe on another origin: never with the
 *  session's token), with the headers it names but its length, which the browser sets. */
async function sendFile(target, file) {
  const headers = Object.fromEntries(
    Object.entries(target.headers ?? {}).filter(([name]) => name.toLowerCase() !== 'content-length'),
  );
  const answer = await fetch(target.url, {method: target.method ?? 'PUT', headers, body: file});
  if (!answer.ok) throw new Refusal(`The file was not taken (the store answered ${answer.status}): upload it again.`);
}

/** The largest file an import takes (the API's limit: it answers 413 past it). */
const MAX_IMPORT_BYTES = 3 * 1024 * 1024;
/** How often an import's progress is asked for. */
const POLL_MS = 1000;

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** The catalogue as CSV: the whole of it downloaded, and a file imported, its progress and
 *  outcome (the lines it refused, and why) shown as the API tells them. */
export function catalogue() {
  staffOnly('catalogue');
  const exporter = h('button', {type: 'button', onclick: act(exportCsv)}, 'Export CSV');
  const status = h('div', {id: 'import-status', 'aria-live': 'polite'});
  const form = onSubmit(
    h(
      'form',
      {'aria-label': 'Import CSV'},
      field(
        'CSV file',
        {name: 'file', type: 'file', accept: '.csv,text/csv', required: true},
        'In the format of the export, at most 3 MB.',
      ),
      h('button', {type: 'submit'}, 'Import CSV'),
    ),
    async (_, form) => {
      const file = form.elements.namedItem('file').files[0];
      if (!file) throw new Refusal('Choose a CSV file to import.');
      if (file.size > MAX_IMPORT_BYTES)
        throw new Refusal('The file is larger than 3 MB: split it, and import each part.');
      fill(status, []);
      const started = await call('POST', '/api/products/import', {body: file, type: 'text/csv'});
      const where = started.headers.get('location') ?? `/api/products/imports/${encodeURIComponent(started.body.id)}`;
      let record = started.body;
      showImport(status, record);
      // Asked again until it ends, while the page still shows it.
      while ((record.state === 'pending' || record.state === 'running') && form.isConnected) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        record = (await call('GET', where, {fresh: true})).body;
        showImport(status, record);
      }
      if (record.state === 'failed') throw new Refusal(record.error ?? 'The import failed.');
    },
  );
  return [
    h('h1', {}, 'Import / export'),
    tabs('catalogue'),
    h('h2', {}, 'Export'),
    h('p', {}, 'The whole catalogue as a CSV file, one row per variant.'),
    exporter,
    h('h2', {}, 'Import'),
    h(
      'p',
      {},
      'Rows are matched to the catalogue by SKU: a product whose SKUs are all new is created, one whose SKUs ' +
        'name a product updates it. A product with a wrong line is left out whole, and its lines listed.',
    ),
    form,
    status,
  ];
}

/** Downloads the export, read with the session's token. */
async function exportCsv() {
  const answer = await call('GET', '/api/products/export', {blob: true});
  save(answer.body, 'products.csv');
  announce('Catalogue exported as products.csv');
}

/** An import as its record tells it: its progress, then what it created and updated, and each
 *  line it refused. */
function showImport(status, record) {
  const {state, rows_done: done, rows_total: total} = record;
  if (state === 'pending' || state === 'running') {
    fill(status, [
      h('progress', {'aria-label': 'Rows imported', max: total || null, value: total ? done : null}),
      h(
        'p',
        {},
        total
          ? `${done} of ${plural(total, 'row', 'rows')}`
          : state === 'pending'
            ? 'Waiting for the import to start…'
            : 'Reading the file…',
      ),
    ]);
    return;
  }
  if (state === 'failed') {
    fill(status, h('p', {}, 'The import failed: the file could not be read.'));
    return;
  }
  const refused = record.refused ?? [];
  fill(status, [
    h('p', {}, `Import done: ${plural(total, 'row', 'rows')} read.`),
    h(
      'ul',
      {},
      h('li', {}, `${plural(record.products_created, 'product', 'products')} created`),
      h('li', {}, `${plural(record.products_updated, 'product', 'products')} updated`),
      h('li', {}, `${plural(record.rows_refused, 'row', 'rows')} refused`),
    ),
    refused.length > 0 && [
      h('h3', {}, 'Refused lines'),
      record.rows_refused > refused.length &&
        h('p', {}, `The first ${refused.length} of ${record.rows_refused} are listed.`),
      table(
        ['Line', 'Reason'],
        refused.map((r) => h('tr', {}, h('th', {scope: 'row'}, String(r.line)), h('td', {}, r.reason))),
      ),
    ],
  ]);
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
  // Fulfilment ships and delivers; support refunds (up to the shop's limit, which the API keeps).
  const ships = holds('fulfilment');
  if (ships && order.status === 'PAID') {
    parts.push(
      inline(
        'Ship',
        field('Tracking number', {name: 'tracking_number', id: `track-${order.id}`, required: true, maxlength: 64}),
        ({tracking_number}) => put(`/api/orders/${id}/status`, {status: 'SHIPPED', tracking_number}),
      ),
    );
  }
  if (ships && order.status === 'SHIPPED') {
    parts.push(inline('Mark delivered', [], () => put(`/api/orders/${id}/status`, {status: 'DELIVERED'})));
  }
  if (holds('support') && ['PAID', 'SHIPPED', 'DELIVERED'].includes(order.status)) {
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
  staffOnly('fulfilment', 'support');
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
    found.length === 0 ? h('p', {}, 'None.') : orderTable(found, orderActions, 'admin/orders'),
    holds('admin') && [
      h('h2', {}, 'Export for accounting'),
      h(
        'p',
        {},
        'The orders placed from one day to another (UTC, both included) as a CSV file, one row per order with ' +
          'its totals, what was paid and refunded, and its invoice and credit note.',
      ),
      exportForm(),
    ],
  ];
}

/** The form that downloads a period's orders as CSV, read with the session's token: from the
 *  first of this month to today (UTC days) unless other days are chosen. A period the API
 *  refuses is said at the day it names. */
function exportForm() {
  const today = new Date().toISOString().slice(0, 10);
  return onSubmit(
    h(
      'form',
      {'aria-label': 'Export for accounting'},
      h(
        'div',
        {class: 'grid'},
        field('From', {name: 'from', type: 'date', value: `${today.slice(0, 8)}01`, required: true}),
        field('To', {name: 'to', type: 'date', value: today, required: true}),
        h('div', {class: 'field submit'}, h('button', {type: 'submit'}, 'Export CSV')),
      ),
    ),
    async ({from, to}) => {
      const path = `/api/orders/export?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
      const answer = await call('GET', path, {blob: true});
      const name = `orders-${from}-${to}.csv`;
      save(answer.body, name);
      announce(`Orders exported as ${name}`);
    },
  );
}

/** One order: who placed it and when, what can be done to it now, and what the shopper's page
 *  shows of it (its lines, totals, invoice and credit note, shipping and history). */
export async function order(id) {
  staffOnly('fulfilment', 'support');
  const found = await get(`/api/orders/${encodeURIComponent(id)}`);
  return [
    h('h1', {}, `Order ${found.id}`),
    tabs('orders'),
    statusLine(found),
    h('p', {}, `Placed ${date(found.created_at)} by customer `, h('code', {}, found.user_id)),
    orderActions(found),
    summary(found, {backOffice: true}),
    returnsList(found, {backOffice: true}),
  ];
}
