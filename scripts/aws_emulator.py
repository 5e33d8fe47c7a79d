"""The AWS emulator for the tests: moto's server, applying one request at a time.

DynamoDB applies every write and transaction atomically, so concurrent conditional writes
never both pass. moto's threaded server checks a condition and applies the write in separate
steps that other request threads can interleave with, which no real table does. Holding one
lock around each request restores all-or-nothing writes, so the concurrency tests check the
shop's conditions rather than the emulator's thread safety.

Usage: python aws_emulator.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # Read the whole answer under the lock: the write happens while it is produced.
            return list(app(environ, start_response))

    run_simple(host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
