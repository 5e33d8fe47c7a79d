"""The AWS emulator for the tests: moto's server, applying one request at a time.

DynamoDB applies every write and transaction atomically, so concurrent conditional writes
never both pass. moto's threaded server checks a condition and applies the write in separate
steps that other request threads can interleave with, which no real table does. Holding one
lock around each request restores all-or-nothing writes, so the concurrency tests check the
shop's conditions rather than the emulator's thread safety.

It also answers `GET /_shop/sent?service=ses|sns&to=RECIPIENT`: the emails SES sent (or the
SMS SNS sent) to one recipient, as `[{"id", "to", "words", "source"}]` (an email's subject, an
SMS's text), so a test reads back what it sent without moto's whole state (`/moto-api/data.json`
holds every table and queue of the run).

And it adds Cognito's ResendConfirmationCode, which moto lacks, as the API reference describes
it: a new code for an unconfirmed user (UserNotFoundException for an unknown one,
InvalidParameterException for one confirmed already), its delivery details answered.

Usage: python aws_emulator.py HOST PORT
"""

import json
import sys
import threading
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


SENT_PATH = "/_shop/sent"


def sent(service: str, to: str) -> list[dict]:
    """What SES or SNS sent to `to`, in every account and region the run used."""
    if service == "ses":
        from moto.ses.models import ses_backends

        return [
            {"id": m.id, "to": to, "words": m.subject, "source": m.source}
            for regions in ses_backends.values()
            for backend in regions.values()
            for m in backend.sent_messages
            if to in getattr(m, "destinations", {}).get("ToAddresses", [])
        ]
    if service == "sns":
        from moto.sns.models import sns_backends

        return [
            {"id": message_id, "to": number, "words": text, "source": None}
            for regions in sns_backends.values()
            for backend in regions.values()
            for message_id, (number, text) in backend.sms_messages.items()
            if number == to
        ]
    raise ValueError(f"no sent messages of {service!r}")


def add_resend_confirmation_code() -> None:
    from moto.core.responses import ActionResult
    from moto.cognitoidp.exceptions import InvalidParameterException, UserNotFoundError
    from moto.cognitoidp.models import UserStatus, cognitoidp_backends
    from moto.cognitoidp.responses import CognitoIdpResponse

    def resend_confirmation_code(self) -> ActionResult:
        client_id, username = self._get_param("ClientId"), self._get_param("Username")
        pools = [
            pool
            for regions in cognitoidp_backends.values()
            for backend in regions.values()
            for pool in backend.user_pools.values()
            if client_id in pool.clients
        ]
        user = pools[0]._get_user(username) if pools else None
        if user is None:
            raise UserNotFoundError("User does not exist.")
        if user.status != UserStatus.UNCONFIRMED:
            raise InvalidParameterException("User is already confirmed.")
        email = user.attribute_lookup.get("email", "")
        masked = email[:1] + "***@" + email.partition("@")[2]
        delivery = {"Destination": masked, "DeliveryMedium": "EMAIL", "AttributeName": "email"}
        return ActionResult({"CodeDeliveryDetails": delivery})

    CognitoIdpResponse.resend_confirmation_code = resend_confirmation_code


def main() -> None:
    add_resend_confirmation_code()
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        if environ.get("PATH_INFO") == SENT_PATH:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            with lock:
                body = json.dumps(sent(query["service"][0], query["to"][0])).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        with lock:
            # Read the whole answer under the lock: the write happens while it is produced.
            return list(app(environ, start_response))

    run_simple(host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
