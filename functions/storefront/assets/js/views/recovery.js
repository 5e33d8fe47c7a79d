// Carts left behind: the link in a reminder that restores its cart (into the visitor's own), the
// one that unsubscribes its address from marketing email (only once the person says so: mail
// scanners open links), and where a guest's reminders go, which the cart page asks (an
// account's follow its profile's preferences).

import {h, field, onSubmit, act, announce, Refusal} from '../dom.js';
import {call, get, post, put, startGuest} from '../api.js';
import {goInstead} from '../nav.js';

/** Where a guest's reminders go: the guest's route `/api/guest/cart/contact`, which `call`
 *  reaches from this path with the guest's token, as it does the cart's. */
const CONTACT = '/api/cart/contact';

/** What the cart drawn in place of a restoring link says of it; null once it is drawn. */
let restored = null;

/** Why a reminder's link did nothing, in the API's words for its token ("The link has
 *  expired."), as the page's own refusal; any other problem as it is. */
export function linkRefusal(error) {
  const why = error?.problem?.errors?.find((e) => e.field === 'token')?.message;
  return why ? new Refusal(`${why[0].toUpperCase()}${why.slice(1).replace(/\.?$/, '.')}`) : error;
}

/** A reminder's link (`#/cart/restore/<token>`): its cart's lines are put in the visitor's cart,
 *  a signed-in shopper's or a guest's (a visitor who is neither becomes a guest, as at a first
 *  add to a cart), and the cart is shown in place of the link, saying it is back. A link the
 *  shop refuses (not one it made, or past its days) is said, with the way to the shop. */
export async function restore(token) {
  await startGuest();
  let cart;
  try {
    cart = await post('/api/cart/restore', {token});
  } catch (error) {
    if (error.status !== 422) throw error;
    return [
      h('h1', {}, 'Your cart could not be restored'),
      h('p', {class: 'problem', role: 'alert'}, linkRefusal(error).message),
      h('p', {}, h('a', {href: '#/'}, 'Go to the shop.')),
    ];
  }
  // Nothing comes back when its shopper ordered (or emptied the cart) meanwhile.
  const said = cart.restored ? 'Your cart is back' : 'Nothing was left in that cart';
  restored = `${said}.`;
  try {
    await goInstead('cart');
  } finally {
    restored = null;
  }
  // Said after the cart's title, which arriving at it says.
  announce(said);
}

/** What the cart says of a link that just restored it, while it is drawn in the link's place. */
export function restoredNote() {
  return restored && h('p', {class: 'ok', id: 'restored'}, restored);
}

/** A reminder's link that unsubscribes its address (`#/unsubscribe/<token>`): only when the
 *  person says so with the button, never on arriving. */
export function unsubscribe(token) {
  const done = h('p', {role: 'status'});
  const stop = h(
    'button',
    {
      type: 'button',
      onclick: act(async () => {
        // The link is all it takes: no session's token goes, and no guest's.
        await call('POST', '/api/unsubscribe', {body: {token}, anonymous: true}).catch((error) => {
          throw linkRefusal(error);
        });
        stop.hidden = true;
        done.textContent = 'You will get no more marketing email from the shop.';
        announce('You are unsubscribed');
      }),
    },
    'Stop marketing email',
  );
  return [
    h('h1', {}, 'Stop marketing email?'),
    h(
      'p',
      {},
      'The shop’s marketing email is its reminders of carts left behind. ',
      'The address this link came to gets none from the shop once you stop them.',
    ),
    stop,
    done,
    h('p', {}, h('a', {href: '#/'}, 'Go to the shop.')),
  ];
}

/** Where the guest said their reminders go, `{email, marketing}`; null before they say. */
export async function guestContact() {
  try {
    return await get(CONTACT);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

/** The cart's form for where a guest's reminders go (`contact`: as they said last): their
 *  address, and whether a reminder of the cart may go to it if they leave it (marketing email,
 *  off until they say). An address refused is said at its field. */
export function contactForm(contact) {
  const saved = h('p', {role: 'status'});
  const form = onSubmit(
    h(
      'form',
      {'aria-label': 'Email me about my cart'},
      field('Email', {
        name: 'email',
        type: 'email',
        autocomplete: 'email',
        required: true,
        value: contact?.email ?? '',
      }),
      h(
        'label',
        {},
        h('input', {type: 'checkbox', name: 'marketing', checked: contact?.marketing}),
        'Remind me if I leave my cart (marketing email)',
      ),
      h('button', {type: 'submit'}, 'Save'),
      saved,
    ),
    async ({email, marketing}) => {
      saved.textContent = '';
      const answer = await put(CONTACT, {email, marketing});
      saved.textContent = answer.marketing
        ? `Saved: if you leave your cart, a reminder goes to ${answer.email}.`
        : 'Saved.';
      announce('Your email is saved');
    },
  );
  return h(
    'section',
    {'aria-labelledby': 'cart-contact'},
    h('h2', {id: 'cart-contact'}, 'Email me about my cart'),
    form,
  );
}
