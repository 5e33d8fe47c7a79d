// The cart, the checkout and paying by card.

import {h, table, money, optionText, variantName, onSubmit, act, announce, Refusal} from '../dom.js';
import {call, get, put, del, post, storefront} from '../api.js';
import {go, changed, redraw} from '../nav.js';
import {addressFields, addressFrom} from './account.js';

const PROBLEMS = {
  gone: () => 'This product, or this choice of it, is no longer sold.',
  inactive: () => 'This product is not on sale at the moment.',
  short_of_stock: (line) => (line.stock > 0 ? `Only ${line.stock} left.` : 'Sold out.'),
  other_currency: () => 'This product is priced in another currency.',
};

export async function view() {
  const [cart, {rules}] = await Promise.all([get('/api/cart'), storefront()]);
  if (cart.lines.length === 0) {
    return [h('h1', {}, 'Your cart'), h('p', {}, 'Your cart is empty. ', h('a', {href: '#/'}, 'Go shopping.'))];
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
      h('td', {}, money(line.line_total)),
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
  return [
    h('h1', {}, 'Your cart'),
    table(
      ['Product', 'Price', 'Quantity', 'Total', ''],
      cart.lines.map(row),
      h(
        'tr',
        {},
        h('th', {scope: 'row', colspan: 3}, 'Total'),
        h('td', {id: 'cart-total'}, money(cart.total)),
        h('td', {}),
      ),
    ),
    cart.ready_for_checkout
      ? h('a', {href: '#/checkout', class: 'step'}, 'Check out')
      : h('p', {class: 'problem'}, 'Change the lines marked above to check out.'),
  ];
}

export async function checkout() {
  const [cart, user] = await Promise.all([get('/api/cart'), get('/api/users/me')]);
  if (cart.lines.length === 0) return go('cart');
  // One key for this checkout: a second click, or a retry after a lost answer, answers the
  // same order instead of making another.
  const key = crypto.randomUUID();
  const address = user.address ?? {name: user.name};
  return [
    h('h1', {}, 'Checkout'),
    h(
      'p',
      {},
      `${cart.lines.length} ${cart.lines.length === 1 ? 'line' : 'lines'}, `,
      h('strong', {}, money(cart.total)),
    ),
    onSubmit(
      h(
        'form',
        {'aria-label': 'Shipping address'},
        addressFields(address),
        h('button', {type: 'submit'}, 'Place order'),
      ),
      async (values) => {
        const shipping = addressFrom(values);
        if (!shipping) throw new Refusal('Enter the address to ship to.');
        const answer = await call('POST', '/api/orders', {
          body: {shipping_address: shipping},
          headers: {'Idempotency-Key': key},
        });
        changed();
        go(`orders/${encodeURIComponent(answer.body.id)}/pay`);
      },
    ),
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
  if (order.status !== 'PENDING_PAYMENT') return go(`orders/${encodeURIComponent(id)}`);
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
        go(`orders/${encodeURIComponent(id)}`);
        return;
      }
      const why = declined ?? after.payment?.failure ?? 'The payment did not go through.';
      outcome.replaceChildren(h('p', {class: 'problem', role: 'alert'}, `${why} Try another card.`));
    },
  );
  const page = [
    h('h1', {}, 'Pay your order'),
    h(
      'p',
      {},
      'Order ',
      h('a', {href: `#/orders/${encodeURIComponent(id)}`}, id),
      ': ',
      h('strong', {}, money(order.total)),
    ),
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
