"""Start-up and shut-down for ``python app.py``: migrate, greet, serve, stop cleanly.

A stop asked for by Ctrl+C, ``SIGTERM`` (systemd, Docker, Kubernetes), Ctrl+Break or a
Windows console close or shutdown (service wrappers such as NSSM send Ctrl+C, then close
the console) ends waitress's loop and writes the request log's queue before the process
exits, instead of relying on ``atexit`` alone (SIGTERM's default action skips it).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..storage.database import describe_database
from ..storage.database import display_url
from ..storage.extensions import db
from ..storage.faults import reason
from ..storage.faults import unreachable_line
from ..storage.instance_files import replace_private
from ..storage.models import ApiToken
from ..storage.models import ConsoleUser
from .command_line import cli_command

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
#: How long the request log may take to write its queue at a stop.
STOP_FLUSH_TIMEOUT_S = 10.0


USAGE = """usage: python app.py [--init]

  (no option)  apply pending migrations and serve (Ctrl+C stops)
  --init       create the instance folder, a commented instance/willow.env and the
               database, say where they are and what to do next, and exit"""


def main(app: Flask, argv: list[str] | None = None) -> None:
    from .http_server import create

    args = sys.argv[1:] if argv is None else argv
    if args in (["-h"], ["--help"]):
        print(USAGE)
        return
    if args == ["--init"]:
        from .instance_init import init_instance

        for line in init_instance(app):
            print(line)
        return
    if args:
        # A mistyped option must not start a server instead of what was asked.
        print(f"python app.py: unknown option {' '.join(args)}\n\n{USAGE}", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    wait_for_database(app)
    with app.app_context():
        upgrade()
        hints = first_run_hints(app)
    host = app.config["WILLOW_HOST"]
    port = app.config["WILLOW_PORT"]
    server = create(app, host=host, port=port, threads=app.config["WILLOW_THREADS"])
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Willow SCIM serving on http://{shown_host}:{port}")
    print(f"  SCIM base URL:  http://{shown_host}:{port}/scim/v2")
    print(f"  Admin console:  http://{shown_host}:{port}/admin/login")
    print(f"  Database:       {describe_database(app)}")
    for line in hints:
        print(line)
    print("Press Ctrl+C to stop.", flush=True)
    install_stop_handlers(lambda: flush_request_log(app, timeout=4.0))
    try:
        mark_serving(app)
        # Deliveries pending from before a restart resume without waiting for a request.
        start_webhooks(app)
        server.run()  # returns on KeyboardInterrupt / SystemExit (see install_stop_handlers)
    except KeyboardInterrupt:
        pass  # a stop that came before waitress's loop started: as clean as one in it
    finally:
        unmark_serving(app)
        shut_down(app)


def wait_for_database(
    app: Flask,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Connect once before anything else uses the database, retrying for up to
    ``WILLOW_DB_WAIT_SECONDS`` (a database started beside Willow, by the same service
    manager or compose file, may still be starting). When it cannot be reached, exit with
    status 1 and one line on standard error: where (no password) and why, not a
    traceback of the migration that would have failed first."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    wait = max(0, app.config.get("WILLOW_DB_WAIT_SECONDS") or 0)
    deadline = clock() + wait
    waiting_said = False
    while True:
        try:
            with app.app_context(), db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except SQLAlchemyError as exc:
            error = exc
        left = deadline - clock()
        if left <= 0:
            raise SystemExit(unreachable_line(url, error, wait))
        if not waiting_said:
            print(
                f"Willow: waiting up to {wait} s for the database at {display_url(url)} "
                f"({reason(error)})",
                file=sys.stderr,
                flush=True,
            )
            waiting_said = True
        sleep(min(1.0, left))


#: In the instance folder while ``python app.py`` serves: which database it serves, so that
#: a CLI command run from the same folder against another one can say so.
SERVING_FILE = "serving.json"


def mark_serving(app: Flask) -> None:
    path = Path(app.instance_path) / SERVING_FILE
    record = {
        "pid": os.getpid(),
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": display_url(app.config["SQLALCHEMY_DATABASE_URI"]),
    }
    try:
        # Owner-only, like every file in the instance folder.
        replace_private(path, json.dumps(record))
    except OSError:
        log.warning("could not write %s", path)


def unmark_serving(app: Flask) -> None:
    (Path(app.instance_path) / SERVING_FILE).unlink(missing_ok=True)


def other_served_database(app: Flask) -> str | None:
    """A warning when the server started from this folder serves another database than
    ``app`` uses (a CLI command in another terminal without the server's settings)."""
    try:
        record = json.loads((Path(app.instance_path) / SERVING_FILE).read_text(encoding="utf-8"))
        served = record["database"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if served == display_url(app.config["SQLALCHEMY_DATABASE_URI"]):
        return None
    return (
        f"Warning: the server started from this folder (pid {record.get('pid')}, "
        f"{record.get('started')}) serves {served}, not this database. Put WILLOW_DATABASE_URL "
        "into the settings file (instance/willow.env) so that the server and every command "
        "use the same one."
    )


def start_webhooks(app: Flask) -> None:
    worker = app.extensions.get("willow_webhooks")
    if worker is not None:
        worker.start()


def shut_down(app: Flask) -> None:
    """Write the request log's queue and stop the background threads."""
    worker = app.extensions.get("willow_webhooks")
    if worker is not None:
        worker.stop(timeout=2.0)
    pruner = app.extensions.get("willow_log_pruner")
    if pruner is not None:
        pruner.stop(timeout=2.0)
    writer = app.extensions.get("willow_request_log")
    if writer is not None:
        writer.stop(STOP_FLUSH_TIMEOUT_S, final=True)
    print("Willow stopped; the request log is written.", flush=True)


def flush_request_log(app: Flask, timeout: float) -> None:
    writer = app.extensions.get("willow_request_log")
    if writer is not None:
        writer.flush(timeout)


def _stop(signum, frame) -> None:  # noqa: ARG001
    # Raised in the main thread, where waitress's loop runs: it ends the loop, then main's
    # finally writes the log. Further signals are ignored so that they cannot cut that short.
    for name in STOP_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise KeyboardInterrupt


#: The signals that mean "stop" where they exist (SIGBREAK: Ctrl+Break on Windows).
STOP_SIGNALS = tuple(name for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name))
#: Windows console events after which the process is ended by the system: close, shutdown.
_CTRL_CLOSE_EVENT = 2
_CTRL_SHUTDOWN_EVENT = 6
_console_handlers: list = []  # ctypes callbacks must stay referenced while installed


def install_stop_handlers(on_console_close: Callable[[], None]) -> None:
    """Make every stop request a clean stop (main thread only)."""
    for name in STOP_SIGNALS:
        signal.signal(getattr(signal, name), _stop)
    if sys.platform == "win32":  # pragma: no cover - Windows only
        _install_console_handler(on_console_close)


def _install_console_handler(on_close: Callable[[], None]) -> None:  # pragma: no cover
    """Windows sends no signal when a console is closed or the machine shuts down: the
    process gets a few seconds in a handler thread, then it is ended. Write the log there.
    (Ctrl+C and Ctrl+Break arrive as SIGINT and SIGBREAK, handled above.)"""
    import ctypes
    from ctypes import wintypes

    handler_type = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)

    def handler(event: int) -> bool:
        if event in (_CTRL_CLOSE_EVENT, _CTRL_SHUTDOWN_EVENT):
            on_close()
        return False  # let the next handler (Python's, then the default) act too

    callback = handler_type(handler)
    if ctypes.windll.kernel32.SetConsoleCtrlHandler(callback, True):
        _console_handlers.append(callback)


def first_run_hints(app: Flask) -> list[str]:
    """What a brand-new install needs next: a console admin and an API token.

    The commands work as printed in bash, cmd.exe and PowerShell: no single quotes, no
    ``<placeholders>`` (redirections in cmd.exe); the password is asked for, not typed
    on the command line.
    """
    hints: list[str] = []
    flask = cli_command()
    in_folder = [] if Path.cwd().resolve() == ROOT else [f"  (run it in the folder {ROOT})"]
    if app.config.get("WILLOW_DATABASE_SOURCE") == "environment":
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        settings = app.config.get("WILLOW_SETTINGS")
        file = settings.file if settings is not None else ROOT / "instance" / "willow.env"
        hints.append(
            "Note: WILLOW_DATABASE_URL is set in this shell only: commands run in another "
            "terminal will not see it and would use another database. Put the line"
        )
        hints.append(f"  WILLOW_DATABASE_URL={display_url(url)}")
        real_password = " (with the real password)" if make_url(url).password else ""
        hints.append(f"  into {file}{real_password}: every Willow command reads that file.")
    if not db.session.scalar(select(func.count()).select_from(ConsoleUser)):
        hints.append("No console admin yet. Create one (it asks for the password) with:")
        hints.append(f"  {flask} admin create --email you@example.com")
        hints.extend(in_folder)
    if not db.session.scalar(select(func.count()).select_from(ApiToken)):
        hints.append("No API token yet. Create one for your IdP with:")
        hints.append(f'  {flask} token create --name "Okta SCIM Integration"')
        hints.extend(in_folder)
    db.session.remove()
    return hints
