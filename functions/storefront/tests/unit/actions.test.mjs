// The one way an action runs (`act`, and `onSubmit` on it): busy while it runs, and a refusal
// shown where it happened, in jsdom.

import './support.mjs';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {h, field, act, onSubmit, showProblem, Refusal} from '../../assets/js/dom.js';
import {ApiError} from '../../assets/js/api.js';

/** A promise and the functions that settle it. */
function later() {
  let resolve, reject;
  const promise = new Promise((yes, no) => ((resolve = yes), (reject = no)));
  return {promise, resolve, reject};
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function shown(element) {
  return document.getElementById('main').replaceChildren(element);
}

test('a button is busy while its action runs, and a second click meanwhile does nothing', async () => {
  const pending = later();
  let runs = 0;
  const button = h('button', {type: 'button', onclick: act(() => (runs++, pending.promise))}, 'Remove');
  shown(button);
  button.click();
  assert.equal(button.disabled, true);
  assert.equal(button.getAttribute('aria-busy'), 'true');
  button.dispatchEvent(new window.MouseEvent('click'));
  assert.equal(runs, 1);
  pending.resolve();
  await tick();
  assert.equal(button.disabled, false);
  assert.equal(button.hasAttribute('aria-busy'), false);
  assert.equal(document.querySelector('[role=alert]'), null);
});

test("the API's refusal of a button's action is shown after the button, and cleared by the next try", async () => {
  let answer = new ApiError(409, {title: 'Conflict', status: 409, detail: 'The order is shipped already.'});
  const button = h(
    'button',
    {
      type: 'button',
      onclick: act(async () => {
        if (answer) throw answer;
      }),
    },
    'Cancel order',
  );
  shown(h('div', {}, button, h('p', {}, 'next')));
  button.click();
  await tick();
  const note = button.nextElementSibling;
  assert.equal(note.getAttribute('role'), 'alert');
  assert.equal(note.textContent, 'The order is shipped already.');
  assert.equal(button.disabled, false);

  // Again refused: one note, not two.
  button.click();
  await tick();
  assert.equal(document.querySelectorAll('[role=alert]').length, 1);

  answer = null;
  button.click();
  await tick();
  assert.equal(document.querySelector('[role=alert]'), null);
  assert.equal(button.nextElementSibling.textContent, 'next');
});

test('a problem without detail is told by its title, and one without a document by its status', () => {
  const first = h('button', {}, 'A');
  const second = h('button', {}, 'B');
  shown(h('div', {}, first, second));
  showProblem(first, new ApiError(503, {title: 'Service Unavailable', status: 503}));
  showProblem(second, new ApiError(502, null));
  assert.equal(first.nextElementSibling.textContent, 'Service Unavailable');
  assert.equal(second.nextElementSibling.textContent, 'The shop answered 502.');
});

function signupForm(action) {
  return onSubmit(
    h(
      'form',
      {'aria-label': 'Sign up'},
      field('Email', {name: 'email', value: ' ada@shop.test '}, 'We write to it.'),
      field('Name', {name: 'name', value: 'Ada'}),
      h('button', {type: 'submit'}, 'Create account'),
    ),
    action,
  );
}

test('a form sends its fields once however often it is submitted meanwhile, and stays on the page', async () => {
  const pending = later();
  const sent = [];
  const form = signupForm((values) => (sent.push(values), pending.promise));
  shown(form);
  const submit = new window.Event('submit', {cancelable: true});
  form.dispatchEvent(submit);
  form.dispatchEvent(new window.Event('submit', {cancelable: true}));
  assert.equal(submit.defaultPrevented, true);
  assert.deepEqual(sent, [{email: 'ada@shop.test', name: 'Ada'}]);
  assert.equal(form.querySelector('[type=submit]').disabled, true);
  assert.equal(form.getAttribute('aria-busy'), 'true');
  pending.resolve();
  await tick();
  assert.equal(form.querySelector('[type=submit]').disabled, false);
  assert.equal(form.hasAttribute('aria-busy'), false);
});

test('a validation problem is shown above the form and at each refused field; a field it lacks is listed', async () => {
  let refusal = new ApiError(422, {
    title: 'Unprocessable Entity',
    status: 422,
    detail: '2 fields are invalid',
    errors: [
      {field: 'email', message: 'is not an email address'},
      {field: 'address.country', message: 'is not a country'},
    ],
  });
  const form = signupForm(async () => {
    if (refusal) throw refusal;
  });
  shown(form);
  form.requestSubmit();
  await tick();
  const box = form.firstElementChild;
  assert.equal(box.getAttribute('role'), 'alert');
  assert.match(box.textContent, /^2 fields are invalid/);
  assert.deepEqual(
    [...box.querySelectorAll('li')].map((li) => li.textContent),
    ['address.country: is not a country'],
  );
  const email = form.elements.namedItem('email');
  assert.equal(email.getAttribute('aria-invalid'), 'true');
  assert.equal(email.getAttribute('aria-describedby'), 'f-email-hint f-email-error');
  assert.equal(document.getElementById('f-email-error').textContent, 'is not an email address');
  assert.equal(form.elements.namedItem('name').hasAttribute('aria-invalid'), false);

  refusal = null;
  form.requestSubmit();
  await tick();
  assert.equal(form.querySelector('[role=alert], .field-error'), null);
  assert.equal(email.hasAttribute('aria-invalid'), false);
  assert.equal(email.getAttribute('aria-describedby'), 'f-email-hint');
});

test("the page's own refusal is shown as it is worded", async () => {
  const form = signupForm(async () => {
    throw new Refusal('Enter the address to ship to.');
  });
  shown(form);
  form.requestSubmit();
  await tick();
  assert.equal(form.querySelector('[role=alert]').textContent, 'Enter the address to ship to.');
});

test('a fault of the page or the network asks to try again, and goes to the console', async (t) => {
  const logged = t.mock.method(console, 'error', () => {});
  const input = h('input', {
    type: 'number',
    onchange: act(async () => {
      throw new TypeError('Failed to fetch');
    }),
  });
  shown(h('td', {}, input));
  input.dispatchEvent(new window.Event('change'));
  await tick();
  assert.equal(input.nextElementSibling.textContent, 'Something went wrong. Please try again.');
  assert.doesNotMatch(document.body.textContent, /Failed to fetch/);
  assert.equal(logged.mock.callCount(), 1);
  assert.equal(input.disabled, false);
});
