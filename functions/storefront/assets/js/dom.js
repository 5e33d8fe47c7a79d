// Building the page. Every text from the API goes in as a text node, never as markup: a product
// named `<img src=x onerror=alert(1)>` shows as those characters.

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

/** A table: its column headings, its rows (`tr` elements), and an optional footer row. */
export function table(headings, rows, footer = null) {
  return h('table', {},
    h('thead', {}, h('tr', {}, headings.map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, rows),
    footer && h('tfoot', {}, footer));
}

/** The link to a list's next page, shown by the view at `route`; nothing on the last page. */
export function nextLink(route, next, label) {
  return next && h('a', {href: `#/${route}?page=${encodeURIComponent(next)}`}, label);
}

/** Search highlights: the API marks matched words with `<em>` in otherwise HTML-escaped text.
 *  They are read as exactly that (no other tag is honoured) and shown with `<mark>`. */
export function highlighted(fragment) {
  const parts = [];
  const text = (s) => s.replace(/&(lt|gt|quot|#39|amp);/g, (_, e) => ({lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&'})[e]);
  let marked = false;
  for (const piece of fragment.split(/(<\/?em>)/)) {
    if (piece === '<em>') marked = true;
    else if (piece === '</em>') marked = false;
    else if (piece) parts.push(marked ? h('mark', {}, text(piece)) : text(piece));
  }
  return parts;
}

const formats = new Map();

/** Money in minor units as the shopper's locale writes it: `{amount: 1999, currency: 'EUR'}`. */
export function money(value) {
  if (!value) return '';
  let format = formats.get(value.currency);
  if (!format) {
    format = new Intl.NumberFormat(undefined, {style: 'currency', currency: value.currency});
    formats.set(value.currency, format);
  }
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(value.amount / 10 ** digits);
}

function fractionDigits(currency) {
  return new Intl.NumberFormat(undefined, {style: 'currency', currency}).resolvedOptions().maximumFractionDigits;
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

/** The form's fields as an object of trimmed strings (checkboxes as booleans). */
export function fields(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    values[element.name] = element.type === 'checkbox' ? element.checked : element.value.trim();
  }
  return values;
}

/** A labelled input, its hint (if any) after it and not in its name:
 *  `field('Email', {name: 'email', type: 'email', required: true})`. */
export function field(label, attributes, hint) {
  const id = attributes.id ?? `f-${attributes.name}`;
  const hintId = hint ? `${id}-hint` : null;
  return h('div', {class: 'field'},
    h('label', {for: id}, label),
    h('input', {id, 'aria-describedby': hintId, ...attributes}),
    hint && h('small', {id: hintId}, hint));
}

/** Shows what went wrong in a form: the problem's detail, and each refused field at its input. */
export function showProblem(form, error) {
  for (const old of form.querySelectorAll('.field-error')) old.remove();
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  let box = form.querySelector('.form-problem');
  if (!box) {
    box = h('p', {class: 'form-problem problem', role: 'alert'});
    form.prepend(box);
  }
  box.textContent = error.message;
  for (const {field: name, message} of error.problem?.errors ?? []) {
    const input = form.elements.namedItem(name) ?? form.elements.namedItem(name.split('.').pop());
    if (input instanceof HTMLElement) {
      input.setAttribute('aria-invalid', 'true');
      const note = h('small', {class: 'field-error problem', id: `${input.id}-error`}, message);
      input.setAttribute('aria-describedby', note.id);
      input.after(note);
    }
  }
}

/** Runs a form's submission: disables it meanwhile (a double click sends once) and shows a
 *  refusal where it happened. */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const submit = form.querySelector('[type=submit]');
    if (form.getAttribute('aria-busy') === 'true') return;
    form.setAttribute('aria-busy', 'true');
    if (submit) submit.disabled = true;
    try {
      await action(fields(form), form);
    } catch (error) {
      if (!error.problem && !(error instanceof Error)) throw error;
      showProblem(form, error);
    } finally {
      form.removeAttribute('aria-busy');
      if (submit) submit.disabled = false;
    }
  });
  return form;
}

/** Tells a screen reader what just happened. */
export function announce(text) {
  const status = document.getElementById('status');
  status.textContent = '';
  setTimeout(() => { status.textContent = text; }, 50);
}
