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
 *  404. Bodies are read as JSON, or as a form where the call says it sends one. Returns the calls
 *  made, in order (with `ifMatch`, for one that sends an `If-Match`). */
export function fakeApi(routes) {
  const calls = [];
  globalThis.fetch = async (path, init = {}) => {
    const method = init.method ?? 'GET';
    const headers = new Headers(init.headers);
    const form = headers.get('content-type') === 'application/x-www-form-urlencoded';
    const read = (text) => (form ? Object.fromEntries(new URLSearchParams(text)) : JSON.parse(text));
    const body = init.body === undefined ? undefined : read(init.body);
    calls.push(headers.has('if-match') ? {method, path, body, ifMatch: headers.get('if-match')} : {method, path, body});
    const route = routes[`${method} ${path}`];
    const [status, answer, more = {}] = route
      ? route(body)
      : [404, {title: 'Not Found', status: 404, detail: `No ${path}.`}];
    const type = status < 300 ? 'application/json' : 'application/problem+json';
    return new Response(JSON.stringify(answer), {status, headers: {'content-type': type, ...more}});
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
