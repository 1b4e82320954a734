"""A database restart under load, and a start-up without the database (issue 20, item 9).

The restart is played by a TCP proxy in front of the PostgreSQL server (``db_proxy``):
the live server (``python app.py``) connects through it, and the test cuts every
connection and refuses new ones for two seconds, then restores it, while client threads
send SCIM writes and reads. The shared PostgreSQL server itself is never touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from .conftest import COUNTS
from .conftest import ERROR_SCHEMA
from .conftest import user_body
from .db_proxy import CuttableProxy
from .live import ROOT
from .live import Client
from .live import LiveServer
from .live import free_port
from .live import plain_url

CUT_S = 2.0
CLIENTS = 4


def _through(proxy: CuttableProxy, url: str) -> str:
    return (
        sa.engine.make_url(url)
        .set(host="127.0.0.1", port=proxy.port)
        .render_as_string(hide_password=False)
    )


def _upstream(url: str) -> tuple[str, int]:
    parsed = sa.engine.make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


class Load:
    """Client threads that create users and read them back until told to stop; every
    answer is kept with its time, and every created user with its id."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server = server
        self.token = token
        self.stop = threading.Event()
        self.lock = threading.Lock()
        #: (time, method, status, headers, body)
        self.answers: list[tuple[float, str, int, dict, bytes]] = []
        #: userName -> id of every acknowledged (201) create
        self.created: dict[str, str] = {}
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(CLIENTS)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _run(self, number: int) -> None:
        last_id = None
        turn = 0
        with Client(self.server, self.token, timeout=30) as client:
            while not self.stop.is_set():
                turn += 1
                try:
                    if last_id is not None and turn % 3 == 0:
                        method = "GET"
                        status, headers, body = client.request("GET", f"/Users/{last_id}")
                    else:
                        name = f"outage-{number}-{uuid.uuid4().hex[:10]}@example.com"
                        method = "POST"
                        status, headers, body = client.request("POST", "/Users", user_body(name))
                        if status == 201:
                            last_id = json.loads(body)["id"]
                            with self.lock:
                                self.created[name] = last_id
                except Exception as exc:  # a dropped HTTP connection: the test fails
                    with self.lock:
                        self.errors.append(exc)
                    return
                with self.lock:
                    self.answers.append((time.monotonic(), method, status, headers, body))
                if status == 503:
                    time.sleep(0.05)  # an IdP waits before it retries; not Retry-After's 5 s

    def since(self, moment: float) -> list[tuple[float, str, int, dict, bytes]]:
        with self.lock:
            return [answer for answer in self.answers if answer[0] >= moment]


@pytest.mark.parametrize("backend", ["postgresql"])  # a restart needs a database server
def test_a_database_restart_under_load_is_answered_503_and_loses_nothing_acknowledged(
    app, database_url, token, tmp_path
):
    with CuttableProxy(_upstream(database_url)) as proxy:
        server = LiveServer(_through(proxy, database_url), tmp_path / "server.log").start()
        try:
            with Load(server, token) as load:
                time.sleep(1.0)
                cut_at = time.monotonic()
                proxy.cut()
                time.sleep(CUT_S)
                proxy.restore()
                restored_at = time.monotonic()
                deadline = restored_at + 20
                while time.monotonic() < deadline:
                    after = [a for a in load.since(restored_at + 0.5) if a[2] in (200, 201)]
                    if len(after) >= 2 * CLIENTS:
                        break
                    time.sleep(0.1)
                time.sleep(0.5)
            assert not load.errors, load.errors

            answers = load.answers
            statuses = sorted({a[2] for a in answers})
            assert set(statuses) <= {200, 201, 503}, statuses
            refused = [a for a in answers if a[2] == 503]
            assert refused, "no request met the outage"
            assert all(cut_at <= a[0] for a in refused)
            for _, _, _, headers, body in refused:
                assert 1 <= int(headers["retry-after"]) <= 30
                assert headers["content-type"].startswith("application/scim+json")
                error = json.loads(body)
                assert error["schemas"] == [ERROR_SCHEMA] and error["status"] == "503"
                assert "database is unavailable" in error["detail"]
            # Recovered by itself: every client was served again after the restore.
            recovered = [a for a in load.since(restored_at) if a[2] in (200, 201)]
            assert len(recovered) >= 2 * CLIENTS, f"no recovery: {statuses}"
            COUNTS["outage: requests"] += len(answers)
            COUNTS["outage: 503"] += len(refused)
            COUNTS["outage: acknowledged creates"] += len(load.created)
            COUNTS["outage: ms from restore to first success"] += round(
                (recovered[0][0] - restored_at) * 1000
            )

            # Every acknowledged create is there, with its userName.
            with Client(server, token) as client:
                for name, user_id in load.created.items():
                    status, _, body = client.request("GET", f"/Users/{user_id}")
                    assert status == 200 and json.loads(body)["userName"] == name

            # Every answered request has its log row, the 503s of the outage included
            # (held by the writer, written after the restore, with their token).
            ids = {a[3]["x-request-id"]: a[2] for a in answers}
            engine = sa.create_engine(database_url)
            try:
                rows: dict[str, tuple] = {}
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and len(rows) < len(ids):
                    with engine.connect() as conn:
                        found = conn.execute(
                            sa.text(
                                "SELECT request_id, status_code, token_id "
                                "FROM scim_request_logs"
                            )
                        )
                        rows = {r.request_id: r for r in found if r.request_id in ids}
                    time.sleep(0.2)
            finally:
                engine.dispose()
            missing = set(ids) - set(rows)
            assert not missing, f"{len(missing)} of {len(ids)} log rows missing"
            assert all(rows[i].status_code == status for i, status in ids.items())
            assert all(rows[i].token_id is not None for i in ids)
            log = server.log()
            assert "Traceback" not in log
            assert "the database is back after" in log
        finally:
            server.stop()


def _start(url: str, tmp_path, **env: str) -> subprocess.Popen:
    environ = LiveServer(url, tmp_path / "unused.log").environment()
    environ.update(WILLOW_PORT=str(free_port()), **env)
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_app_py_without_its_database_says_so_in_one_line_and_exits(tmp_path):
    port = free_port()  # nothing listens there: connection refused
    proc = _start(f"postgresql://willow:s3cret-pw@127.0.0.1:{port}/willow", tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.splitlines() == [
        f"Willow: cannot reach the database at postgresql+psycopg://willow:***@127.0.0.1:{port}"
        "/willow (connection refused); set WILLOW_DB_WAIT_SECONDS to wait for it"
    ]
    assert "s3cret-pw" not in out + err and "Traceback" not in out + err


def test_app_py_waits_for_its_database_when_told_to(postgres_url, tmp_path):
    proxy = CuttableProxy(_upstream(postgres_url)).start()
    proxy.cut()  # the database is not there yet: connections are refused
    proc = _start(
        plain_url(_through(proxy, postgres_url)), tmp_path, WILLOW_DB_WAIT_SECONDS="30"
    )
    try:
        waiting = proc.stderr.readline()  # the server's first line, or "" if it exited
        assert waiting.startswith("Willow: waiting up to 30 s for the database at ")
        assert "(connection refused)" in waiting
        time.sleep(1.0)
        assert proc.poll() is None
        proxy.restore()
        deadline = time.monotonic() + 30
        line = ""
        lines = []
        while time.monotonic() < deadline and "Press Ctrl+C" not in line:
            line = proc.stdout.readline()
            lines.append(line)
        assert any(line.startswith("Willow SCIM serving on") for line in lines)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        proxy.close()
    assert "Traceback" not in out + err
