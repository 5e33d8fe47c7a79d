// Where the page is: the route after `#/` and its query (`#/search?q=lamp`).

export function here() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return {path, params: new URLSearchParams(query)};
}

/** Shows `path`; going where the page already is shows it again (a search run again). */
export function go(path) {
  const target = `#/${path}`;
  if (location.hash === target) dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = target;
}

/** Asks for the header to be drawn again (the cart's count, the session). */
export function changed() {
  dispatchEvent(new Event('session'));
}
