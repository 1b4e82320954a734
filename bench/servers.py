"""The server processes of a benchmark run, started as users start them.

Willow runs as ``python app.py`` (migrations, then waitress) with ``WILLOW_*`` variables;
the do-nothing endpoint and the scim2-server peer run under waitress in processes of
their own. Everything here works on Linux and Windows: processes are started with
``subprocess`` and ``sys.executable``, stopped with Ctrl-C (SIGINT; CTRL_BREAK_EVENT on
Windows) so that Willow writes out its request-log queue, and measured with psutil.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = os.name == "nt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def willow_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of Willow's processes: the bench's database, nothing inherited
    that could point elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WILLOW_", "FLASK_"))}
    env["WILLOW_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def flask_cli(args: list[str], env: dict[str, str]) -> str:
    """Run ``flask --app app ARGS`` as an administrator would; return its output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class Server:
    """A server process: started, waited for, measured, stopped."""

    def __init__(self, name: str, command: list[str], port: int, env: dict, log_path: Path,
                 ready_path: str, cwd: Path = ROOT):
        self.name = name
        self.port = port
        self.ready_path = ready_path
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if WINDOWS else 0
        self.popen = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            creationflags=flags,
        )
        self.process: psutil.Process | None = None
        self.max_rss = 0
        #: Seconds to wait after a run before its CPU time is read (background work).
        self.settle = 0.0
        self.interrupted = False

    def wait_ready(self, timeout: float) -> None:
        """Until the server answers ``ready_path`` (any status) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.ready_path)
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{self.name} did not answer in {timeout:.0f} s:\n"
                               f"{self.log_tail()}")
        self.process = _serving_process(self.popen.pid)

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        rss = self.process.memory_info().rss
        self.max_rss = max(self.max_rss, rss)
        return rss

    def peak_rss(self) -> int:
        """The process's high-water mark where the OS keeps one, else the largest sample."""
        peak = 0
        info = self.process.memory_info()
        if hasattr(info, "peak_wset"):  # Windows
            peak = info.peak_wset
        else:
            try:
                status = Path(f"/proc/{self.process.pid}/status").read_text()
                match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
                peak = int(match.group(1)) * 1024 if match else 0
            except OSError:
                peak = 0
        return max(peak, self.max_rss, info.rss)

    def interrupt(self) -> None:
        """Ctrl-C, as a user stops it (once: a second one could cut short the shutdown)."""
        if self.popen.poll() is None and not self.interrupted:
            self.interrupted = True
            self.popen.send_signal(signal.CTRL_BREAK_EVENT if WINDOWS else signal.SIGINT)

    def stop(self, timeout: float = 30) -> int | None:
        """Ctrl-C, and kill if it has not exited within ``timeout``."""
        self.interrupt()
        if self.popen.poll() is None:
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()
        return self.popen.returncode

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _serving_process(pid: int) -> psutil.Process:
    """The process that serves: on Windows a venv's python.exe is a launcher that runs the
    real interpreter as its child."""
    process = psutil.Process(pid)
    children = process.children()
    while children:
        process = children[0]
        children = process.children()
    return process


def start_willow(database_url: str, threads: int, workdir: Path, name: str = "willow",
                 **extra: str) -> Server:
    port = free_port()
    env = willow_env(
        database_url,
        WILLOW_HOST="127.0.0.1",
        WILLOW_PORT=str(port),
        WILLOW_THREADS=str(threads),
        WILLOW_SECRET_KEY=os.urandom(32).hex(),
        **extra,
    )
    return Server(name, [sys.executable, "app.py"], port, env, workdir / f"{name}.log",
                  "/scim/v2/ServiceProviderConfig")


def start_noop(threads: int, workdir: Path) -> Server:
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "bench.noop_app", "--port", str(port),
               "--threads", str(threads)]
    return Server("noop", command, port, env, workdir / "noop.log", "/noop")


def start_peer(python: str, threads: int, workdir: Path, users: int, groups: list[int],
               spare: int, token: str) -> Server:
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", BENCH_PEER_TOKEN=token)
    command = [python, str(ROOT / "bench" / "peer_app.py"), "--port", str(port),
               "--threads", str(threads), "--users", str(users), "--spare", str(spare),
               "--groups", ",".join(str(g) for g in groups)]
    return Server("scim2-server", command, port, env, workdir / "peer.log",
                  "/v2/ServiceProviderConfig")


class DatabaseCpu:
    """CPU time of the PostgreSQL backends serving one database, when the server runs on
    this machine (its processes are visible to psutil). SQLite needs none: it runs inside
    the app process. Backends that exit between two readings take their time with them,
    so this is a lower bound; the app's pooled connections live for the whole run."""

    def __init__(self, url: str):
        import sqlalchemy as sa

        from .seed import database_url

        self.engine = sa.create_engine(database_url(url), poolclass=sa.pool.StaticPool)
        self.available = sa.engine.make_url(database_url(url)).host in (
            None, "", "127.0.0.1", "localhost", "::1")

    def cpu_seconds(self) -> dict[int, float] | None:
        """CPU seconds of each backend now serving the database, by process id."""
        if not self.available:
            return None
        with self.engine.connect() as conn:
            pids = conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalars().all()
        seconds = {}
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            seconds[pid] = times.user + times.system
        return seconds

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds spent between two readings by the backends alive at the second (a
        backend started in between counts whole; one that ended is lost: a lower bound)."""
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

    def close(self) -> None:
        self.engine.dispose()


class ConsoleSession:
    """A signed-in console session, through the sign-in form as a browser does it."""

    def __init__(self, port: int, email: str, password: str):
        self.port = port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/admin/login")
        response = conn.getresponse()
        page = response.read().decode("utf-8")
        cookies = _cookies(response)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        if not match:
            raise RuntimeError("no CSRF token on the sign-in page")
        form = urlencode({"csrf_token": match.group(1), "email": email, "password": password})
        conn.request("POST", "/admin/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        })
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status not in (302, 303):
            raise RuntimeError(f"console sign-in answered {response.status}")
        cookies.update(_cookies(response))
        self.cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())

    def export_csv(self, seconds: float) -> tuple[int, float, int]:
        """Stream the CSV export for at most ``seconds``: (status, elapsed, rows read)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        started = time.perf_counter()
        conn.request("GET", "/monitor/scim-logs/export.csv", headers={"Cookie": self.cookie})
        response = conn.getresponse()
        lines = 0
        tail = b""
        while True:
            chunk = response.read(1 << 16)
            if not chunk:
                break
            lines += chunk.count(b"\r\n") + (tail + chunk[:1] == b"\r\n")
            tail = chunk[-1:]
            if time.perf_counter() - started > seconds:
                break
        elapsed = time.perf_counter() - started
        conn.close()
        return response.status, elapsed, max(lines - 1, 0)  # the header line is no row


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    cookies = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, value = header.split(";", 1)[0].partition("=")
        cookies[name.strip()] = value.strip()
    return cookies
