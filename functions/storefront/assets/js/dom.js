// Building the page. Every text from the API goes in as a text node, never as markup: a product
// named `<img src=x onerror=alert(1)>` shows as those characters.

import {ApiError} from './api.js';

/** An element: `h('a', {href: '#/'}, 'Home')`. `on<event>` attributes are listeners; children
 *  are nodes, strings (as text), or arrays of them; null and false are skipped. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/** Replaces what `element` shows by `children` (as `h` takes them). */
export function fill(element, children) {
  element.replaceChildren();
  append(element, [children]);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Shows a view in `main`, the one way the page draws one (the router's, and so `redraw`'s):
 *  its content, the document's title from its heading, and focus on the content, which tells
 *  assistive technology the page changed (unless the person is typing in the search box).
 *  `announced` also says the title aloud: arriving somewhere does, drawing the same view again
 *  leaves the last word to what the view announced. */
export function show(main, content, {announced = true} = {}) {
  fill(main, content);
  const heading = main.querySelector('h1');
  document.title = heading ? `${heading.textContent} · Shop` : 'Shop';
  if (document.activeElement !== document.getElementById('q')) main.focus({preventScroll: true});
  if (announced) announce(document.title);
}

/** A table: its column headings, its rows (`tr` elements), and an optional footer row. */
export function table(headings, rows, footer = null) {
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headings.map((t) => h('th', {scope: 'col'}, t)),
      ),
    ),
    h('tbody', {}, rows),
    footer && h('tfoot', {}, footer),
  );
}

/** An image uploaded for a product (one of its `media`): each of its sizes in `srcset`, `sizes`
 *  as the layout shows it, loaded when it comes near the view. Its `width` and `height` are
 *  those of the narrowest size at least `width` wide (else the widest): the box is kept before
 *  the file arrives. Nothing for an image with no size (no broken image). */
export function productImage(image, {sizes, width = 600, ...attributes}) {
  const all = image?.sizes ?? [];
  if (!all.length) return null;
  const chosen = all.find((s) => s.width >= width) ?? all.at(-1);
  return h('img', {
    src: chosen.url,
    srcset: all.map((s) => `${s.url} ${s.width}w`).join(', '),
    sizes,
    width: chosen.width,
    height: chosen.height,
    alt: image.alt ?? '',
    loading: 'lazy',
    decoding: 'async',
    ...attributes,
  });
}

/** The link to a list's next page, shown by the view at `route`; nothing on the last page. */
export function nextLink(route, next, label) {
  return next && h('a', {href: `#/${route}?page=${encodeURIComponent(next)}`}, label);
}

/** A "More" button that reads a list's following pages into the page shown, one per click,
 *  without leaving it: `next` is the path of the page after the one shown (hidden from the
 *  start when there is none); `read(path)` answers a page, `{items, next}`; `add(items)` puts
 *  its items in the list; `noun`, `[one, many]`, names them in what is announced ("3 more
 *  records"). Hidden once the last page is read. */
export function moreButton({next, read, add, noun: [one, many]}) {
  const more = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      hidden: !next,
      onclick: act(async () => {
        const page = await read(next);
        add(page.items);
        next = page.next;
        more.hidden = !next;
        announce(`${page.items.length} more ${page.items.length === 1 ? one : many}`);
      }),
    },
    'More',
  );
  return more;
}

/** Search highlights: the API marks matched words with `<em>` in otherwise HTML-escaped text.
 *  They are read as exactly that (no other tag is honoured) and shown with `<mark>`. */
export function highlighted(fragment) {
  const parts = [];
  const text = (s) =>
    s.replace(/&(lt|gt|quot|#39|amp);/g, (_, e) => ({lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&'})[e]);
  let marked = false;
  for (const piece of fragment.split(/(<\/?em>)/)) {
    if (piece === '<em>') marked = true;
    else if (piece === '</em>') marked = false;
    else if (piece) parts.push(marked ? h('mark', {}, text(piece)) : text(piece));
  }
  return parts;
}

const currencyDigits = new Map();
const formats = new Map();

/** Takes each currency's digits of minor units as the API counts them (`rules.currency_digits`
 *  of `/storefront.json`: ISO 4217's). The browser's own tables (CLDR) differ for some
 *  currencies (HUF, IDR and IQD among them), so they are only the fallback for a currency the
 *  API did not name. */
export function useCurrencyDigits(table) {
  currencyDigits.clear();
  formats.clear();
  for (const [currency, digits] of Object.entries(table ?? {})) currencyDigits.set(currency, digits);
}

function fractionDigits(currency) {
  return (
    currencyDigits.get(currency) ??
    new Intl.NumberFormat('en', {style: 'currency', currency}).resolvedOptions().maximumFractionDigits
  );
}

/** Money in minor units as the shopper's locale writes it: `{amount: 1999, currency: 'EUR'}`. */
export function money(value) {
  if (!value) return '';
  let format = formats.get(value.currency);
  if (!format) {
    const digits = fractionDigits(value.currency);
    format = new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency: value.currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    formats.set(value.currency, format);
  }
  return format.format(value.amount / 10 ** format.resolvedOptions().maximumFractionDigits);
}

/** A product's price as a list shows it: "from €19.99" when its variants' prices differ. */
export function fromPrice(product) {
  const varies = product.max_price && product.max_price.amount > product.price.amount;
  return varies ? `from ${money(product.price)}` : money(product.price);
}

/** A variant's option values as a shopper reads them, by the options' names in order (as the
 *  shop's emails write them): `{Size: 'M', Colour: 'Black'}` is "Black / M"; a product without
 *  options has none (''). */
export function optionText(options) {
  return Object.keys(options ?? {})
    .sort()
    .map((name) => options[name])
    .join(' / ');
}

/** A product's name with its variant's option values: "T-Shirt — Black / M" (the name alone for
 *  a product sold as one variant). */
export function variantName(name, options) {
  const values = optionText(options);
  return values ? `${name} — ${values}` : name;
}

/** Minor units of a currency from what a person typed ("12.5" EUR is 1250). */
export function minorUnits(text, currency) {
  const value = Number(String(text).replace(',', '.'));
  return Number.isFinite(value) ? Math.round(value * 10 ** fractionDigits(currency)) : NaN;
}

/** Money as a person types it back: `{amount: 1250, currency: 'EUR'}` is "12.50". */
export function majorUnits(value) {
  const digits = fractionDigits(value.currency);
  return (value.amount / 10 ** digits).toFixed(digits);
}

export function date(timestamp) {
  return new Date(timestamp).toLocaleString();
}

/** The form's fields as an object of trimmed strings (checkboxes as booleans; of a group of
 *  radio buttons, the checked one's value, none while none is). */
export function fields(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name || (element.type === 'radio' && !element.checked)) continue;
    values[element.name] = element.type === 'checkbox' ? element.checked : element.value.trim();
  }
  return values;
}

/** A labelled input, its hint (if any) after it and not in its name:
 *  `field('Email', {name: 'email', type: 'email', required: true})`. */
export function field(label, attributes, hint) {
  const id = attributes.id ?? `f-${attributes.name}`;
  const hintId = hint ? `${id}-hint` : null;
  return h(
    'div',
    {class: 'field'},
    h('label', {for: id}, label),
    h('input', {id, 'aria-describedby': hintId, ...attributes}),
    hint && h('small', {id: hintId}, hint),
  );
}

/** A refusal the page words itself (a check made before asking the API, or a step that could
 *  not be taken): shown to the person as it is, like the API's problems. */
export class Refusal extends Error {}

/** What a person is told of a failed action: the API's problem (its detail, else its title), or
 *  the page's own refusal. Anything else is a fault of the page or of the network: the person is
 *  asked to try again, and the fault goes to the console. */
export function problemText(error) {
  if (error instanceof ApiError || error instanceof Refusal) return error.message;
  console.error(error);
  return 'Something went wrong. Please try again.';
}

/** Shows what went wrong where it happened. In a form (`place`): the problem above its fields,
 *  and each refused field's message at its input; a refused field the form does not show (or
 *  hides: a checkout's new address while a saved one is chosen) is listed with the problem. After any other control (`place`, a button say): the problem. */
export function showProblem(place, error) {
  clearProblem(place);
  const form = place.localName === 'form' ? place : null;
  const box = h(
    'div',
    {class: `${form ? 'form-problem' : 'action-problem'} problem`, role: 'alert'},
    problemText(error),
  );
  const elsewhere = [];
  for (const {field: name, message} of error?.problem?.errors ?? []) {
    const input = form && (form.elements.namedItem(name) ?? form.elements.namedItem(name.split('.').pop()));
    if (input instanceof HTMLElement && input.id && !input.closest('[hidden]')) {
      const note = h('small', {class: 'field-error problem', id: `${input.id}-error`}, message);
      const described = input.getAttribute('aria-describedby');
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', described ? `${described} ${note.id}` : note.id);
      input.after(note);
    } else {
      elsewhere.push(h('li', {}, `${name}: ${message}`));
    }
  }
  if (elsewhere.length) box.append(h('ul', {}, elsewhere));
  if (form) form.prepend(box);
  else place.after(box);
}

/** Takes away what `showProblem` showed at `place`. */
export function clearProblem(place) {
  if (place.localName !== 'form') {
    if (place.nextElementSibling?.classList.contains('action-problem')) place.nextElementSibling.remove();
    return;
  }
  for (const old of place.querySelectorAll('.form-problem, .field-error')) old.remove();
  for (const input of place.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    const kept = (input.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((id) => id && id !== `${input.id}-error`);
    if (kept.length) input.setAttribute('aria-describedby', kept.join(' '));
    else input.removeAttribute('aria-describedby');
  }
}

/** The one way an action a person starts runs (a form's submission, a button's click, a changed
 *  field): `act(run)` is its listener. The control that started it is busy meanwhile (a form's
 *  submit buttons, or the control itself, disabled: a double click sends once); what an earlier
 *  try showed is cleared; and a refusal is shown where it happened (`showProblem`), never
 *  dropped. `run` gets the event; a form's submission does not leave the page. */
export function act(run) {
  return async (event) => {
    const control = event.currentTarget;
    const form = control.localName === 'form' ? control : null;
    if (form) event.preventDefault();
    if (control.getAttribute('aria-busy') === 'true') return;
    const switches = form ? [...form.querySelectorAll('[type=submit]')] : [control];
    control.setAttribute('aria-busy', 'true');
    for (const element of switches) element.disabled = true;
    clearProblem(control);
    try {
      await run(event);
    } catch (error) {
      showProblem(control, error);
    } finally {
      control.removeAttribute('aria-busy');
      for (const element of switches) element.disabled = false;
    }
  };
}

/** Runs a form's submission through `act`, with its fields' values (`fields`) and the form. */
export function onSubmit(form, action) {
  const submitted = act(() => action(fields(form), form));
  form.addEventListener('submit', submitted);
  return form;
}

/** Saves `blob` as the file `name`: a file read with the session's token cannot be a plain
 *  link, so a link to its object URL is followed at once, then taken away. */
export function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h('a', {href: url, download: name, hidden: true});
  document.body.append(link);
  link.click();
  link.remove();
  // The download took the file when the link was followed.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** Tells a screen reader what just happened. */
export function announce(text) {
  const status = document.getElementById('status');
  status.textContent = '';
  setTimeout(() => {
    status.textContent = text;
  }, 50);
}
