// The account: signing up, in and out, the password, the profile and its phone number, the
// address book, notifications, the data the shop holds (export), and erasure.
//
// Where the deployment names a sign-in (`sign_in` in `/storefront.json`), shoppers log in on its
// page (signin.js), never with a password typed here; only where it names none (the local stack
// against an emulator's Cognito) do these pages take the password and log in with it.

import {h, fill, field, table, nextLink, onSubmit, act, date, announce, Refusal} from '../dom.js';
import {call, get, del, post, put, logIn, forget, listPage, storefront} from '../api.js';
import {go, here} from '../nav.js';
import {startSignIn, takeFailure} from '../signin.js';

/** A sign-up waiting for its emailed code where the pages log in with the password themselves:
 *  `{email, password}`, held in this page's memory only (never in web storage), so that the
 *  confirmation can log the new shopper in. A reload forgets it: the shopper then logs in. */
let pending = null;

// Pages before this one kept a pending sign-up, password included, in sessionStorage.
sessionStorage.removeItem('shop.signup');

const PASSWORD_HINT = 'At least 10 characters, with a lower-case letter, an upper-case letter and a digit.';

function form(label, children, action) {
  return onSubmit(h('form', {'aria-label': label}, children), action);
}

/** Logging in: off to the sign-in's page at once where there is one (or, back from it with a
 *  sign-in that did not complete, why, and the way to try again); else the password form. */
export async function login() {
  const then = here().params.get('then') ?? '';
  const {sign_in: signIn} = await storefront();
  if (signIn) {
    const failure = takeFailure();
    if (!failure) return startSignIn(signIn, then);
    return [
      h('h1', {}, 'Log in'),
      h('p', {class: 'problem', role: 'alert'}, failure.message),
      h('button', {type: 'button', onclick: act(() => startSignIn(signIn, failure.then))}, 'Log in again'),
      h(
        'p',
        {},
        h('a', {href: '#/forgot'}, 'Forgot your password?'),
        ' · ',
        h('a', {href: '#/signup'}, 'Create an account'),
      ),
    ];
  }
  return [
    h('h1', {}, 'Log in'),
    form(
      'Log in',
      [
        field('Email', {name: 'email', type: 'email', autocomplete: 'email', required: true}),
        field('Password', {name: 'password', type: 'password', autocomplete: 'current-password', required: true}),
        h('button', {type: 'submit'}, 'Log in'),
      ],
      async ({email, password}) => {
        await logIn(email, password);
        go(then);
      },
    ),
    h(
      'p',
      {},
      h('a', {href: '#/forgot'}, 'Forgot your password?'),
      ' · ',
      h('a', {href: '#/signup'}, 'Create an account'),
    ),
  ];
}

export function signup() {
  return [
    h('h1', {}, 'Create an account'),
    form(
      'Create an account',
      [
        field('Name', {name: 'name', autocomplete: 'name', required: true, maxlength: 200}),
        field('Email', {name: 'email', type: 'email', autocomplete: 'email', required: true}),
        field(
          'Password',
          {name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10},
          PASSWORD_HINT,
        ),
        field(
          'Mobile phone (optional)',
          {name: 'phone', type: 'tel', autocomplete: 'tel', placeholder: '+4915112345678'},
          'For text messages about your orders.',
        ),
        h('button', {type: 'submit'}, 'Create account'),
      ],
      async ({name, email, password, phone}) => {
        // A taken address is answered as a new one is: nobody learns here who has an account.
        const registered = await post('/api/auth/register', {name, email, password, phone: phone || null});
        if (registered.confirmed) {
          await welcome(email, password);
        } else {
          const {sign_in: signIn} = await storefront();
          pending = signIn ? null : {email, password};
          go(`confirm?${new URLSearchParams({email})}`);
        }
      },
    ),
  ];
}

/** Logs a new shopper in, or one who just set a password: sent to the sign-in where there is
 *  one, else logged in here with the password. */
async function welcome(email, password) {
  const {sign_in: signIn} = await storefront();
  if (signIn) return startSignIn(signIn);
  await logIn(email, password);
  go('');
}

export function confirm(params) {
  const resent = h('p', {role: 'status'});
  const confirming = form(
    'Confirm your email',
    [
      field('Email', {name: 'email', type: 'email', value: params.get('email') ?? '', required: true}),
      field('Code', {name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true}),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary outline',
          onclick: act(async () => {
            resent.textContent = '';
            const email = confirming.elements.namedItem('email').value.trim();
            if (!email) throw new Refusal('Enter your email address, and a new code goes to it.');
            await post('/api/auth/confirm/resend', {email});
            resent.textContent = 'If that address waits for a code, a new one is on its way.';
          }),
        },
        'Send a new code',
      ),
      resent,
      h('button', {type: 'submit'}, 'Confirm'),
    ],
    async ({email, code}) => {
      await post('/api/auth/confirm', {email, code});
      const signedUp = pending;
      pending = null;
      if (signedUp?.email === email) await welcome(email, signedUp.password);
      else go('login');
    },
  );
  return [
    h('h1', {}, 'Confirm your email'),
    h('p', {}, 'We sent a code to your email address. Enter it here.'),
    confirming,
  ];
}

export function forgot() {
  const reset = form(
    'Set a new password',
    [
      field('Email', {name: 'email', type: 'email', autocomplete: 'email', required: true}),
      field('Code', {name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true}),
      field(
        'New password',
        {name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10},
        PASSWORD_HINT,
      ),
      h('button', {type: 'submit'}, 'Set password'),
    ],
    async ({email, code, password}) => {
      await post('/api/auth/password/reset', {email, code, password});
      await welcome(email, password);
    },
  );
  reset.hidden = true;
  return [
    h('h1', {}, 'Reset your password'),
    form(
      'Send a reset code',
      [
        field('Email', {name: 'email', type: 'email', autocomplete: 'email', required: true}),
        h('button', {type: 'submit'}, 'Send me a code'),
      ],
      async ({email}, sent) => {
        await post('/api/auth/password/forgot', {email});
        sent.hidden = true;
        reset.elements.namedItem('email').value = email;
        reset.hidden = false;
        reset.before(h('p', {role: 'status'}, 'If that address has an account, a code is on its way.'));
      },
    ),
    reset,
  ];
}

/** The countries whose addresses name a region (a state, a province): the API requires one. */
const REGION_COUNTRIES = ['US', 'CA'];

/** An address's fields, holding `address`. Their ids are the form's usual ones (`f-country`),
 *  or begin with `prefix` where the page shows another address's fields too (`book-country`). */
function addressFields(address, prefix = null) {
  const a = address ?? {};
  const named = (name) => (prefix ? {name, id: `${prefix}-${name}`} : {name});
  const country = field('Country (two letters)', {
    ...named('country'),
    value: a.country ?? '',
    autocomplete: 'shipping country',
    maxlength: 2,
    placeholder: 'DE',
  });
  const region = field(
    'State or province',
    {
      ...named('region'),
      value: a.region ?? '',
      autocomplete: 'shipping address-level1',
      maxlength: 3,
      placeholder: 'CA',
    },
    'Its code: CA for California, ON for Ontario.',
  );
  // Asked for where the country needs one; shown too wherever it holds one.
  const countryInput = country.querySelector('input');
  const regionInput = region.querySelector('input');
  const needed = () => {
    regionInput.required = REGION_COUNTRIES.includes(countryInput.value.trim().toUpperCase());
    region.hidden = !regionInput.required && !regionInput.value;
  };
  countryInput.addEventListener('input', needed);
  needed();
  return h(
    'fieldset',
    {},
    h('legend', {}, 'Address'),
    field('Full name', {...named('address_name'), value: a.name ?? '', autocomplete: 'shipping name'}),
    field('Street and number', {...named('line1'), value: a.line1 ?? '', autocomplete: 'shipping address-line1'}),
    field('Address line 2 (optional)', {
      ...named('line2'),
      value: a.line2 ?? '',
      autocomplete: 'shipping address-line2',
    }),
    field('Postal code', {...named('postal_code'), value: a.postal_code ?? '', autocomplete: 'shipping postal-code'}),
    field('City', {...named('city'), value: a.city ?? '', autocomplete: 'shipping address-level2'}),
    country,
    region,
  );
}

/** The address a form's `addressFields` hold, or null when they are all empty. */
export function addressFrom(values) {
  const address = {
    name: values.address_name,
    line1: values.line1,
    line2: values.line2 || null,
    postal_code: values.postal_code,
    city: values.city,
    region: values.region ? values.region.toUpperCase() : null,
    country: values.country.toUpperCase(),
  };
  return [address.name, address.line1, address.postal_code, address.city, address.country].some(Boolean)
    ? address
    : null;
}

export {addressFields};

/** An address on two lines: who and the street, then the town, the region and the country. */
export function addressLines(a) {
  return [
    [a.name, a.line1, a.line2].filter(Boolean).join(', '),
    [`${a.postal_code} ${a.city}`, a.region, a.country].filter(Boolean).join(', '),
  ];
}

/** The signed-in shopper's saved addresses. */
export const ADDRESSES = '/api/users/me/addresses';

/** What a saved address is called: its label, else its first line. */
export function addressTitle(saved) {
  return saved.label || addressLines(saved.address)[0];
}

/** The address book: the saved addresses, oldest first, the defaults marked, each to edit, to
 *  remove or to make the default for shipping; and a form to add one, or to edit one (one form
 *  at a time, under the list, opened by its button). Each change draws the book again as the API
 *  answers it; a refusal is said where it happened (at a form's fields for a malformed address). */
function addressBook(addresses) {
  let book = addresses;
  const list = h('div', {});
  const editor = h('div', {});
  const heading = h('h2', {id: 'addresses', tabindex: -1}, 'Addresses');
  const adding = h('button', {type: 'button', class: 'secondary', onclick: () => open(null)}, 'Add an address');
  const path = (saved) => `${ADDRESSES}/${encodeURIComponent(saved.id)}`;
  let editing = null;

  const close = () => {
    editing = null;
    fill(editor, null);
    adding.hidden = false;
  };
  /** Asks for the book again and draws it; focus goes to `then` (a control the drawing took away
   *  had it). */
  const reload = async (then = heading) => {
    book = await get(ADDRESSES);
    draw();
    then.focus();
  };
  const draw = () =>
    fill(list, book.length ? h('ul', {class: 'address-book'}, book.map(item)) : h('p', {}, 'No saved addresses yet.'));
  const item = (saved) => {
    const title = addressTitle(saved);
    const [first, second] = addressLines(saved.address);
    return h(
      'li',
      {'data-address': saved.id},
      saved.label && h('strong', {}, saved.label),
      h('address', {}, first, h('br'), second),
      (saved.default_shipping || saved.default_billing) &&
        h(
          'p',
          {class: 'defaults'},
          saved.default_shipping && h('span', {class: 'default-mark'}, 'Default for shipping'),
          saved.default_billing && h('span', {class: 'default-mark'}, 'Default for billing'),
        ),
      h(
        'div',
        {class: 'actions'},
        h(
          'button',
          {type: 'button', class: 'secondary outline', 'aria-label': `Edit ${title}`, onclick: () => open(saved)},
          'Edit',
        ),
        !saved.default_shipping &&
          h(
            'button',
            {
              type: 'button',
              class: 'secondary outline',
              'aria-label': `Make default for shipping: ${title}`,
              onclick: act(async () => {
                await put(path(saved), {
                  label: saved.label ?? null,
                  address: saved.address,
                  default_shipping: true,
                  default_billing: saved.default_billing,
                });
                await reload();
                announce(`${title} is the default for shipping`);
              }),
            },
            'Make default for shipping',
          ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary outline',
            'aria-label': `Remove ${title}`,
            onclick: act(async () => {
              await del(path(saved));
              if (editing?.id === saved.id) close();
              await reload();
              announce(`${title} removed`);
            }),
          },
          'Remove',
        ),
      ),
    );
  };
  /** Opens the form that edits `saved`, or adds an address (`null`). */
  const open = (saved) => {
    editing = saved;
    const label = saved ? `Edit ${addressTitle(saved)}` : 'Add an address';
    // The first address is both defaults whatever is asked; a default stays one until another is.
    const choice = (name, text) =>
      book.length > 0 && !saved?.[name] && h('label', {}, h('input', {type: 'checkbox', name}), text);
    fill(editor, [
      h('h3', {}, label),
      form(
        label,
        [
          field('Label (optional)', {
            id: 'book-label',
            name: 'label',
            value: saved?.label ?? '',
            maxlength: 200,
            placeholder: 'Home',
          }),
          addressFields(saved?.address, 'book'),
          choice('default_shipping', 'Make it the default for shipping'),
          choice('default_billing', 'Make it the default for billing'),
          h(
            'div',
            {class: 'actions'},
            h('button', {type: 'submit'}, 'Save address'),
            h(
              'button',
              {
                type: 'button',
                class: 'secondary outline',
                onclick: () => {
                  close();
                  adding.focus();
                },
              },
              'Cancel',
            ),
          ),
        ],
        async (values) => {
          const address = addressFrom(values);
          if (!address) throw new Refusal('Enter the address.');
          const body = {
            label: values.label || null,
            address,
            default_shipping: Boolean(values.default_shipping),
            default_billing: Boolean(values.default_billing),
          };
          if (saved) await put(path(saved), body);
          else await post(ADDRESSES, body);
          close();
          await reload(adding);
          announce(saved ? 'The address is saved' : 'The address is added');
        },
      ),
    ]);
    adding.hidden = true;
    editor.querySelector('input').focus();
  };

  draw();
  return h('section', {'aria-labelledby': 'addresses'}, heading, list, adding, editor);
}

/** The phone number's verification: text messages go to a verified number only. `state` says
 *  whether the profile's number is verified (shown at the phone field); `section` offers, for
 *  a number not yet verified, to send a code to it and to verify it with the code. `show(user)`
 *  shows the profile as saved last; `verified(answer)` is told the verification's answer. */
function phoneVerification(verified) {
  const state = h('span', {});
  const number = h('strong', {});
  const sent = h('p', {role: 'status'});
  const section = h(
    'section',
    {'aria-labelledby': 'verify-phone'},
    h('h2', {id: 'verify-phone'}, 'Verify your phone number'),
    h('p', {}, 'Text messages go only to a verified number. We text a code to ', number, ' for you to enter here.'),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: act(async () => {
          sent.textContent = '';
          await post('/api/users/me/phone/code');
          sent.textContent = `A code is on its way to ${number.textContent}.`;
        }),
      },
      'Send code',
    ),
    sent,
    form(
      'Verify your phone number',
      [
        field('Code', {
          name: 'code',
          inputmode: 'numeric',
          autocomplete: 'one-time-code',
          required: true,
          pattern: '[0-9]{6}',
          maxlength: 6,
        }),
        h('button', {type: 'submit'}, 'Verify'),
      ],
      async ({code}, verifying) => {
        const answer = await call('POST', '/api/users/me/phone/verify', {body: {code}});
        verifying.reset();
        sent.textContent = '';
        verified(answer);
        announce('Your phone number is verified');
      },
    ),
  );
  const show = (user) => {
    number.textContent = user.phone ?? '';
    if (!user.phone) state.textContent = '';
    else if (user.phone_verified) state.textContent = 'Verified: text messages about your orders can go to it.';
    else state.textContent = 'Not verified yet: text messages go only to a verified number.';
    section.hidden = !user.phone || user.phone_verified;
  };
  return {state, section, show};
}

export async function profile() {
  const [answer, addresses] = await Promise.all([call('GET', '/api/users/me'), get(ADDRESSES)]);
  const user = answer.body;
  let etag = answer.headers.get('etag');
  const prefs = {email: true, sms: true, marketing: false, ...user.preferences};
  const saved = h('p', {role: 'status'});
  // Verifying the number changes the profile: its new version is the one a save replaces.
  const phone = phoneVerification((verified) => {
    etag = verified.headers.get('etag') ?? etag;
    phone.show(verified.body);
  });
  phone.show(user);
  return [
    h('h1', {}, 'Your account'),
    h('p', {}, `Signed in as ${user.email}`),
    form(
      'Your details',
      [
        field('Name', {name: 'name', value: user.name, required: true}),
        field(
          'Mobile phone',
          {name: 'phone', type: 'tel', value: user.phone ?? '', placeholder: '+4915112345678'},
          phone.state,
        ),
        addressFields(user.address),
        h(
          'fieldset',
          {},
          h('legend', {}, 'Tell me about my orders by'),
          h(
            'label',
            {},
            h('input', {type: 'checkbox', role: 'switch', name: 'email_pref', checked: prefs.email}),
            'Email',
          ),
          h(
            'label',
            {},
            h('input', {type: 'checkbox', role: 'switch', name: 'sms_pref', checked: prefs.sms}),
            'Text message',
          ),
        ),
        h(
          'fieldset',
          {},
          h('legend', {}, 'Marketing email'),
          h(
            'label',
            {},
            h('input', {
              type: 'checkbox',
              role: 'switch',
              name: 'marketing_pref',
              checked: prefs.marketing,
              'aria-describedby': 'marketing-hint',
            }),
            'Reminders of carts I leave behind (marketing email)',
          ),
          // The shop sends none while the person wants no email about their orders either.
          h('small', {id: 'marketing-hint'}, 'Sent only while email about your orders is on.'),
        ),
        h('button', {type: 'submit'}, 'Save'),
        saved,
      ],
      async (values) => {
        const body = {
          name: values.name,
          phone: values.phone || null,
          address: addressFrom(values),
          preferences: {email: values.email_pref, sms: values.sms_pref, marketing: values.marketing_pref},
        };
        const answer = await call('PUT', `/api/users/${encodeURIComponent(user.id)}`, {
          body,
          headers: {'If-Match': etag},
        });
        etag = answer.headers.get('etag');
        // A new number is not verified (yet).
        phone.show(answer.body);
        saved.textContent = 'Saved.';
        announce('Your details are saved');
      },
    ),
    phone.section,
    addressBook(addresses),
    h('h2', {}, 'Your data'),
    h('p', {}, 'Download everything the shop holds about you, orders included.'),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: act(async () => {
          const data = await get('/api/users/me/export');
          const link = h('a', {
            href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], {type: 'application/json'})),
            download: 'my-shop-data.json',
          });
          link.click();
          URL.revokeObjectURL(link.href);
        }),
      },
      'Download my data',
    ),
    h('h2', {}, 'Delete your account'),
    h(
      'p',
      {},
      'Your profile, cart and notifications are erased; orders kept for accounting lose your name and address.',
    ),
    form(
      'Delete your account',
      [
        h(
          'label',
          {},
          h('input', {type: 'checkbox', name: 'sure', required: true}),
          'I understand this cannot be undone',
        ),
        h('button', {type: 'submit', class: 'contrast'}, 'Delete my account'),
      ],
      async () => {
        await del(`/api/users/${encodeURIComponent(user.id)}`);
        forget();
        go('');
      },
    ),
  ];
}

export async function notifications(params) {
  const {items, next} = await listPage(params, '/api/users/me/notifications?limit=50');
  return [
    h('h1', {}, 'Your notifications'),
    items.length === 0
      ? h('p', {}, 'Nothing yet.')
      : table(
          ['When', 'What', 'To', 'Status'],
          items.map((n) =>
            h(
              'tr',
              {},
              h('td', {}, date(n.created_at)),
              h('td', {}, n.subject ?? n.kind),
              h('td', {}, `${n.channel}: ${n.to}`),
              h('td', {}, n.status),
            ),
          ),
        ),
    nextLink('notifications', next, 'Older'),
  ];
}
