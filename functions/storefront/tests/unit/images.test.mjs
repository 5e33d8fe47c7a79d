// Products' uploaded images, in jsdom against a stand-in API: a card's first image and a
// product's gallery (the chosen variant's images first), each in all its sizes and loaded
// lazily; and the back office's images: uploaded in two steps (asked for, the file sent to its
// target with its type, then followed until made or refused), moved, edited and deleted, each
// change with the version last answered.

import {fakeApi, idToken, until} from './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {show} from '../../assets/js/dom.js';
import {signedIn} from '../../assets/js/api.js';

const eur = (amount) => ({amount, currency: 'EUR'});
/** An image as the API answers it, in the sizes the shop makes (narrowest first). */
const image = (id, alt, variantId) => ({
  id,
  alt,
  ...(variantId ? {variant_id: variantId} : {}),
  sizes: [200, 600, 1200].map((width) => ({
    width,
    height: (width * 3) / 4,
    url: `https://media.test/images/${id}/${width}.jpg`,
  })),
});
const srcset = (id) =>
  [200, 600, 1200].map((width) => `https://media.test/images/${id}/${width}.jpg ${width}w`).join(', ');
const MEDIA = [
  image('img-front', 'The tee from the front'),
  image('img-back', 'The tee from the back'),
  image('img-black', 'The black tee up close', 'v-black'),
  image('img-white', 'The white tee up close', 'v-white'),
];
const variant = (id, colour, stock) => ({
  id,
  sku: `TEE-${colour.toUpperCase()}`,
  options: {Colour: colour},
  price: eur(1500),
  stock,
  images: [],
});

function tee(media = MEDIA, version = 5) {
  return {
    id: 'p1',
    name: 'Tee',
    description: 'Soft.',
    category: 'apparel',
    // The old field of links: never shown.
    images: ['https://elsewhere.test/tee.jpg'],
    attributes: {},
    active: true,
    options: [{name: 'Colour', values: ['Black', 'White']}],
    variants: [variant('v-black', 'Black', 3), variant('v-white', 'White', 4)],
    media,
    price: eur(1500),
    stock: 7,
    version,
  };
}
const LAMP = {
  ...tee([]),
  id: 'p2',
  name: 'Lamp',
  options: [],
  variants: [{...variant('p2', 'Lamp', 2), options: {}}],
};

let product = tee();
const answered = (status = 200) => [status, product, {etag: `"${product.version}"`}];
/** The product after `change` to its images, one version on. */
const changed = (change) => {
  product = {...product, media: change(product.media), version: product.version + 1};
  return answered();
};

const NEW = image('img-new', 'The tee folded');
const UPLOAD_BYTES = 'PNG, a picture';
const target = (id) => ({
  method: 'PUT',
  url: `https://uploads.test/uploads/${id}?signature=s3cr3t`,
  headers: {'content-type': 'image/png', 'content-length': String(UPLOAD_BYTES.length)},
  expires_at: '2026-12-01T10:15:00Z',
});
const upload = (id, state, fields = {}) => ({
  id,
  product_id: 'p1',
  alt: 'The tee folded',
  content_type: 'image/png',
  size: UPLOAD_BYTES.length,
  state,
  created_at: '2026-12-01T10:00:00Z',
  updated_at: '2026-12-01T10:00:00Z',
  ...fields,
});
// What each upload's record says at each later asking (the image is made as the first is done),
// and the id of the next upload asked for.
const later = {
  up1: [
    () => upload('up1', 'waiting'),
    () => {
      changed((media) => [...media, NEW]);
      return upload('up1', 'done', {image_id: 'img-new'});
    },
  ],
  up2: [() => upload('up2', 'refused', {reason: 'the file is not a JPEG, PNG, WebP or GIF image'})],
};
let next = 'up1';

const routes = {
  'GET /storefront.json': () => [200, {cards: {provider: 'simulated'}, rules: {max_quantity: 10}}],
  'GET /api/categories': () => [200, [{slug: 'apparel', product_count: 2}]],
  'GET /api/products?limit=12': () => [200, [tee(), LAMP]],
  'GET /api/search?q=tee&limit=24': () => [
    200,
    {
      items: [{...tee(), highlight: {name: '<em>Tee</em>'}}, LAMP],
      total: 2,
      facets: {category: [], price: [], in_stock: {true: 2}},
    },
  ],
  'GET /api/products/p1': () => [200, tee()],
  'GET /api/products/p2': () => [200, LAMP],
  'GET /api/products/p1/record': () => answered(),
  'GET /api/products/p2/record': () => [200, LAMP, {etag: '"3"'}],
  'GET /api/cart': () => [200, {lines: [], total: eur(0)}],
  'POST /api/products/p1/images': () => [
    201,
    {upload: upload(next, 'waiting'), target: target(next)},
    {location: `/api/products/p1/images/uploads/${next}`},
  ],
  'PUT https://uploads.test/uploads/up1?signature=s3cr3t': () => [200, ''],
  'PUT https://uploads.test/uploads/up2?signature=s3cr3t': () => [200, ''],
  'GET /api/products/p1/images/uploads/up1': () => [200, later.up1.shift()()],
  'GET /api/products/p1/images/uploads/up2': () => [200, later.up2.shift()()],
  'PUT /api/products/p1/images/order': (body) =>
    changed((media) => body.order.map((id) => media.find((m) => m.id === id))),
};
for (const {id} of [...MEDIA, NEW]) {
  routes[`DELETE /api/products/p1/images/${id}`] = () => changed((media) => media.filter((m) => m.id !== id));
  routes[`PUT /api/products/p1/images/${id}`] = (body) =>
    changed((media) => media.map((m) => (m.id === id ? {...image(id, body.alt, body.variant_id), sizes: m.sizes} : m)));
}
const calls = fakeApi(routes);

const TOKEN = idToken({sub: 'u1', email: 'ada@shop.test', 'cognito:groups': ['admin']});
signedIn({id_token: TOKEN, access_token: 'access', refresh_token: 'refresh', expires_in: 3600});
const shop = await import('../../assets/js/views/shop.js');
const admin = await import('../../assets/js/views/admin.js');

const main = document.getElementById('main');
const text = (element) => element.textContent.replace(/\s+/g, ' ').trim();
/** An `<img>`'s attributes that say how it loads. */
const attributes = (img) =>
  Object.fromEntries(
    ['src', 'srcset', 'sizes', 'alt', 'width', 'height', 'loading', 'decoding'].map((name) => [
      name,
      img.getAttribute(name),
    ]),
  );
/** The section of the image whose heading is `label` ("Image 1"). */
const region = (label) => [...main.querySelectorAll('section')].find((s) => text(s.querySelector('h3') ?? s) === label);
const button = (scope, name) => [...scope.querySelectorAll('button')].find((b) => text(b) === name);
const headings = () => [...main.querySelectorAll('section.image-item h3')].map(text);
const alts = () => [...main.querySelectorAll('section.image-item .image-alt')].map(text);

/** Resolves once `check()` holds, letting the page's calls be answered meanwhile (for tests
 *  whose clock is mocked, where `until` would wait for ever). */
async function soon(check, what = String(check)) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never: ${what}`);
}

/** Chooses `file` in the upload form, types its alt text and submits it; answers the form. */
function uploadFile(file, alt) {
  const form = main.querySelector('form[aria-label="Upload an image"]');
  const input = form.elements.namedItem('file');
  assert.equal(input.type, 'file');
  assert.equal(input.accept, 'image/jpeg,image/png,image/webp,image/gif');
  assert.equal(input.labels[0].textContent, 'Image file');
  Object.defineProperty(input, 'files', {value: [file], configurable: true});
  form.elements.namedItem('alt').value = alt;
  form.dispatchEvent(new window.Event('submit', {cancelable: true}));
  return form;
}

test("a card shows its product's first image in every size, loaded lazily; a product without one shows none", async () => {
  location.hash = '#/';
  show(main, await shop.home());
  const [first, second] = main.querySelectorAll('article');
  const img = first.querySelector('img');
  assert.deepEqual(attributes(img), {
    src: 'https://media.test/images/img-front/600.jpg',
    srcset: srcset('img-front'),
    sizes: '(max-width: 576px) 100vw, 22rem',
    alt: 'The tee from the front',
    width: '600',
    height: '450',
    loading: 'lazy',
    decoding: 'async',
  });
  assert.equal(first.querySelectorAll('img').length, 1);
  assert.equal(second.querySelector('img'), null, 'no image, no broken <img>');
  assert.equal(main.querySelector('img[src*="elsewhere.test"]'), null, 'the old links are not shown');
});

test("a search's hits show their first image too", async () => {
  show(main, await shop.search(new URLSearchParams({q: 'tee'})));
  const [first, second] = main.querySelectorAll('article');
  assert.equal(first.querySelector('img').getAttribute('srcset'), srcset('img-front'));
  assert.equal(first.querySelector('img').getAttribute('loading'), 'lazy');
  assert.equal(second.querySelector('img'), null);
});

test("a product's page shows its images, the chosen variant's first, and draws them again for another", async () => {
  location.hash = '#/product/p1';
  show(main, await shop.product('p1'));
  const gallery = main.querySelector('#gallery');
  const shown = () => [...gallery.querySelectorAll('img')].map((img) => img.alt);
  // Black is chosen first (the first in stock).
  assert.deepEqual(shown(), [
    'The black tee up close',
    'The tee from the front',
    'The tee from the back',
    'The white tee up close',
  ]);
  const [large, thumbnail] = gallery.querySelectorAll('img');
  assert.deepEqual(attributes(large), {
    src: 'https://media.test/images/img-black/600.jpg',
    srcset: srcset('img-black'),
    sizes: '(max-width: 40rem) 100vw, 36rem',
    alt: 'The black tee up close',
    width: '600',
    height: '450',
    loading: 'lazy',
    decoding: 'async',
  });
  assert.deepEqual(
    [thumbnail.getAttribute('sizes'), thumbnail.getAttribute('width'), thumbnail.getAttribute('height')],
    ['8rem', '200', '150'],
  );
  assert.equal(gallery.compareDocumentPosition(main.querySelector('#price')), window.Node.DOCUMENT_POSITION_FOLLOWING);

  const white = [...main.querySelectorAll('input[type=radio]')].find((input) => input.value === 'White');
  white.checked = true;
  white.dispatchEvent(new window.Event('change', {bubbles: true}));
  assert.deepEqual(shown(), [
    'The white tee up close',
    'The tee from the front',
    'The tee from the back',
    'The black tee up close',
  ]);
  assert.equal(main.querySelector('img[src*="elsewhere.test"]'), null);
});

test('a product without images shows no image at all', async () => {
  show(main, await shop.product('p2'));
  assert.equal(main.querySelector('img, #gallery'), null);
});

test("the back office lists a product's images: thumbnail, alt text and variant", async () => {
  product = tee();
  location.hash = '#/admin/products/p1';
  show(main, await admin.editProduct('p1'));
  assert.deepEqual(headings(), ['Image 1', 'Image 2', 'Image 3', 'Image 4']);
  const third = region('Image 3');
  assert.deepEqual(attributes(third.querySelector('img')), {
    src: 'https://media.test/images/img-black/200.jpg',
    srcset: srcset('img-black'),
    sizes: '6rem',
    alt: 'The black tee up close',
    width: '200',
    height: '150',
    loading: 'lazy',
    decoding: 'async',
  });
  assert.match(text(third), /Alt text: The black tee up close/);
  assert.match(text(third), /Variant: Black/);
  assert.match(text(region('Image 1')), /Variant: All variants/);
  assert.equal(button(region('Image 1'), 'Move up').disabled, true);
  assert.equal(button(region('Image 4'), 'Move down').disabled, true);
  // The upload form offers the variants.
  const choice = main.querySelector('form[aria-label="Upload an image"] select[name=variant_id]');
  assert.equal(choice.labels[0].textContent, 'Variant');
  assert.deepEqual(
    [...choice.options].map((o) => [o.value, o.textContent]),
    [
      ['', 'All variants'],
      ['v-black', 'Black'],
      ['v-white', 'White'],
    ],
  );
});

test('an upload is asked for, its file PUT to the target with its type, followed until done, and listed', async (t) => {
  t.mock.timers.enable({apis: ['setTimeout']});
  product = tee();
  next = 'up1';
  show(main, await admin.editProduct('p1'));
  const status = document.getElementById('upload-status');
  assert.equal(status.getAttribute('aria-live'), 'polite');
  const form = uploadFile(new window.File([UPLOAD_BYTES], 'folded.png', {type: 'image/png'}), 'The tee folded');
  await soon(() => status.textContent === 'Processing…', 'the file is sent');
  const asked = calls.findLast((c) => c.method === 'POST');
  assert.deepEqual(asked, {
    method: 'POST',
    path: '/api/products/p1/images',
    body: {content_type: 'image/png', size: UPLOAD_BYTES.length, alt: 'The tee folded'},
  });
  const sent = calls.at(-1);
  assert.deepEqual(sent, {
    method: 'PUT',
    path: 'https://uploads.test/uploads/up1?signature=s3cr3t',
    body: UPLOAD_BYTES,
    type: 'image/png',
  });
  assert.equal(sent.headers.has('content-length'), false, 'the browser sets it');
  assert.equal(sent.headers.has('authorization'), false, "the session's token stays with the shop");
  assert.equal(form.querySelector('[type=submit]').disabled, true, 'one upload at a time');

  t.mock.timers.tick(1000);
  await soon(() => calls.at(-1).path === '/api/products/p1/images/uploads/up1', 'the upload is asked after');
  assert.equal(status.textContent, 'Processing…');
  assert.deepEqual(headings(), ['Image 1', 'Image 2', 'Image 3', 'Image 4']);

  t.mock.timers.tick(1000);
  await soon(() => region('Image 5'), 'the new image is listed');
  assert.equal(calls.at(-1).path, '/api/products/p1/record', "the product's latest version is read");
  assert.equal(alts()[4], 'The tee folded');
  assert.equal(region('Image 5').querySelector('img').alt, 'The tee folded');
  assert.equal(status.textContent, 'Uploaded: it is image 5.');
  assert.equal(form.elements.namedItem('alt').value, '', 'the form is ready for the next');
  assert.equal(form.querySelector('[role=alert]'), null);
  assert.equal(calls.filter((c) => c.path.includes('/uploads/up1')).length, 3, 'no asking once done');

  // Deleting it sends the version the record answered.
  button(region('Image 5'), 'Delete image').click();
  await soon(() => !region('Image 5'), 'the image is gone');
  const deleted = calls.findLast((c) => c.method === 'DELETE');
  assert.equal(deleted.path, '/api/products/p1/images/img-new');
  assert.equal(deleted.ifMatch, '"6"');
});

test('an upload refused once its file is read shows why, and lists nothing new', async (t) => {
  t.mock.timers.enable({apis: ['setTimeout']});
  product = tee();
  next = 'up2';
  show(main, await admin.editProduct('p1'));
  const status = document.getElementById('upload-status');
  const form = uploadFile(new window.File(['not a picture'], 'notes.png', {type: 'image/png'}), 'Notes');
  await soon(() => status.textContent === 'Processing…', 'the file is sent');
  assert.ok(calls.some((c) => c.method === 'PUT' && c.path.startsWith('https://uploads.test/uploads/up2')));
  t.mock.timers.tick(1000);
  await soon(() => form.querySelector('[role=alert]'), 'the refusal is shown');
  assert.equal(
    text(form.querySelector('[role=alert]')),
    'The image was refused: the file is not a JPEG, PNG, WebP or GIF image',
  );
  assert.equal(status.textContent, '');
  assert.equal(headings().length, 4);
  assert.notEqual(calls.at(-1).path, '/api/products/p1/record');
  assert.equal(form.querySelector('[type=submit]').disabled, false);
});

test('a file that is no image the shop takes, or too large, is refused before anything is asked', async () => {
  product = tee();
  show(main, await admin.editProduct('p1'));
  const before = calls.length;
  let form = uploadFile(new window.File(['%PDF'], 'leaflet.pdf', {type: 'application/pdf'}), 'Leaflet');
  await until(() => form.querySelector('[role=alert]'), 'the refusal is shown');
  assert.equal(text(form.querySelector('[role=alert]')), 'Choose a JPEG, PNG, WebP or GIF image.');
  const big = new window.File(['x'], 'huge.jpg', {type: 'image/jpeg'});
  Object.defineProperty(big, 'size', {value: 10 * 1024 * 1024 + 1});
  form = uploadFile(big, 'Huge');
  await until(() => text(form.querySelector('[role=alert]') ?? form).includes('10 MB'), 'the refusal is shown');
  assert.equal(calls.length, before);
});

test('images are moved, edited and deleted, each with the version last answered', async () => {
  product = tee();
  show(main, await admin.editProduct('p1'));
  button(region('Image 1'), 'Move down').click();
  await until(() => alts()[0] === 'The tee from the back', 'the images are moved');
  let sent = calls.findLast((c) => c.method === 'PUT');
  assert.equal(sent.path, '/api/products/p1/images/order');
  assert.equal(sent.ifMatch, '"5"');
  assert.deepEqual(sent.body, {order: ['img-back', 'img-front', 'img-black', 'img-white']});
  assert.equal(document.activeElement, region('Image 2').querySelector('h3'), 'focus follows the image');

  button(region('Image 4'), 'Move up').click();
  await until(() => alts()[2] === 'The white tee up close', 'the images are moved');
  sent = calls.findLast((c) => c.method === 'PUT');
  assert.equal(sent.ifMatch, '"6"');
  assert.deepEqual(sent.body, {order: ['img-back', 'img-front', 'img-white', 'img-black']});

  const edit = region('Image 2').querySelector('form[aria-label="Edit image 2"]');
  assert.equal(edit.elements.namedItem('alt').value, 'The tee from the front');
  edit.elements.namedItem('alt').value = 'The tee, front';
  edit.elements.namedItem('variant_id').value = 'v-white';
  edit.requestSubmit();
  await until(() => alts()[1] === 'The tee, front', 'the edit is shown');
  sent = calls.findLast((c) => c.method === 'PUT');
  assert.equal(sent.path, '/api/products/p1/images/img-front');
  assert.equal(sent.ifMatch, '"7"');
  assert.deepEqual(sent.body, {alt: 'The tee, front', variant_id: 'v-white'});
  assert.match(text(region('Image 2')), /Variant: White/);

  button(region('Image 1'), 'Delete image').click();
  await until(() => headings().length === 3, 'the image is gone');
  const deleted = calls.findLast((c) => c.method === 'DELETE');
  assert.equal(deleted.path, '/api/products/p1/images/img-back');
  assert.equal(deleted.ifMatch, '"8"');
  assert.deepEqual(alts(), ['The tee, front', 'The white tee up close', 'The black tee up close']);
  assert.equal(document.activeElement, document.getElementById('images'));
});

test('a product sold as one offers no variant for its images', async () => {
  show(main, await admin.editProduct('p2'));
  const form = main.querySelector('form[aria-label="Upload an image"]');
  assert.equal(form.querySelector('select'), null);
  assert.equal(text(main.querySelector('#images').nextElementSibling), 'No images yet: the shop shows none.');
});
