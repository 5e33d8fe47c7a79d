// The one way a view is drawn: `show` (content, title, focus, announcement), and `redraw` and
// `go`, which draw through the function the app names, in jsdom.

import './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {h, show} from '../../assets/js/dom.js';
import {drawWith, redraw, go, here} from '../../assets/js/nav.js';

const main = () => document.getElementById('main');
const status = () => document.getElementById('status');
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('show() fills main, names the page after its heading, moves focus to it, and says the title', async () => {
  document.body.focus();
  show(main(), [h('h1', {}, 'Your cart'), h('p', {}, 'Two lamps')]);
  assert.equal(main().textContent, 'Your cartTwo lamps');
  assert.equal(document.title, 'Your cart · Shop');
  assert.equal(document.activeElement, main());
  await wait(80);
  assert.equal(status().textContent, 'Your cart · Shop');
});

test('show() names a page without a heading after the shop, and can leave the last word to the view', async () => {
  status().textContent = 'Lamp: 3';
  show(main(), h('p', {}, 'No heading'), {announced: false});
  assert.equal(document.title, 'Shop');
  await wait(80);
  assert.equal(status().textContent, 'Lamp: 3');
});

test('show() leaves focus in the search box while the person types there', () => {
  const search = document.getElementById('q');
  search.focus();
  show(main(), h('h1', {}, 'Results'));
  assert.equal(document.activeElement, search);
  assert.equal(document.title, 'Results · Shop');
});

test("redraw() draws through the app's drawing and resolves once it has drawn", async () => {
  const drawn = [];
  drawWith(async () => {
    await wait(5);
    drawn.push(here().path);
  });
  location.hash = '#/cart';
  await wait(0);
  await redraw();
  assert.deepEqual(drawn, ['cart']);
});

test('go() to where the page is draws it again; elsewhere, it changes the address', async () => {
  let drawings = 0;
  drawWith(async () => drawings++);
  location.hash = '#/search?q=lamp';
  await wait(0);
  go('search?q=lamp');
  assert.equal(drawings, 1);
  const changed = new Promise((resolve) => addEventListener('hashchange', resolve, {once: true}));
  go('orders');
  assert.equal(location.hash, '#/orders');
  await changed;
  assert.equal(drawings, 1);
});
