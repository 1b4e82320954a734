"""Real app servers for the multi-process tests: ``python app.py`` (waitress) in a
subprocess, configured only through ``WILLOW_*`` environment variables, on a free
127.0.0.1 port. Nothing here is POSIX-only: ``Popen.kill()`` is SIGKILL on POSIX and
TerminateProcess on Windows."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCIM_TYPE = "application/scim+json"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plain_url(url: str) -> str:
    """The database URL as ``WILLOW_DATABASE_URL`` takes it (the app picks the driver)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class LiveServer:
    """One ``python app.py`` process."""

    def __init__(
        self, database_url: str, log_path: Path, *, threads: int = 8, env: dict | None = None
    ):
        self.database_url = plain_url(database_url)
        self.database = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        self.log_path = log_path
        self.threads = threads
        self.extra_env = env or {}
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WILLOW_")}
        env.update(
            WILLOW_DATABASE_URL=self.database_url,
            WILLOW_HOST="127.0.0.1",
            WILLOW_PORT=str(self.port),
            WILLOW_THREADS=str(self.threads),
            WILLOW_SECRET_KEY="live-test-secret-key",
            WILLOW_LOG_PRUNE_INTERVAL="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> LiveServer:
        return self.launch().wait_ready(timeout)

    def launch(self) -> LiveServer:
        """Start the process; ``wait_ready`` waits for it to listen (several servers can
        start side by side)."""
        self.port = free_port()
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child keeps writing to it)
        self.proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 60.0) -> LiveServer:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"app server did not listen within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """Kill at once: no atexit, no log flush, no clean close of connections."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


class Client:
    """A minimal keep-alive HTTP client for one server; one per thread."""

    def __init__(self, server: LiveServer, token: str, timeout: float = 60.0):
        self.server = server
        self.token = token
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Authorization": f"Bearer {self.token}", "Accept": SCIM_TYPE}
        if data is not None:
            sent["Content-Type"] = SCIM_TYPE
        sent.update(headers or {})
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", self.server.port, timeout=self.timeout
            )
        try:
            self.conn.request(method, "/scim/v2" + path, body=data, headers=sent)
            response = self.conn.getresponse()
            headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, headers, response.read()
        except Exception:
            # Never retried: a write may have been applied before the connection broke.
            self.close()
            raise

    def json(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, object]:
        status, response_headers, payload = self.request(method, path, body, headers)
        return status, response_headers, json.loads(payload) if payload else None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Pool:
    """Requests sent from many threads at once, each thread with its own connection to
    each server; answers come back in the order the jobs were given."""

    def __init__(self, token: str, threads: int = 16):
        self.token = token
        self.threads = threads
        self.local = threading.local()
        self.clients: list[Client] = []
        #: requests sent by every run so far
        self.sent = 0
        self._lock = threading.Lock()

    def _client(self, server: LiveServer) -> Client:
        clients = self.local.__dict__.setdefault("clients", {})
        if server.port not in clients:
            clients[server.port] = Client(server, self.token)
            self.clients.append(clients[server.port])
        return clients[server.port]

    def run(self, jobs: list[tuple]) -> list[tuple[int, dict, bytes]]:
        """``jobs``: (server, method, path, body[, headers]) tuples, or callables taking
        a function ``send(server, method, path, body, headers=None)``."""
        go = threading.Event()

        def send(server, method, path, body=None, headers=None):
            with self._lock:
                self.sent += 1
            return self._client(server).request(method, path, body, headers)

        def one(job):
            go.wait(30)  # the first wave of threads starts together
            if callable(job):
                return job(send)
            return send(*job)

        try:
            with ThreadPoolExecutor(self.threads) as executor:
                futures = [executor.submit(one, job) for job in jobs]
                go.set()
                return [future.result() for future in futures]
        finally:
            for client in self.clients:
                client.close()
            self.clients.clear()
