// What the unit tests share: the storefront's own page (assets/index.html) in jsdom, with its
// window's globals installed as the page's modules expect them, and a stand-in for the API.
// Import it before the page's modules. Each test file runs in a process of its own.

import {readFileSync} from 'node:fs';
import {JSDOM} from 'jsdom';

const html = readFileSync(new URL('../../assets/index.html', import.meta.url), 'utf8');
// No script runs and nothing is loaded: the tests import the modules themselves.
export const {window} = new JSDOM(html, {url: 'http://shop.test/'});

globalThis.window = window;
for (const name of [
  'document',
  'location',
  'history',
  'sessionStorage',
  'localStorage',
  'Node',
  'HTMLElement',
  'Event',
  'HashChangeEvent',
]) {
  globalThis[name] = window[name];
}
globalThis.addEventListener = window.addEventListener.bind(window);
globalThis.dispatchEvent = window.dispatchEvent.bind(window);

/** Answers the page's calls from `routes` (`{'PUT /api/cart/items/v1': (body) => [200, {...}]}`,
 *  and a third element for more headers of the answer: `{etag: '"3"'}`; a call elsewhere is
 *  named by its URL: `'POST https://auth.test/oauth2/token'`); anything else is a problem+json
 *  404. An answer that is a string is sent as it is (name its `content-type` in the headers).
 *  Bodies are read as JSON, as a form where the call says it sends one, or as text where it
 *  sends another type (a file: the call then has its `type`). Returns the calls made, in order
 *  (with `ifMatch`, for one that sends an `If-Match`); each call's `headers` are there too, not
 *  enumerated (a `deepEqual` compares the rest). */
export function fakeApi(routes) {
  const calls = [];
  globalThis.fetch = async (path, init = {}) => {
    const method = init.method ?? 'GET';
    const headers = new Headers(init.headers);
    const type = headers.get('content-type') ?? 'application/json';
    const form = type === 'application/x-www-form-urlencoded';
    const raw = !form && !type.includes('json');
    const read = (text) => (form ? Object.fromEntries(new URLSearchParams(text)) : raw ? text : JSON.parse(text));
    // A file is read as its text (a string is read at once, as the page sent it).
    const text = typeof init.body === 'object' ? await init.body.text() : init.body;
    const body = text === undefined ? undefined : read(text);
    const call = {method, path, body};
    if (raw && body !== undefined) call.type = type;
    if (headers.has('if-match')) call.ifMatch = headers.get('if-match');
    Object.defineProperty(call, 'headers', {value: headers});
    calls.push(call);
    const route = routes[`${method} ${path}`];
    const [status, answer, more = {}] = route
      ? route(body)
      : [404, {title: 'Not Found', status: 404, detail: `No ${path}.`}];
    const json = status < 300 ? 'application/json' : 'application/problem+json';
    const payload = typeof answer === 'string' ? answer : JSON.stringify(answer);
    return new Response(payload, {status, headers: {'content-type': json, ...more}});
  };
  return calls;
}

/** Resolves once `check()` holds (or fails after a second). */
export async function until(check, what = String(check)) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never: ${what}`);
}

/** An ID token as the API's login answers it (unsigned: the page only reads its claims). */
export function idToken(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({alg: 'none'})}.${part(claims)}.`;
}

/** Every value the tab's web storage holds, as one string. */
export function webStorage() {
  const values = [];
  for (let i = 0; i < sessionStorage.length; i++) values.push(sessionStorage.getItem(sessionStorage.key(i)));
  for (let i = 0; i < window.localStorage.length; i++) {
    values.push(window.localStorage.getItem(window.localStorage.key(i)));
  }
  return values.join('\n');
}

/** Fills the first form in `main` with `values` (by field name) and submits it; answers it. */
export function submit(main, values) {
  const form = main.querySelector('form');
  for (const [name, value] of Object.entries(values)) form.elements.namedItem(name).value = value;
  form.requestSubmit();
  return form;
}

/** A cart of one €12.50 mug, as the API answers it without a destination. */
export const MUG_CART = {
  lines: [
    {
      product_id: 'p1',
      variant_id: 'p1',
      name: 'Mug',
      options: {},
      quantity: 1,
      unit_price: {amount: 1250, currency: 'EUR'},
      line_total: {amount: 1250, currency: 'EUR'},
    },
  ],
  total: {amount: 1250, currency: 'EUR'},
  totals: null,
  shipping: null,
  ready_for_checkout: true,
};

/** Saves what the page downloads (`saved`: each link followed, with the file's text) instead of
 *  following its links, and the object URLs it revokes. */
export function downloads(t) {
  const saved = [];
  const revoked = [];
  const blobs = new Map();
  let made = 0;
  t.mock.method(URL, 'createObjectURL', (blob) => {
    const url = `blob:http://shop.test/${++made}`;
    blobs.set(url, blob);
    return url;
  });
  t.mock.method(URL, 'revokeObjectURL', (url) => revoked.push(url));
  const follow = (event) => {
    if (event.target.localName !== 'a') return;
    event.preventDefault();
    const url = event.target.getAttribute('href');
    saved.push({url, download: event.target.getAttribute('download'), blob: blobs.get(url)});
  };
  document.addEventListener('click', follow);
  t.after(() => document.removeEventListener('click', follow));
  return {saved, revoked};
}

/** The address the checkout tests fill in, as a checkout's body sends it. */
export const ADA_IN_BERLIN = {
  name: 'Ada',
  line1: '1 Main St',
  line2: null,
  postal_code: '10115',
  city: 'Berlin',
  region: null,
  country: 'DE',
};
