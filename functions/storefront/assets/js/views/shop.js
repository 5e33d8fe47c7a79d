// Browsing: the categories, a category's products, search with facets, a product.

import {
  h,
  fill,
  highlighted,
  money,
  fromPrice,
  optionText,
  variantName,
  nextLink,
  announce,
  onSubmit,
  act,
  field,
  productImage,
} from '../dom.js';
import {get, put, listPage, startGuest, storefront} from '../api.js';
import {go, changed} from '../nav.js';

function stockWords(stock) {
  return stock > 0 ? (stock <= 5 ? `Only ${stock} left` : 'In stock') : 'Sold out';
}

function stockNote(stock) {
  return h('small', {class: stock > 0 ? 'ok' : 'problem'}, stockWords(stock));
}

/** How wide a card's image shows: the whole width of a phone, else a column of the grid
 *  (`.grid-products`: 14rem at least, rarely wider than 22rem). */
const CARD_SIZES = '(max-width: 576px) 100vw, 22rem';
/** How wide a product's images show on its page: the first as wide as the page up to 36rem,
 *  the others as thumbnails (`.gallery`). */
const MAIN_SIZES = '(max-width: 40rem) 100vw, 36rem';
const THUMB_SIZES = '8rem';

function card(product, highlight) {
  return h(
    'article',
    {},
    productImage(product.media?.[0], {sizes: CARD_SIZES, class: 'card-image'}),
    h(
      'h3',
      {},
      h(
        'a',
        {href: `#/product/${encodeURIComponent(product.id)}`},
        highlight?.name ? highlighted(highlight.name) : product.name,
      ),
    ),
    h('p', {}, highlight?.description ? highlighted(highlight.description) : product.description),
    h('footer', {class: 'actions'}, h('span', {class: 'price'}, fromPrice(product)), stockNote(product.stock)),
  );
}

function grid(products, highlights = false) {
  if (!products.length) return h('p', {}, 'Nothing here yet.');
  return h(
    'div',
    {class: 'grid-products'},
    products.map((p) => card(p, highlights ? p.highlight : null)),
  );
}

export async function home() {
  const [categories, products] = await Promise.all([get('/api/categories'), get('/api/products?limit=12')]);
  return [
    h('h1', {}, 'Shop'),
    h(
      'nav',
      {'aria-label': 'Categories'},
      h(
        'ul',
        {},
        categories.map((c) =>
          h('li', {}, h('a', {href: `#/category/${encodeURIComponent(c.slug)}`}, `${c.slug} (${c.product_count})`)),
        ),
      ),
    ),
    h('h2', {}, 'New in the shop'),
    grid(products),
  ];
}

export async function category(slug, params) {
  const {items, next} = await listPage(params, `/api/products?category=${encodeURIComponent(slug)}&limit=24`);
  return [h('h1', {}, slug), grid(items), h('p', {}, nextLink(`category/${encodeURIComponent(slug)}`, next, 'More'))];
}

const SORTS = [
  ['relevance', 'Best match'],
  ['price_asc', 'Price, lowest first'],
  ['price_desc', 'Price, highest first'],
  ['newest', 'Newest'],
];
const FILTERS = ['q', 'category', 'min_price', 'max_price', 'in_stock', 'option', 'sort'];

/** The option values chosen in `option` (`Size:M,Colour:Blue`), each once, in the order the
 *  shopper chose them: a new one goes last, and taking one out leaves the others' order. */
function chosenOptions(params) {
  return [...new Set((params.get('option') ?? '').split(',').filter((pair) => pair.includes(':')))];
}

/** The option facets with every chosen value among them, one the answer does not count as 0
 *  (so it can still be unchosen). */
function optionFacets(options, chosen) {
  const facets = options.map((o) => ({name: o.name, values: [...o.values]}));
  for (const pair of chosen) {
    const [name, value] = pair.split(':', 2);
    let facet = facets.find((o) => o.name === name);
    if (!facet) facets.push((facet = {name, values: []}));
    if (!facet.values.some((v) => v.value === value)) facet.values.push({value, count: 0});
  }
  return facets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function priceLabel(bucket, currency) {
  const from = money({amount: bucket.from, currency});
  return bucket.to === null || bucket.to === undefined
    ? `${from} and more`
    : `${from} to ${money({amount: bucket.to, currency})}`;
}

export async function search(params) {
  const query = new URLSearchParams();
  for (const name of FILTERS) if (params.get(name)) query.set(name, params.get(name));
  query.set('limit', '24');
  const results = await get(`/api/search?${query}`);
  const currency = results.items[0]?.price.currency ?? 'EUR';
  document.getElementById('q').value = params.get('q') ?? '';

  const choose = (changes) => {
    const next = new URLSearchParams();
    for (const name of FILTERS) if (params.get(name)) next.set(name, params.get(name));
    for (const [name, value] of Object.entries(changes)) value === null ? next.delete(name) : next.set(name, value);
    go(`search?${next}`);
  };
  const radio = (group, label, checked, onchange, count) =>
    h(
      'label',
      {},
      h('input', {type: 'radio', name: group, checked, onchange}),
      label,
      count !== undefined && h('span', {class: 'muted'}, ` (${count})`),
    );
  const priceChosen = params.get('min_price') ?? '';
  const optionsChosen = chosenOptions(params);
  const toggleOption = (pair) => (e) => {
    const next = optionsChosen.filter((p) => p !== pair);
    if (e.target.checked) next.push(pair);
    choose({option: next.length ? next.join(',') : null});
  };
  const facets = h(
    'aside',
    {'aria-label': 'Filters'},
    h(
      'fieldset',
      {},
      h('legend', {}, 'Category'),
      radio('category', 'Any', !params.get('category'), () => choose({category: null})),
      results.facets.category.map((c) =>
        radio('category', c.value, params.get('category') === c.value, () => choose({category: c.value}), c.count),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Price'),
      radio('price', 'Any', !priceChosen, () => choose({min_price: null, max_price: null})),
      results.facets.price
        .filter((b) => b.count > 0 || String(b.from) === priceChosen)
        .map((b) =>
          radio(
            'price',
            priceLabel(b, currency),
            String(b.from) === priceChosen,
            () => choose({min_price: b.from, max_price: b.to === null || b.to === undefined ? null : b.to - 1}),
            b.count,
          ),
        ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Availability'),
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          name: 'in_stock',
          checked: params.get('in_stock') === 'true',
          onchange: (e) => choose({in_stock: e.target.checked ? 'true' : null}),
        }),
        'In stock only',
        h('span', {class: 'muted'}, ` (${results.facets.in_stock.true})`),
      ),
    ),
    optionFacets(results.facets.options ?? [], optionsChosen).map((option) =>
      h(
        'fieldset',
        {},
        h('legend', {}, option.name),
        option.values
          .filter((v) => v.count > 0 || optionsChosen.includes(`${option.name}:${v.value}`))
          .map((v) => {
            const pair = `${option.name}:${v.value}`;
            return h(
              'label',
              {},
              h('input', {
                type: 'checkbox',
                name: 'option',
                value: pair,
                checked: optionsChosen.includes(pair),
                onchange: toggleOption(pair),
              }),
              v.value,
              h('span', {class: 'muted'}, ` (${v.count})`),
            );
          }),
      ),
    ),
  );
  const sort = h(
    'select',
    {id: 'sort', name: 'sort', onchange: (e) => choose({sort: e.target.value})},
    SORTS.map(([value, label]) => h('option', {value, selected: (params.get('sort') ?? 'relevance') === value}, label)),
  );
  const heading = params.get('q') ? `Results for “${params.get('q')}”` : 'All products';
  announce(`${results.total} results`);
  return [
    h('h1', {}, heading),
    h(
      'div',
      {class: 'layout-search'},
      facets,
      h(
        'section',
        {'aria-label': 'Results'},
        h(
          'div',
          {class: 'actions'},
          h('p', {id: 'result-count'}, `${results.total} ${results.total === 1 ? 'result' : 'results'}`),
          h('label', {for: 'sort'}, 'Sort by'),
          sort,
        ),
        grid(results.items, true),
      ),
    ),
  ];
}

/** A product's images in the order its page shows them: those naming `variant` first (when
 *  any does), then the others, each group in the product's order. */
function galleryOrder(media, variant) {
  const first = variant ? media.filter((m) => m.variant_id === variant.id) : [];
  return [...first, ...media.filter((m) => !first.includes(m))];
}

/** The variant of `variants` whose values of `options` are `chosen`'s, if one is offered. */
function offered(variants, options, chosen) {
  return variants.find((v) => options.every((o) => v.options[o.name] === chosen[o.name])) ?? null;
}

export async function product(id) {
  const [item, {rules}] = await Promise.all([get(`/api/products/${encodeURIComponent(id)}`), storefront()]);
  const most = rules.max_quantity;
  const options = item.options ?? [];
  const variants = item.variants ?? [];
  // The first variant in stock is chosen first (a product without options has only the one).
  const chosen = {...(variants.find((v) => v.stock > 0) ?? variants[0])?.options};

  const price = h('span', {class: 'price', id: 'price'});
  const stock = h('span', {id: 'stock-note'});
  const sku = h('span', {id: 'sku'});
  const buy = h('div', {class: 'buy'});
  const media = (item.media ?? []).filter((m) => m.sizes?.length);
  const gallery = media.length > 0 && h('div', {class: 'gallery', id: 'gallery'});
  let galleryShown = null;
  // Each choice's note: "(sold out)" or "(unavailable)" with the other options as chosen.
  const notes = options.map((option) => option.values.map(() => h('span', {class: 'muted'})));

  function buyForm(variant) {
    const previous = buy.querySelector('input[name=quantity]');
    const max = Math.min(most, variant.stock);
    const form = onSubmit(
      h(
        'form',
        {class: 'actions', 'aria-label': 'Add to cart'},
        field('Quantity', {
          name: 'quantity',
          type: 'number',
          min: 1,
          max,
          value: Math.max(1, Math.min(max, Number(previous?.value) || 1)),
          required: true,
        }),
        h('button', {type: 'submit'}, 'Add to cart'),
      ),
      async ({quantity}) => {
        // A visitor who is not signed in buys as a guest.
        await startGuest();
        const cart = await get('/api/cart');
        const held = cart.lines.find((line) => line.variant_id === variant.id)?.quantity ?? 0;
        await put(`/api/cart/items/${encodeURIComponent(variant.id)}`, {
          quantity: Math.min(most, held + Number(quantity)),
        });
        changed();
        announce(`${variantName(item.name, variant.options)} is in your cart`);
        form.nextElementSibling?.remove();
        form.after(h('p', {class: 'ok', role: 'status'}, 'Added. ', h('a', {href: '#/cart'}, 'See your cart')));
      },
    );
    return form;
  }

  /** Shows the chosen variant: its price, stock, SKU, what each other choice would be, and the
   *  form that buys it. */
  function update() {
    const variant = offered(variants, options, chosen);
    fill(price, variant ? money(variant.price) : fromPrice(item));
    fill(
      stock,
      variant ? stockNote(variant.stock) : h('small', {class: 'problem'}, 'Not available in this combination'),
    );
    fill(sku, variant ? `SKU ${variant.sku} · ` : '');
    if (gallery) {
      // Drawn again only when the order changes (the files are not asked for again).
      const ordered = galleryOrder(media, variant);
      const key = ordered.map((m) => m.id).join(' ');
      if (key !== galleryShown) {
        galleryShown = key;
        fill(
          gallery,
          ordered.map((m, i) =>
            i === 0
              ? productImage(m, {sizes: MAIN_SIZES, width: 600})
              : productImage(m, {sizes: THUMB_SIZES, width: 200}),
          ),
        );
      }
    }
    options.forEach((option, i) =>
      option.values.forEach((value, j) => {
        const other = offered(variants, options, {...chosen, [option.name]: value});
        notes[i][j].textContent = !other ? ' (unavailable)' : other.stock > 0 ? '' : ' (sold out)';
      }),
    );
    fill(buy, variant && variant.stock > 0 && item.active ? buyForm(variant) : null);
    return variant;
  }

  const choose = (name, value) => () => {
    chosen[name] = value;
    const variant = update();
    announce(
      variant
        ? `${optionText(variant.options)}: ${money(variant.price)}, ${stockWords(variant.stock)}`
        : 'Not available in this combination',
    );
  };
  const picker =
    options.length > 0 &&
    h(
      'div',
      {class: 'picker'},
      options.map((option, i) =>
        h(
          'fieldset',
          {},
          h('legend', {}, option.name),
          option.values.map((value, j) =>
            h(
              'label',
              {},
              h('input', {
                type: 'radio',
                name: `option-${i}`,
                value,
                checked: chosen[option.name] === value,
                onchange: choose(option.name, value),
              }),
              value,
              notes[i][j],
            ),
          ),
        ),
      ),
    );
  update();

  const attributes = Object.entries(item.attributes ?? {});
  return h(
    'article',
    {},
    h('h1', {}, item.name),
    gallery,
    h('p', {}, price, ' ', stock),
    h('p', {}, item.description),
    attributes.length > 0 &&
      h(
        'table',
        {},
        h(
          'tbody',
          {},
          attributes.map(([name, value]) => h('tr', {}, h('th', {scope: 'row'}, name), h('td', {}, value))),
        ),
      ),
    h(
      'p',
      {},
      h(
        'small',
        {class: 'muted'},
        sku,
        h('a', {href: `#/category/${encodeURIComponent(item.category)}`}, item.category),
      ),
    ),
    picker,
    buy,
  );
}

/** The search box in the header: suggestions as the shopper types, and a suggestion chosen
 *  opens its product. */
export function searchBox(form) {
  const input = form.elements.namedItem('q');
  const list = document.getElementById('suggestions');
  let shown = [];
  let timer = null;
  input.addEventListener('input', () => {
    const chosen = shown.find((s) => s.text === input.value);
    if (chosen) {
      go(`product/${encodeURIComponent(chosen.product_id)}`);
      return;
    }
    clearTimeout(timer);
    const typed = input.value.trim();
    if (typed.length < 2) return list.replaceChildren();
    timer = setTimeout(async () => {
      try {
        shown = await get(`/api/search/suggest?q=${encodeURIComponent(typed)}`);
        list.replaceChildren(...shown.map((s) => h('option', {value: s.text})));
      } catch {
        /* suggestions are a help, not a need */
      }
    }, 150);
  });
  const searched = act(() => go(`search?${new URLSearchParams({q: input.value.trim()})}`));
  form.addEventListener('submit', searched);
}
