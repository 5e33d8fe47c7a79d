"""The Stripe-protocol server for the tests: localstripe 1.15.10, patched toward Stripe's shapes.

Usage: python localstripe.py HOST PORT   (e.g. 127.0.0.1 and a free port; never a wildcard)

localstripe's own CLI binds every interface (`::`) and loads/saves a pickle of its whole store
at the fixed path /tmp/localstripe.pickle. This launcher imports its modules instead and:

1. Store: in memory only. Nothing is read from or written to /tmp/localstripe.pickle (a
   shared, predictable path: another user's file there would be unpickled, i.e. run).
2. Binding: serves on HOST:PORT only. /_config/* (webhooks, reset) needs no key, so a wildcard
   HOST is refused.
3. JSON shapes: fields Stripe always sends (a strict client, such as a generated one, refuses
   an object without them). Added where localstripe lacks them:
   - PaymentIntent: amount_capturable, amount_received, confirmation_method,
     payment_method_types (required), canceled_at, cancellation_reason, description; latest_charge
     becomes the charge id (Stripe's shape; localstripe inlines the whole Charge); the deprecated `charges` list is dropped;
     last_payment_error gets `type` (ApiErrors requires it).
   - Event: pending_webhooks and request.
   - Refund: already has every required field (id, amount, created, currency); payment_intent is
     filled in from the charge and `reason` is accepted, as Stripe does.
4. Behaviour, where localstripe differs from Stripe in ways the adapter's tests would trip on:
   - Idempotency-Key on POST: the first 2xx/402 answer is stored per (API key, Idempotency-Key)
     and replayed (header Idempotent-Replayed: true) for a retry with the same path and
     parameters (in any order); a different path or parameters get Stripe's 400
     idempotency_error. Concurrent same-key requests are serialized. In memory, never expires; DELETE /_config/data clears it with the store.
   - A card decline (402) has type card_error, decline_code generic_decline and the
     PaymentIntent in the error, as Stripe answers.
   - Capture of a PaymentIntent that is not requires_capture, and cancel of one that is
     succeeded/canceled, are a 400 (payment_intent_unexpected_state) instead of a 500 or a bare
     "Bad request"; cancel accepts cancellation_reason.
   - Refunds: refused (400) unless the PaymentIntent/charge was captured and the amount is
     within what is left to refund (localstripe allows over-refunds and refunds of uncaptured
     or absent charges); without `amount` the rest is refunded, not the whole charge again.
   - Events Stripe sends and localstripe does not: payment_intent.canceled (on cancel) and
     refund.created (on POST /v1/refunds). They are signed and delivered like the others.
"""

import asyncio
import functools
import inspect
import ipaddress
import json
import logging
import os
import sys
import time
import urllib.parse

# This file is named like the package it imports: take its own directory off the path first.
sys.path[:] = [p for p in sys.path
               if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

from aiohttp import web  # noqa: E402
from localstripe import resources, server, webhooks  # noqa: E402
from localstripe.errors import UserError  # noqa: E402
from localstripe.resources import Charge, Event, PaymentIntent, Refund, schedule_webhook  # noqa: E402

# 1. In-memory store: localstripe pickles the whole store on every write and at every POST.
resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None


def _wrap(cls, name):
    """Replaces cls.name (own or inherited) by the decorated function, called as
    fn(original, self_or_cls, ...)."""
    orig = inspect.getattr_static(cls, name)

    def decorate(fn):
        if isinstance(orig, classmethod):
            func = orig.__func__
            setattr(cls, name, classmethod(lambda c, *a, **k: fn(func, c, *a, **k)))
        else:
            setattr(cls, name, lambda self, *a, **k: fn(orig, self, *a, **k))
        return fn

    return decorate


def _unexpected_state(pi, action, allowed):
    return UserError(
        400,
        f"This PaymentIntent could not be {action} because it has a status of {pi.status}. "
        f"Only a PaymentIntent with one of the following statuses may be {action}: {allowed}.",
        {"code": "payment_intent_unexpected_state"},
    )


# 3. PaymentIntent: keep the extra create parameters, export Stripe's required fields.
@_wrap(PaymentIntent, "__init__")
def _pi_init(orig, self, payment_method_types=None, description=None, **kw):
    orig(self, **kw)
    self._pm_types = payment_method_types or ["card"]
    self._description = description
    self._canceled_at = self._cancellation_reason = self._amount_received = None


@_wrap(PaymentIntent, "_export")
def _pi_export(orig, self, expand=None):
    o = orig(self, expand=expand)
    status, charge = o["status"], self.latest_charge
    o.pop("charges", None)
    o["amount_capturable"] = self.amount if status == "requires_capture" else 0
    o["amount_received"] = (self._amount_received or self.amount) if status == "succeeded" else 0
    o["confirmation_method"] = "automatic"
    o["payment_method_types"] = self._pm_types
    o["canceled_at"] = self._canceled_at
    o["cancellation_reason"] = self._cancellation_reason
    o["description"] = self._description
    if charge is not None and "latest_charge" not in (expand or []):
        o["latest_charge"] = charge.id
    error = o.get("last_payment_error")
    if error is not None:
        declined = error.get("code") == "card_declined"
        error = dict(error, type="card_error" if declined else "invalid_request_error")
        if declined:
            error["decline_code"] = "generic_decline"
        o["last_payment_error"] = error
    return o


@_wrap(PaymentIntent, "_report_failure")
def _pi_report_failure(orig, self):
    try:
        orig(self)
    except UserError as e:  # the 402 of a synchronous decline
        e.body["error"].update(type="card_error", decline_code="generic_decline",
                               payment_intent=self._export())
        raise


@_wrap(PaymentIntent, "_api_capture")
def _pi_capture(orig, cls, id, amount_to_capture=None, **kw):
    pi = cls._api_retrieve(id) if isinstance(id, str) and id.startswith("pi_") else None
    if pi is not None:
        if pi.status != "requires_capture":
            raise _unexpected_state(pi, "captured", "requires_capture")
        amount = resources.try_convert_to_int(amount_to_capture)
        if isinstance(amount, int) and 0 < amount <= pi.amount:
            pi._amount_received = amount  # set first: the succeeded event is built inside
    return orig(cls, id, amount_to_capture=amount_to_capture, **kw)


@_wrap(PaymentIntent, "_api_cancel")
def _pi_cancel(orig, cls, id, cancellation_reason=None, **kw):
    if cancellation_reason not in (None, "duplicate", "fraudulent", "requested_by_customer",
                                   "abandoned"):
        raise UserError(400, "Invalid cancellation_reason", {"param": "cancellation_reason"})
    pi = cls._api_retrieve(id) if isinstance(id, str) and id.startswith("pi_") else None
    if pi is not None and pi.status in ("succeeded", "canceled", "processing"):
        raise _unexpected_state(pi, "canceled", "requires_payment_method, requires_capture, "
                                "requires_confirmation, requires_action")
    pi = orig(cls, id, **kw)
    pi._canceled_at, pi._cancellation_reason = int(time.time()), cancellation_reason
    schedule_webhook(Event("payment_intent.canceled", pi))
    return pi


# Event: pending_webhooks and request, as Stripe sends them (no request log here).
@_wrap(Event, "_export")
def _event_export(orig, self, expand=None):
    o = orig(self, expand=expand)
    o["pending_webhooks"] = sum(
        1 for w in webhooks._webhooks.values() if w.events is None or self.type in w.events)
    o["request"] = {"id": None, "idempotency_key": None}
    return o


# Refund: Stripe's checks, `reason`, payment_intent filled in, and a refund.created event.
@_wrap(Refund, "__init__")
def _refund_init(orig, self, charge=None, payment_intent=None, amount=None, reason=None, **kw):
    target = None
    if isinstance(payment_intent, str) and payment_intent.startswith("pi_"):
        target = PaymentIntent._api_retrieve(payment_intent).latest_charge
        if target is None:
            raise UserError(400, "This PaymentIntent does not have a successful charge to refund.")
    elif isinstance(charge, str) and charge.startswith("ch_"):
        target = Charge._api_retrieve(charge)
    if target is not None and target.status == "succeeded":
        if not target.captured:
            raise UserError(400, "This PaymentIntent does not have a successful charge to refund.")
        left = target.amount - target.amount_refunded
        if left <= 0:
            raise UserError(400, f"Charge {target.id} has already been refunded.",
                            {"code": "charge_already_refunded"})
        wanted = resources.try_convert_to_int(amount)
        if isinstance(wanted, int) and wanted > left:
            raise UserError(400, f"Refund amount ({wanted}) is greater than unrefunded amount "
                                 f"on charge ({left})", {"param": "amount"})
        if amount is None:
            amount = left  # localstripe's default is the whole charge, Stripe's what is left
    if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
        raise UserError(400, "Invalid reason", {"param": "reason"})
    orig(self, charge=charge, payment_intent=payment_intent, amount=amount, **kw)
    self._reason = reason


@_wrap(Refund, "_export")
def _refund_export(orig, self, expand=None):
    o = orig(self, expand=expand)
    o.setdefault("reason", getattr(self, "_reason", None))
    if o.get("payment_intent") is None and isinstance(o.get("charge"), str):
        o["payment_intent"] = Charge._api_retrieve(o["charge"]).payment_intent
    return o


@_wrap(Refund, "_api_create")
def _refund_create(orig, cls, **data):
    refund = orig(cls, **data)
    schedule_webhook(Event("refund.created", refund))
    return refund


# localstripe bound its extra routes (capture, cancel, ...) to the methods as they were at
# import: send the two patched here to the patched methods.
_rerouted = {("POST", url): server.api_extra(getattr(PaymentIntent, name), url)
             for url, name in (("/v1/payment_intents/{id}/capture", "_api_capture"),
                               ("/v1/payment_intents/{id}/cancel", "_api_cancel"))}


@web.middleware
async def reroute_middleware(request, handler):
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else None
    return await _rerouted.get((request.method, canonical), handler)(request)


# 4. Idempotency-Key on POST (localstripe ignores it).
_replies = {}  # (Authorization, Idempotency-Key) -> ((path, parameters), status, body)
_locks = {}


def _parameters(raw, content_type):
    """A request's parameters whatever their order in the body, as Stripe compares them (a
    client may send the same metadata map in another order on a retry)."""
    text = raw.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            return json.dumps(json.loads(text), sort_keys=True)
        except ValueError:
            return text
    return tuple(sorted(urllib.parse.parse_qsl(text, keep_blank_values=True)))


@web.middleware
async def idempotency_middleware(request, handler):
    if request.method == "DELETE" and request.path == "/_config/data":
        _replies.clear()
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or request.path.startswith("/_config/"):
        return await handler(request)
    scope = (request.headers.get("Authorization", ""), key)
    request_id = (request.path_qs, _parameters(await request.read(), request.content_type))
    async with _locks.setdefault(scope, asyncio.Lock()):
        if scope in _replies:
            first_id, status, body = _replies[scope]
            if first_id != request_id:
                return server.json_response({"error": {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same "
                               f"parameters they were first used with. Try using a key other "
                               f"than '{key}' if you meant to execute a different request."}},
                    status=400)
            return web.Response(status=status, body=body, content_type="application/json",
                                headers={"Idempotent-Replayed": "true", "Idempotency-Key": key})
        response = await handler(request)
        # Stripe saves the result once the endpoint ran (not for failed validation).
        if 200 <= response.status < 300 or response.status == 402:
            _replies[scope] = (request_id, response.status, response.body)
        return response


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        if ipaddress.ip_address(host).is_unspecified:
            sys.exit(f"refusing to serve on every interface ({host}): /_config needs no key")
    except ValueError:
        if not host:
            sys.exit("give an address to listen on, e.g. 127.0.0.1")
    # Webhook delivery results are logged on aiohttp.access, with the requests.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server.app.middlewares.insert(0, idempotency_middleware)  # outermost: sees final answers
    server.app.middlewares.append(reroute_middleware)  # innermost: after auth
    # Flushed, so a test that waits for "Running on" sees it through a pipe or file.
    web.run_app(server.app, host=host, port=port,
                print=functools.partial(print, flush=True))


if __name__ == "__main__":
    main()
