"""moto's server with persistent HTTP/1.1 connections, as AWS endpoints keep them.

`python -m moto.server` speaks HTTP/1.0 and closes the connection after every response, so each boto3
call against it pays a fresh TCP connect that no AWS endpoint costs (boto3 keeps its connections open).
The emulator runs this instead, so local latency figures measure our code and the emulator's work, not
connection set-up. Usage: `python -m faqbot.local.moto_server -H 127.0.0.1 -p 4566`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handling over HTTP/1.1: the connection stays open between requests."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the body of a kept-alive connection
    # waits for the client's delayed ACK (up to 40 ms on Linux).
    disable_nagle_algorithm = True


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs (SQS queue URLs) from it
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        app,
        threaded=True,
        request_handler=KeepAliveRequestHandler,
    )


if __name__ == "__main__":
    main()
