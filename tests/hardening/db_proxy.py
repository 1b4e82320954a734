"""A TCP proxy in front of the database server that a test can cut and restore, so that
a database restart is played without touching the (shared) server itself.

``cut()`` closes every proxied connection (the client sees the server close it, as at a
restart) and stops listening (new connections are refused); ``restore()`` listens again
on the same port.
"""

from __future__ import annotations

import socket
import threading


class CuttableProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._stop_accepting = threading.Event()
        #: Connections proxied so far.
        self.connections = 0

    def start(self) -> CuttableProxy:
        self._listen()
        return self

    def cut(self) -> None:
        self._stop_listening()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._listen()

    def close(self) -> None:
        self.cut()

    def __enter__(self) -> CuttableProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        # Polled, so that a cut ends the accepting thread without closing a socket
        # another thread is blocked in.
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop_accepting = threading.Event()
        self._accepting = threading.Thread(
            target=self._accept, args=(listener, self._stop_accepting), daemon=True
        )
        self._accepting.start()

    def _stop_listening(self) -> None:
        if self._listener is None:
            return
        self._stop_accepting.set()
        assert self._accepting is not None
        self._accepting.join(5)
        self._listener.close()
        self._listener = None

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
                self.connections += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(src, dst), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
