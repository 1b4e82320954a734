"""One line per HTTP request on standard output: what an operator tails to see traffic.

    2026-11-29T16:40:03Z 10.0.0.7 "GET /scim/v2//Users?startIndex=1" 200 4.1ms req=3f2c…

It is WSGI middleware around everything else, so the path is the one the client sent
(before the /scim path normaliser) and every answer is logged, console pages and errors
included. Query strings pass through the request log's redaction, so a token-like
parameter is never printed. ``WILLOW_ACCESS_LOG=0`` turns it off.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import time
from datetime import UTC
from datetime import datetime
from urllib.parse import unquote

from flask import Flask

from .middleware import PATH_AS_SENT
from .monitor.redact import redact_query

logger = logging.getLogger("willow.access")


def format_line(environ: dict, status: str, duration_ms: float, request_id: str | None) -> str:
    """The access-log line for one request (pure, for the tests)."""
    path = environ.get(PATH_AS_SENT) or environ.get("PATH_INFO", "")
    query = redact_query(unquote(environ.get("QUERY_STRING", "")))
    target = f"{path}?{query}" if query else path
    target = target.replace("\\", "\\\\").replace('"', '\\"')
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    client = environ.get("REMOTE_ADDR") or "-"
    line = (
        f'{when} {client} "{environ.get("REQUEST_METHOD", "-")} {target}" '
        f"{status.split(' ', 1)[0]} {duration_ms:.1f}ms"
    )
    return f"{line} req={request_id}" if request_id else line


class AccessLog:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        # The path as sent: PATH_INFO itself may be rewritten further in (the normaliser
        # keeps the original under PATH_AS_SENT).
        environ.setdefault(PATH_AS_SENT, environ.get("PATH_INFO", ""))

        def logging_start_response(status, headers, exc_info=None):
            request_id = next((v for k, v in headers if k.lower() == "x-request-id"), None)
            duration_ms = (time.perf_counter() - started) * 1000
            logger.info(format_line(environ, status, duration_ms, request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, logging_start_response)


def init_app(app: Flask) -> None:
    if not app.config.get("WILLOW_ACCESS_LOG"):
        return
    if not logger.handlers:
        # Request threads only queue their line; one thread writes them. With a stream
        # handler on every thread, each line held the handler's lock across a write to
        # stdout, and under load the threads queued on it.
        lines: queue.SimpleQueue = queue.SimpleQueue()
        stdout = logging.StreamHandler(sys.stdout)
        stdout.setFormatter(logging.Formatter("%(message)s"))
        writer = logging.handlers.QueueListener(lines, stdout)
        writer.start()
        atexit.register(writer.stop)  # the last lines are written at a normal exit
        logger.addHandler(logging.handlers.QueueHandler(lines))
        logger.setLevel(logging.INFO)
        # Its own handler: the line format is fixed, whatever the root logger does.
        logger.propagate = False
    app.wsgi_app = AccessLog(app.wsgi_app)
