"""The waitress server of ``python app.py`` (``willow.server.http_server``): a connection whose
task is running is not polled for output, and every response still arrives whole —
small, streamed past the output high-water mark, pipelined, and under concurrent
clients; /scim requests have a lane of their own when their concurrency is limited."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask import Response
from flask import request

from tests.threaded_waitress import running
from willow.server.http_server import LaneDispatcher
from willow.server.http_server import QuietChannel
from willow.server.http_server import create
from willow.server.http_server import is_scim_target
from willow.server.request_gate import ARRIVED

CHUNK = b"x" * 65536


def _app() -> Flask:
    app = Flask("http-server-test")

    @app.get("/small")
    def small():
        return {"ok": True}

    @app.get("/big")
    def big():
        # 64 chunks of 64 KiB: 4 MiB, past the 256 KiB high-water mark set below.
        return Response(
            (CHUNK for _ in range(64)),
            mimetype="application/octet-stream",
            headers={"Content-Length": str(64 * len(CHUNK))},
        )

    return app


@pytest.fixture
def server():
    srv = create(_app(), host="127.0.0.1", port=0, threads=4, outbuf_high_watermark=262144)
    with running(srv):
        yield srv


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response (Content-Length or chunked) from ``sock``; the rest stays in
    ``buffer``."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        assert data, "connection closed before the headers"
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    buffer[:] = rest
    headers = head.decode("latin-1").lower()
    if "transfer-encoding: chunked" in headers:
        body = bytearray()
        while True:
            while b"\r\n" not in buffer:
                buffer += sock.recv(65536)
            size_line, _, rest = bytes(buffer).partition(b"\r\n")
            size = int(size_line, 16)
            buffer[:] = rest
            while len(buffer) < size + 2:
                buffer += sock.recv(65536)
            body += buffer[:size]
            buffer[:] = buffer[size + 2 :]
            if size == 0:
                return head, bytes(body)
    length = int(headers.split("content-length:")[1].split("\r\n")[0])
    while len(buffer) < length:
        data = sock.recv(65536)
        assert data, "connection closed before the body"
        buffer += data
    body = bytes(buffer[:length])
    buffer[:] = buffer[length:]
    return head, body


def _get(port: int, paths: list[str]) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for p in paths))
        buffer = bytearray()
        return [_read_response(sock, buffer)[1] for _ in paths]


def test_the_server_uses_the_channel_that_does_not_poll_a_running_task(server):
    assert server.channel_class is QuietChannel


def test_a_response_past_the_high_water_mark_arrives_whole(server):
    [body] = _get(server.effective_port, ["/big"])
    assert body == CHUNK * 64


def test_pipelined_requests_on_one_connection_are_answered_in_order(server):
    bodies = _get(server.effective_port, ["/small", "/big", "/small", "/small"])
    assert bodies[0] == bodies[2] == bodies[3] == b'{"ok":true}\n'
    assert bodies[1] == CHUNK * 64


def test_concurrent_keep_alive_clients_get_every_response(server):
    port = server.effective_port
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _get(port, ["/small"] * 25 + ["/big"]), range(8)))
    for bodies in results:
        assert bodies[:25] == [b'{"ok":true}\n'] * 25
        assert bodies[25] == CHUNK * 64


# -- the /scim lane (LaneDispatcher) -------------------------------------------------


def _lane_app(entered: threading.Event, release: threading.Event) -> Flask:
    app = Flask("lane-test")
    app.extensions["willow_scim_concurrency"] = 1

    @app.get("/scim/v2/thread")
    def scim_thread():
        return {"thread": threading.current_thread().name}

    @app.get("/scim/v2/hold")
    def hold():
        entered.set()
        release.wait(10)
        return {"held": True}

    @app.get("/scim/v2/waited")
    def waited():
        return {"waited": time.perf_counter() - request.environ[ARRIVED]}

    @app.get("/admin/thread")
    def admin_thread():
        return {"thread": threading.current_thread().name}

    return app


@pytest.fixture
def lane():
    entered, release = threading.Event(), threading.Event()
    srv = create(_lane_app(entered, release), host="127.0.0.1", port=0, threads=4)
    with running(srv):
        yield srv, entered, release
    release.set()


def _json(port: int, path: str) -> dict:
    return json.loads(_get(port, [path])[0])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/scim/v2/Users", True),
        ("/scim", True),
        ("//scim/v2/Users", True),
        ("/SCIM/V2/Users", True),
        ("/admin/login", False),
        ("/monitor/scim-logs", False),
        ("/", False),
        ("", False),
        (None, False),
    ],
)
def test_a_scim_target_is_recognised_as_sent_before_the_path_is_normalised(path, expected):
    assert is_scim_target(path) is expected


def test_a_server_with_a_scim_limit_serves_scim_in_its_own_lane(lane):
    srv, _, _ = lane
    assert isinstance(srv.task_dispatcher, LaneDispatcher)
    port = srv.effective_port
    assert _json(port, "/scim/v2/thread")["thread"].startswith("willow-scim-")
    assert _json(port, "/admin/thread")["thread"].startswith("waitress-")


def test_a_server_without_a_scim_limit_has_no_lane():
    srv = create(_app(), host="127.0.0.1", port=0, threads=2)
    try:
        assert not isinstance(srv.task_dispatcher, LaneDispatcher)
    finally:
        srv.close()


def test_a_long_scim_request_does_not_hold_up_the_console_and_the_next_one_logs_its_wait(
    lane, caplog
):
    srv, entered, release = lane
    port = srv.effective_port
    with ThreadPoolExecutor(3) as pool:
        held = pool.submit(_json, port, "/scim/v2/hold")
        assert entered.wait(10)  # the lane's one thread is now inside /hold
        queued = pool.submit(_json, port, "/scim/v2/waited")
        # The console is answered while the lane is busy.
        assert _json(port, "/admin/thread")["thread"].startswith("waitress-")
        time.sleep(0.3)
        assert not queued.done()
        release.set()
        assert held.result(10) == {"held": True}
        # Its wait in the lane's queue counts, as the request log's duration counts it.
        assert queued.result(10)["waited"] >= 0.3
    # Waiting for the lane is the design: waitress's "Task queue depth" warning is not
    # logged for it.
    assert not [r for r in caplog.records if r.name == "waitress.queue"]


# -- bodiless responses keep the connection -----------------------------------------


def _exchange(port: int, requests: list[bytes]) -> list[bytes]:
    """Send ``requests`` one after the other on one connection; each response's head.
    A response that closes the connection fails the next request's read."""
    heads = []
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        buffer = bytearray()
        for raw in requests:
            sock.sendall(raw)
            head, _body = _read_bodiless_or_sized(sock, buffer)
            heads.append(head)
    return heads


def _read_bodiless_or_sized(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        buffer += data
    head = bytes(buffer).partition(b"\r\n\r\n")[0]
    status = int(head.split(b" ", 2)[1])
    if status in (204, 304):
        buffer[:] = bytes(buffer).partition(b"\r\n\r\n")[2]
        return head, b""
    return _read_response(sock, buffer)


def _bodiless_app() -> Flask:
    app = Flask("bodiless-test")

    @app.get("/nothing")
    def nothing():
        return "", 204

    @app.get("/unchanged")
    def unchanged():
        return "", 304

    @app.get("/small")
    def small():
        return {"ok": True}

    return app


def _request(method: str, path: str, headers: dict | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("path", ["/nothing", "/unchanged"])
def test_a_bodiless_response_keeps_the_connection_for_the_next_request(path):
    with running(create(_bodiless_app(), host="127.0.0.1", port=0, threads=2)) as srv:
        first, second = _exchange(srv.effective_port, [_request("GET", path)] * 2)
    for head in (first, second):
        assert b"connection: close" not in head.lower()
        assert b"content-length" not in head.lower()  # RFC 9110 §8.6 forbids it on a 204


def test_a_client_that_asks_to_close_after_a_bodiless_response_is_answered_so():
    with running(create(_bodiless_app(), host="127.0.0.1", port=0, threads=2)) as srv:
        [head] = _exchange(
            srv.effective_port, [_request("GET", "/nothing", {"Connection": "close"})]
        )
    assert b"connection: close" in head.lower()
