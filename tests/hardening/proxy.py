"""A tiny round-robin reverse proxy for the several-app-servers tests: one address in
front of several ``python app.py`` processes, forwarding what docs/several-app-servers.md
says a proxy must forward.

Each request goes to the next server in turn, on a connection of its own (as nginx does
without upstream keep-alive), with ``X-Forwarded-For`` (the client's address),
``X-Forwarded-Proto`` and ``X-Forwarded-Host`` set, and the answer goes back whole. The
proxy connects to the servers from ``source`` (a loopback address of its own, e.g.
127.0.0.2), so the servers can tell it from the clients and trust it alone."""

from __future__ import annotations

import itertools
import socket
import socketserver
import threading


def _read_head(sock: socket.socket, buffer: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    buffer[:] = rest
    return head


def _read_body(sock: socket.socket, buffer: bytearray, length: int) -> bytes:
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return body


def _content_length(lines: list[bytes]) -> int:
    for line in lines:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class RoundRobinProxy:
    """``with RoundRobinProxy([(host, port), …], public_host=…) as proxy:`` listens on
    ``proxy.port``; ``proxy.served`` counts the requests each server got."""

    def __init__(
        self,
        servers: list[tuple[str, int]],
        *,
        public_host: str,
        proto: str = "https",
        source: str = "127.0.0.2",
    ) -> None:
        self.servers = servers
        self.served = [0] * len(servers)
        self._turn = itertools.cycle(range(len(servers)))
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request, self.client_address[0], public_host, proto, source)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RoundRobinProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> int:
        with self._lock:
            index = next(self._turn)
            self.served[index] += 1
            return index

    def _serve(self, client, address: str, public_host: str, proto: str, source: str) -> None:
        buffer = bytearray()
        while True:  # the client's keep-alive connection: one request after the other
            head = _read_head(client, buffer)
            if head is None:
                return
            request_line, *lines = head.split(b"\r\n")
            body = _read_body(client, buffer, _content_length(lines))
            dropped = (b"x-forwarded-", b"forwarded", b"connection", b"host")
            kept = [line for line in lines if not line.lower().startswith(dropped)]
            kept += [
                b"Host: " + public_host.encode(),
                b"X-Forwarded-For: " + address.encode(),
                b"X-Forwarded-Proto: " + proto.encode(),
                b"X-Forwarded-Host: " + public_host.encode(),
                b"Connection: close",
            ]
            upstream = socket.create_connection(
                self.servers[self._next()], timeout=60, source_address=(source, 0)
            )
            with upstream:
                upstream.sendall(b"\r\n".join([request_line, *kept]) + b"\r\n\r\n" + body)
                answer = bytearray()
                while chunk := upstream.recv(65536):
                    answer += chunk
            client.sendall(answer)
