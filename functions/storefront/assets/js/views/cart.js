// The cart (where a guest says where the reminders of a cart left behind go), the checkout (its
// discount code among it) and paying by card.

import {
  h,
  fill,
  table,
  field,
  money,
  optionText,
  variantName,
  onSubmit,
  act,
  announce,
  problemText,
  showProblem,
  clearProblem,
  Refusal,
} from '../dom.js';
import {asGuest, call, get, put, del, post, storefront} from '../api.js';
import {orderRoute} from '../guest.js';
import {go, changed, redraw} from '../nav.js';
import {lineDiscount, off, promotionsList, shippingLabel, totalsRows} from '../totals.js';
import {ADDRESSES, addressFields, addressFrom, addressLines} from './account.js';
import {contactForm, guestContact, restoredNote} from './recovery.js';

const PROBLEMS = {
  gone: () => 'This product, or this choice of it, is no longer sold.',
  inactive: () => 'This product is not on sale at the moment.',
  short_of_stock: (line) => (line.stock > 0 ? `Only ${line.stock} left.` : 'Sold out.'),
  other_currency: () => 'This product is priced in another currency.',
};

/** The problem the API answers when a discount code cannot be used: no promotion has it, it is
 *  not running now, or it is used as often as it may be (at checkout: used up meanwhile). */
const CODE_UNAVAILABLE = '/problems/promotion-unavailable';

/** The cart's discount code: the form that applies one (in place of the one before), the code
 *  applied with the button that takes it off, why it gives nothing now if it does not, and the
 *  promotions the cart gets (`show(cart)` draws them from a cart the API answered). A refusal
 *  is said in the form, at the field. `after(cart)` follows each change, with the cart the API
 *  answered (none after the code is taken off). */
function discountCode(after) {
  const applied = h('div', {class: 'code-applied'});
  const form = onSubmit(
    h(
      'form',
      {'aria-label': 'Discount code', class: 'discount-code'},
      h(
        'div',
        {class: 'grid'},
        field('Discount code', {name: 'code', maxlength: 32, autocomplete: 'off', spellcheck: 'false'}),
        h('div', {class: 'field submit'}, h('button', {type: 'submit'}, 'Apply')),
      ),
    ),
    async ({code}) => {
      if (!code) throw new Refusal('Enter a discount code.');
      const cart = await put('/api/cart/promotion', {code});
      form.reset();
      announce(`Code ${cart.promotion_code} applied`);
      await after(cart);
    },
  );
  const remove = act(async () => {
    await del('/api/cart/promotion');
    clearProblem(form);
    announce('Code removed');
    await after(null);
  });
  return {
    parts: [form, applied],
    show(cart) {
      const code = cart.promotion_code;
      fill(applied, [
        code &&
          h(
            'p',
            {class: 'actions'},
            h('span', {}, 'Code ', h('strong', {id: 'promotion-code'}, code)),
            h('button', {type: 'button', class: 'secondary outline', onclick: remove}, 'Remove code'),
          ),
        cart.promotion_problem && h('p', {class: 'problem', id: 'promotion-problem'}, cart.promotion_problem),
        promotionsList(cart.promotions),
      ]);
    },
    /** Says in the form why the code was refused (by a checkout, say). */
    refused(error) {
      showProblem(form, error);
    },
  };
}

export async function view() {
  // A guest has no profile: where their reminders go is the cart's.
  const guest = asGuest();
  const [cart, {rules}, contact] = await Promise.all([get('/api/cart'), storefront(), guest && guestContact()]);
  const restored = restoredNote();
  if (cart.lines.length === 0) {
    return [
      h('h1', {}, 'Your cart'),
      restored,
      h('p', {}, 'Your cart is empty. ', h('a', {href: '#/'}, 'Go shopping.')),
    ];
  }
  const most = rules.max_quantity;
  const row = (line) => {
    // A line is one variant of a product (a line from before variants names the product's one).
    const variant = line.variant_id ?? line.product_id;
    const id = `qty-${variant}`;
    const name = variantName(line.name ?? line.product_id, line.options);
    const values = optionText(line.options);
    return h(
      'tr',
      {},
      h(
        'th',
        {scope: 'row'},
        h('a', {href: `#/product/${encodeURIComponent(line.product_id)}`}, line.name ?? line.product_id),
        values && h('span', {class: 'options'}, ` — ${values}`),
        line.problem && h('div', {class: 'problem', role: 'alert'}, h('small', {}, PROBLEMS[line.problem](line))),
      ),
      h('td', {}, money(line.unit_price)),
      h(
        'td',
        {},
        h('label', {for: id, class: 'visually-hidden'}, `Quantity of ${name}`),
        h('input', {
          id,
          type: 'number',
          min: 1,
          max: most,
          value: line.quantity,
          onchange: act(async (event) => {
            const quantity = Number(event.target.value);
            if (!Number.isInteger(quantity) || quantity < 1 || quantity > most) {
              throw new Refusal(`Enter a whole number from 1 to ${most}.`);
            }
            await put(`/api/cart/items/${encodeURIComponent(variant)}`, {quantity});
            announce(`${name}: ${quantity}`);
            await redraw();
          }),
        }),
      ),
      h('td', {}, money(line.line_total), lineDiscount(line)),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'secondary outline',
            'aria-label': `Remove ${name}`,
            onclick: act(async () => {
              await del(`/api/cart/items/${encodeURIComponent(variant)}`);
              announce(`${name} removed`);
              await redraw();
            }),
          },
          'Remove',
        ),
      ),
    );
  };
  const code = discountCode(() => redraw());
  code.show(cart);
  return [
    h('h1', {}, 'Your cart'),
    restored,
    table(['Product', 'Price', 'Quantity', 'Total', ''], cart.lines.map(row), cartTotals(cart)),
    code.parts,
    cart.ready_for_checkout
      ? h('a', {href: '#/checkout', class: 'step'}, 'Check out')
      : h('p', {class: 'problem'}, 'Change the lines marked above to check out.'),
    guest && contactForm(contact),
  ];
}

/** The cart's total as its table's footer: with what promotions take off its lines, the
 *  subtotal, the discount and the total after it. */
function cartTotals(cart) {
  const sum = (label, amount, id) =>
    h('tr', {}, h('th', {scope: 'row', colspan: 3}, label), h('td', {id}, amount), h('td', {}));
  const discount = cart.lines.reduce((all, line) => all + (line.discount?.amount ?? 0), 0);
  if (discount === 0) return sum('Total', money(cart.total), 'cart-total');
  const {currency} = cart.total;
  return [
    sum('Subtotal', money(cart.total)),
    sum('Discount', off({amount: discount, currency})),
    sum('Total', money({amount: cart.total.amount - discount, currency}), 'cart-total'),
  ];
}

/** The problem the API answers when it does not ship as asked: not to that address, or not by
 *  that option (its detail names those that apply). */
const UNAVAILABLE = '/problems/shipping-unavailable';

/** The checkout's shipping, for the address its form holds (or the saved address chosen): the
 *  options that apply there, the cheapest chosen at first, and what the cart then costs in all
 *  (`parts`, to put in the form). Both are asked again as the country or the region changes (or
 *  another address is chosen), and the totals as the option does; an earlier question's late
 *  answer is dropped. A shop without shipping zones offers no option and ships for nothing; one
 *  that does not ship there says so at the options. Each cart priced goes to `priced` too (what
 *  its promotions take off there). */
function shipping(priced = () => {}) {
  const choices = h('fieldset', {class: 'shipping-options', hidden: true});
  const said = h('div', {class: 'shipping-problem'});
  const totals = h('div', {id: 'totals'});
  let form = null;
  let asked = 0;
  let latest = Promise.resolve();
  let destination = null;
  /** Where the cart goes: `{country, region}` (see `watch`). */
  let place = null;

  const value = (name) => form.elements.namedItem(name).value;
  const typed = () => ({country: value('country'), region: value('region')});
  const upper = (text) => (text ?? '').trim().toUpperCase();
  const checked = () => form.querySelector('input[name=shipping_option]:checked')?.value ?? null;
  const where = (option) => {
    const {country, region} = place();
    const query = new URLSearchParams({country: upper(country)});
    if (upper(region)) query.set('region', upper(region));
    if (option) query.set('shipping_option', option);
    return query;
  };
  const tell = (error) => fill(said, error && h('p', {class: 'problem', role: 'alert'}, problemText(error)));

  /** Runs `step` as the latest question (`current()` says whether it still is), saying at the
   *  options what it was refused. */
  const ask = (step) => {
    const mine = ++asked;
    const current = () => mine === asked;
    latest = step(current).catch((error) => {
      if (!current()) return;
      fill(totals, null);
      tell(error);
    });
    return latest;
  };
  const price = async (current) => {
    const cart = await get(`/api/cart?${where(checked())}`);
    if (!current()) return;
    tell(null);
    priced(cart);
    fill(
      totals,
      cart.totals &&
        h('table', {class: 'totals', 'aria-label': 'Totals'}, h('tbody', {}, totalsRows(cart.totals, cart.shipping))),
    );
  };
  const offer = async (current) => {
    const offered = await get(`/api/cart/shipping-options?${where()}`).catch((error) => {
      // No option is offered for an address the options were refused for.
      if (current()) {
        choices.hidden = true;
        fill(choices, null);
      }
      throw error;
    });
    if (!current()) return;
    tell(null);
    const kept = offered.find((o) => o.id === checked()) ?? offered[0];
    choices.hidden = offered.length === 0;
    fill(choices, [
      h('legend', {}, 'Shipping'),
      offered.map((option) =>
        h(
          'label',
          {},
          h('input', {type: 'radio', name: 'shipping_option', value: option.id, checked: option === kept}),
          shippingLabel(option),
        ),
      ),
    ]);
    await price(current);
  };
  /** Asks again for the options where the destination changed (nothing while the country is
   *  not two letters). */
  const refresh = () => {
    const asking = /^[A-Z]{2}$/.test(upper(place().country)) ? where().toString() : '';
    if (asking === destination) return latest;
    destination = asking;
    if (asking) return ask(offer);
    return ask(async () => {
      choices.hidden = true;
      fill(choices, null);
      fill(totals, null);
      tell(null);
    });
  };

  return {
    parts: [choices, said, totals],
    /** Follows the form's address and option, and asks for those it holds now. `chosen()`, where
     *  given, names the address the cart goes to instead of the form's fields (a saved address:
     *  null while the form's are the one). */
    watch(watched, chosen = () => null) {
      form = watched;
      place = () => chosen() ?? typed();
      form.addEventListener('input', (event) => event.target.name === 'country' && refresh());
      form.addEventListener('change', (event) => {
        if (event.target.name === 'shipping_option') ask(price);
        else if (['country', 'region'].includes(event.target.name)) refresh();
      });
      return refresh();
    },
    /** Asks for the options where the destination changed (another address chosen). */
    moved() {
      return refresh();
    },
    /** Asks again for the options and the totals where there is a destination (the discount
     *  code changed: what it takes off may change what shipping costs). */
    reprice() {
      return destination ? ask(offer) : latest;
    },
    /** The option chosen once the questions asked are answered; null where none is offered. */
    async chosen() {
      await latest;
      return checked();
    },
    /** Says at the options why the order was not shipped as asked, after asking for them again. */
    async refused(error) {
      destination = null;
      await refresh();
      tell(error);
    },
  };
}

/** Where the checkout ships among the shopper's saved addresses (`book`): each of them, the
 *  default for shipping chosen at first (else the first), and a new address, which shows the
 *  form's address fields (`fresh`: hidden, and left out of the form's checks, while a saved one
 *  is chosen). Nothing to choose without a saved address. `moved()` follows each choice;
 *  `chosen()` is the saved address chosen, null for a new one. */
function shipTo(book, fresh, moved) {
  const choices = h('fieldset', {class: 'ship-to'});
  const chosen = () => {
    const id = choices.querySelector('input[name=ship_to]:checked')?.value;
    return book.find((saved) => saved.id === id) ?? null;
  };
  const follow = () => {
    const saved = chosen();
    fresh.hidden = Boolean(saved);
    fresh.disabled = Boolean(saved);
  };
  if (book.length === 0) return {part: null, chosen};
  const first = book.find((saved) => saved.default_shipping) ?? book[0];
  const choice = (value, checked, text) =>
    h(
      'label',
      {},
      h('input', {
        type: 'radio',
        name: 'ship_to',
        value,
        checked,
        onchange: () => {
          follow();
          moved();
        },
      }),
      text,
    );
  fill(choices, [
    h('legend', {}, 'Ship to'),
    book.map((saved) =>
      choice(saved.id, saved === first, [
        saved.label && [h('strong', {}, saved.label), ' — '],
        addressLines(saved.address).join(', '),
      ]),
    ),
    choice('new', false, 'A new address'),
  ]);
  follow();
  return {part: choices, chosen};
}

export async function checkout() {
  // A guest has no profile and no address book; their order says where its emails go.
  const guest = asGuest();
  const [cart, user, book] = await Promise.all([
    get('/api/cart'),
    guest ? {} : get('/api/users/me'),
    guest ? [] : get(ADDRESSES),
  ]);
  if (cart.lines.length === 0) return go('cart');
  // One key for this checkout: a second click, or a retry after a lost answer, answers the
  // same order instead of making another.
  const key = crypto.randomUUID();
  const address = user.address ?? {name: user.name};
  const fresh = addressFields(address);
  if (!guest) {
    fresh.append(h('label', {}, h('input', {type: 'checkbox', name: 'save_address'}), 'Save this address to my book'));
  }
  const ship = shipTo(book, fresh, () => delivery.moved());
  /** The new address this checkout saved to the book last: a retry does not save it again. */
  let kept = null;
  const keep = async (shippingAddress) => {
    const saving = JSON.stringify(shippingAddress);
    if (saving === kept) return;
    await post(ADDRESSES, {address: shippingAddress});
    kept = saving;
  };
  /** Shows the code and the promotions as they are now (`answered`, else asked): the cart
   *  without a destination at once, then priced for the address's, with its totals. */
  const recount = async (answered) => {
    code.show(answered ?? (await get('/api/cart')));
    await delivery.reprice();
  };
  const code = discountCode(recount);
  code.show(cart);
  const delivery = shipping((priced) => code.show(priced));
  const form = onSubmit(
    h(
      'form',
      {'aria-label': 'Shipping address'},
      guest &&
        field(
          'Email',
          {name: 'email', type: 'email', autocomplete: 'email', required: true},
          'For the confirmation, with the link to your order.',
        ),
      ship.part,
      fresh,
      delivery.parts,
      h('button', {type: 'submit'}, 'Place order'),
    ),
    async (values) => {
      // A saved address goes by its id; a new one as typed, saved to the book first if asked.
      const saved = ship.chosen();
      let to;
      if (saved) {
        to = {address_id: saved.id};
      } else {
        const shippingAddress = addressFrom(values);
        if (!shippingAddress) throw new Refusal('Enter the address to ship to.');
        if (values.save_address) await keep(shippingAddress);
        to = {shipping_address: shippingAddress};
      }
      const body = {...to};
      const option = await delivery.chosen();
      if (option) body.shipping_option = option;
      if (guest) body.email = values.email;
      let answer;
      try {
        answer = await call('POST', '/api/orders', {body, headers: {'Idempotency-Key': key}});
      } catch (error) {
        if (error.problem?.type === CODE_UNAVAILABLE) {
          // The cart's code was used up meanwhile: said at the code, the cart priced without it.
          await recount(null);
          code.refused(error);
          return;
        }
        if (error.problem?.type !== UNAVAILABLE) throw error;
        await delivery.refused(error);
        return;
      }
      changed();
      go(`orders/${encodeURIComponent(answer.body.id)}/pay`);
    },
  );
  await delivery.watch(form, () => ship.chosen()?.address);
  return [
    h('h1', {}, 'Checkout'),
    h(
      'p',
      {},
      `${cart.lines.length} ${cart.lines.length === 1 ? 'line' : 'lines'}, `,
      h('strong', {}, money(cart.total)),
    ),
    code.parts,
    form,
  ];
}

let stripe = null;

/** Stripe.js, loaded once as Stripe asks (a classic script from its origin). */
async function stripeJs(settings) {
  if (!stripe) {
    await new Promise((resolve, reject) => {
      const script = h('script', {src: settings.js});
      script.addEventListener('load', resolve);
      script.addEventListener('error', () => reject(new Refusal('The card form could not be loaded; try again.')));
      document.head.append(script);
    });
    stripe = window.Stripe(settings.publishable_key);
  }
  return stripe;
}

/** Waits until the order's payment is settled by the provider's webhook. */
async function settled(id, attempt) {
  for (let i = 0; i < 60; i++) {
    const order = await get(`/api/orders/${encodeURIComponent(id)}`);
    if (
      order.status !== 'PENDING_PAYMENT' ||
      (order.payment && (order.payment.attempt !== attempt || order.payment.status === 'failed'))
    )
      return order;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return get(`/api/orders/${encodeURIComponent(id)}`);
}

export async function pay(id) {
  const [order, settings] = await Promise.all([get(`/api/orders/${encodeURIComponent(id)}`), storefront()]);
  if (order.status !== 'PENDING_PAYMENT') return go(orderRoute(id));
  const outcome = h('div', {role: 'status'});
  let cardElement = null;
  let cardFields;
  if (settings.cards.provider === 'stripe') {
    cardFields = h('div', {id: 'card'});
  } else {
    cardFields = h(
      'label',
      {for: 'card-number'},
      'Card number',
      h('input', {
        id: 'card-number',
        name: 'card',
        inputmode: 'numeric',
        autocomplete: 'cc-number',
        required: true,
        'aria-describedby': 'card-hint',
      }),
      h(
        'small',
        {id: 'card-hint'},
        'Simulated payments: 4242 4242 4242 4242 is paid, 4000 0000 0000 0002 is declined.',
      ),
    );
  }
  const form = onSubmit(
    h('form', {'aria-label': 'Pay by card'}, cardFields, h('button', {type: 'submit'}, `Pay ${money(order.total)}`)),
    async (values) => {
      outcome.replaceChildren();
      // The order's current payment: a new one after a declined card.
      const checkout = await post(`/api/orders/${encodeURIComponent(id)}/payment`, {provider: 'stripe'});
      const attempt = (await get(`/api/orders/${encodeURIComponent(id)}`)).payment?.attempt;
      let declined;
      if (settings.cards.provider === 'stripe') {
        const result = await stripe.confirmCardPayment(checkout.client_secret, {payment_method: {card: cardElement}});
        // Only a card's refusal reaches the shop (as a failed payment); anything else, an
        // incomplete card number say, is said at once and the same payment tried again.
        if (result.error && result.error.type !== 'card_error') {
          outcome.replaceChildren(h('p', {class: 'problem', role: 'alert'}, result.error.message));
          return;
        }
        declined = result.error?.message ?? null;
      } else {
        const confirmed = await post(`/_simulator/payments/${encodeURIComponent(checkout.payment_id)}/confirm`, {
          card: values.card.replace(/\s+/g, ''),
        });
        declined = confirmed.status === 'succeeded' ? null : 'Your card was declined.';
      }
      outcome.replaceChildren(h('p', {'aria-busy': 'true'}, 'Waiting for the payment to be confirmed…'));
      const after = await settled(id, attempt);
      if (after.status === 'PAID') {
        go(orderRoute(id));
        return;
      }
      const why = declined ?? after.payment?.failure ?? 'The payment did not go through.';
      outcome.replaceChildren(h('p', {class: 'problem', role: 'alert'}, `${why} Try another card.`));
    },
  );
  const page = [
    h('h1', {}, 'Pay your order'),
    h('p', {}, 'Order ', h('a', {href: `#/${orderRoute(id)}`}, id), ': ', h('strong', {}, money(order.total))),
    form,
    outcome,
  ];
  if (settings.cards.provider === 'stripe') {
    const client = await stripeJs(settings.cards);
    cardElement = client.elements().create('card');
    // Mounted once the page shows the form.
    setTimeout(() => cardElement.mount(cardFields));
  }
  return page;
}
