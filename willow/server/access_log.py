"""One line per HTTP request on standard output: what an operator tails to see traffic.

    2026-11-29T16:40:03Z 10.0.0.7 "GET /scim/v2//Users?startIndex=1" 200 4.1ms req=3f2c…

It is WSGI middleware around everything else, so the path is the one the client sent
(before the /scim path normaliser) and every answer is logged, console pages and errors
included. Query strings pass through the request log's redaction, so a token-like
parameter is never printed. ``WILLOW_ACCESS_LOG=0`` turns it off.
"""

from __future__ import annotations

import atexit
import collections
import logging
import sys
import threading
import time
from datetime import UTC
from datetime import datetime
from urllib.parse import unquote

from flask import Flask

from ..monitor.redact import redact_query
from .middleware import PATH_AS_SENT
from .request_gate import ARRIVED

logger = logging.getLogger("willow.access")


_second: list = [None, ""]


def _timestamp() -> str:
    """The current UTC time to the second, formatted once per second."""
    now = int(time.time())
    second, text = _second
    if now != second:
        text = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _second[:] = [now, text]
    return text


def format_line(environ: dict, status: str, duration_ms: float, request_id: str | None) -> str:
    """The access-log line for one request (pure, for the tests)."""
    path = environ.get(PATH_AS_SENT) or environ.get("PATH_INFO", "")
    query = redact_query(unquote(environ.get("QUERY_STRING", "")))
    target = f"{path}?{query}" if query else path
    target = target.replace("\\", "\\\\").replace('"', '\\"')
    when = _timestamp()
    client = environ.get("REMOTE_ADDR") or "-"
    line = (
        f'{when} {client} "{environ.get("REQUEST_METHOD", "-")} {target}" '
        f"{status.split(' ', 1)[0]} {duration_ms:.1f}ms"
    )
    return f"{line} req={request_id}" if request_id else line


class AccessLog:
    def __init__(self, wsgi_app, lines: BatchedLines | None = None):
        self.wsgi_app = wsgi_app
        #: Willow's own writer: while it is the logger's only handler, lines go to it
        #: directly, without a LogRecord and a formatter each (a fifth of a do-nothing
        #: request's time). Another handler (a test, an operator's config) gets records.
        self.lines = lines

    def __call__(self, environ, start_response):
        # From the request's arrival in the /scim lane's queue, when it waited there
        # (willow.server.http_server), so that the line shows the wait the client saw.
        started = environ.get(ARRIVED) or time.perf_counter()
        # The path as sent: PATH_INFO itself may be rewritten further in (the normaliser
        # keeps the original under PATH_AS_SENT).
        environ.setdefault(PATH_AS_SENT, environ.get("PATH_INFO", ""))

        def logging_start_response(status, headers, exc_info=None):
            request_id = next((v for k, v in headers if k.lower() == "x-request-id"), None)
            duration_ms = (time.perf_counter() - started) * 1000
            line = format_line(environ, status, duration_ms, request_id)
            lines = self.lines
            if lines is not None and logger.handlers == [lines] and not logger.propagate:
                if logger.isEnabledFor(logging.INFO):
                    lines.add(line)
            else:
                logger.info(line)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, logging_start_response)


class BatchedLines(logging.Handler):
    """Lines handed over by request threads and written by one thread, gathered for a
    moment and written with one write and one flush.

    Writing each line as it came (a stream handler per thread, later one listener thread
    woken per line) cost every request a lock or a thread switch; here a request appends
    to a deque and wakes the writer only when it is asleep. A line reaches the stream at
    most ``WINDOW_S`` after its request; the rest is written at a normal exit."""

    WINDOW_S = 0.05

    def __init__(self, stream) -> None:
        super().__init__()
        self.stream = stream
        self._lines: collections.deque[str] = collections.deque()
        self._awake = False
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="willow-access-log", daemon=True).start()

    def handle(self, record: logging.LogRecord) -> bool:
        self.add(self.format(record))
        return True

    def add(self, line: str) -> None:
        # No handler lock: appending to a deque is atomic, and the writer alone writes.
        self._lines.append(line)
        if not self._awake:
            self._awake = True
            self._wake.set()

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.WINDOW_S)
            # Asleep again before draining: a line appended after this is either drained
            # now or wakes the next round.
            self._awake = False
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        lines = []
        while self._lines:
            lines.append(self._lines.popleft())
        if lines:
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # the stream is gone (closed at exit)
                pass


def init_app(app: Flask) -> None:
    if not app.config.get("WILLOW_ACCESS_LOG"):
        return
    if not logger.handlers:
        writer = BatchedLines(sys.stdout)
        writer.setFormatter(logging.Formatter("%(message)s"))
        atexit.register(writer.flush)  # the last lines are written at a normal exit
        logger.addHandler(writer)
        logger.setLevel(logging.INFO)
        # Its own handler: the line format is fixed, whatever the root logger does.
        logger.propagate = False
    own = next((h for h in logger.handlers if isinstance(h, BatchedLines)), None)
    app.wsgi_app = AccessLog(app.wsgi_app, own)
