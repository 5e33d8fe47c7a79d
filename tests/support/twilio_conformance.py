"""Drives the fake Twilio with Twilio's own Python library (PyPI `twilio`, pinned in
requirements-dev.txt): what the real client sends, the fake must take, and what the fake
answers, the real client must read. Arguments: the fake's base URL, account SID, auth token,
the account's number, and a number that replied STOP."""

import sys

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

base, sid, token, sender, stopped = sys.argv[1:6]
client = Client(sid, token)
client.api.base_url = base

sent = client.messages.create(to="+4915112345678", from_=sender, body="Shop: order shipped.")
assert sent.sid.startswith("SM") and len(sent.sid) == 34, sent.sid
assert (sent.status, sent.body, sent.to, sent.from_) == ("queued", "Shop: order shipped.", "+4915112345678", sender)
assert sent.date_created is not None and sent.num_segments == "1"

fetched = client.messages(sent.sid).fetch()
assert (fetched.sid, fetched.body) == (sent.sid, sent.body)


def refused(code, **kwargs):
    try:
        client.messages.create(**kwargs)
    except TwilioRestException as e:
        assert (e.code, e.status) == (code, 400 if code != 20003 else 401), (e.code, e.status, e.msg)
        return
    raise AssertionError(f"expected Twilio error {code}")


refused(21610, to=stopped, from_=sender, body="x")
refused(21211, to="12345", from_=sender, body="x")
refused(21602, to="+4915112345678", from_=sender, body="")
refused(21606, to="+4915112345678", from_="+15550000000", body="x")
wrong = Client(sid, "not-the-token")
wrong.api.base_url = base
try:
    wrong.messages.create(to="+4915112345678", from_=sender, body="x")
    raise AssertionError("a wrong token was accepted")
except TwilioRestException as e:
    assert (e.code, e.status) == (20003, 401), (e.code, e.status)
print("conformant")
