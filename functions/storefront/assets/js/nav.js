// Where the page is: the route after `#/` and its query (`#/search?q=lamp`), and the one way the
// view it names is drawn.

export function here() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return {path, params: new URLSearchParams(query)};
}

let draw = async () => {};

/** Names the function that draws the view the address names (the app's router, once). */
export function drawWith(render) {
  draw = render;
}

/** Draws the view the address names again, as arriving at it does (its title, focus on it, the
 *  header): how a view shows what an action changed. Resolves once it is drawn. */
export function redraw() {
  return draw();
}

/** Shows `path`; going where the page already is shows it again (a search run again). */
export function go(path) {
  const target = `#/${path}`;
  if (location.hash === target) redraw();
  else location.hash = target;
}

/** Shows `path` in place of the address the page is at, which the history forgets: a link that
 *  acts once (a reminder's, restoring a cart) is not acted on again by going back. Resolves once
 *  it is drawn. */
export function goInstead(path) {
  history.replaceState(history.state, '', `#/${path}`);
  return draw();
}

/** Asks for the header to be drawn again (the cart's count, the session). */
export function changed() {
  dispatchEvent(new Event('session'));
}
