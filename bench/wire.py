"""A cheap keep-alive HTTP/1.1 client for the load generator.

``http.client`` parses every response's headers with the email package, which costs the
client about as much CPU as a do-nothing Flask view costs the server; on a 2-core machine
that CPU is taken from the server being measured. This client sends prebuilt request
bytes and reads back only the status, ``Content-Length`` and ``Transfer-Encoding``:
enough for the responses waitress sends. Standard library only, so that it runs in the
spawned client processes without importing Flask or Willow.
"""

from __future__ import annotations

import socket


class Connection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int, timeout: float = 120.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buffer = b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def request(self, raw: bytes, head: bool = False) -> tuple[int, bytes]:
        """Send one prebuilt request; return (status, body). A connection the server
        closed while idle is reopened once; any other failure raises ``OSError``."""
        fresh = self.sock is None
        sock = self.sock or self._connect()
        try:
            sock.sendall(raw)
            return self._response(head)
        except (ConnectionError, _Closed):
            self.close()
            if fresh:
                raise
            self._connect().sendall(raw)
            return self._response(head)

    def _recv(self) -> bytes:
        data = self.sock.recv(262144)
        if not data:
            raise _Closed
        return data

    def _response(self, head: bool) -> tuple[int, bytes]:
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        while end < 0:
            buffer += self._recv()
            end = buffer.find(b"\r\n\r\n")
        header = buffer[:end]
        rest = buffer[end + 4 :]
        status = int(header[9:12])
        lowered = header.lower()
        close = b"\r\nconnection: close" in lowered
        length = -1
        at = lowered.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = lowered.find(b"\r\n", at + 2)
            length = int(lowered[at + 17 : stop if stop > 0 else len(lowered)])
        if head or status in (204, 304) or 100 <= status < 200:
            body, self.buffer = b"", rest
        elif length >= 0:
            while len(rest) < length:
                rest += self._recv()
            body, self.buffer = rest[:length], rest[length:]
        elif b"\r\ntransfer-encoding: chunked" in lowered:
            body = self._chunked(rest)
        else:
            # No length: the body runs to the end of the connection.
            chunks = [rest]
            try:
                while True:
                    chunks.append(self._recv())
            except _Closed:
                pass
            body, close = b"".join(chunks), True
        if close:
            self.close()
        return status, body

    def _chunked(self, rest: bytes) -> bytes:
        parts = []
        while True:
            line_end = rest.find(b"\r\n")
            while line_end < 0:
                rest += self._recv()
                line_end = rest.find(b"\r\n")
            size = int(rest[:line_end].split(b";")[0], 16)
            rest = rest[line_end + 2 :]
            if size == 0:
                # Trailers (none from waitress) end with an empty line.
                while rest.find(b"\r\n") < 0:
                    rest += self._recv()
                self.buffer = rest[rest.find(b"\r\n") + 2 :]
                return b"".join(parts)
            while len(rest) < size + 2:
                rest += self._recv()
            parts.append(rest[:size])
            rest = rest[size + 2 :]


class _Closed(Exception):
    """The server closed the connection."""


def build_request(
    method: str, host: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> bytes:
    """The bytes of one HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")
