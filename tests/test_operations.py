"""Operating Willow: one set of settings for server and CLI, the database each command
says it used, ``check``, ``/healthz`` and ``/readyz``, the access log, a clean stop."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import Settings
from config import TestingConfig
from config import read_settings
from willow import create_app
from willow.server.access_log import format_line
from willow.storage.database import display_url
from willow.storage.extensions import db
from willow.storage.models import ConsoleUser

ROOT = Path(__file__).resolve().parents[1]


# -- settings ----------------------------------------------------------------------------


def test_the_settings_file_is_read_and_the_environment_wins(tmp_path):
    file = tmp_path / "willow.env"
    file.write_text(
        "# comment\nWILLOW_DATABASE_URL=postgresql://u:p@db/willow\nWILLOW_PORT=9000\n"
        "OTHER=ignored\n",
        encoding="utf-8",
    )
    settings = read_settings({"WILLOW_PORT": "8080"}, file)
    assert settings.file_found
    assert settings.get("WILLOW_DATABASE_URL") == "postgresql://u:p@db/willow"
    assert settings.source("WILLOW_DATABASE_URL") == str(file)
    assert settings.get("WILLOW_PORT") == "8080"
    assert settings.source("WILLOW_PORT") == "environment"
    assert settings.get("OTHER") is None


def test_a_settings_file_saved_by_notepad_with_a_byte_order_mark_is_read(tmp_path):
    file = tmp_path / "willow.env"
    file.write_bytes("\ufeffWILLOW_PORT=9000\r\n".encode())
    assert read_settings({}, file).get("WILLOW_PORT") == "9000"


def test_willow_settings_file_names_another_settings_file(tmp_path):
    file = tmp_path / "elsewhere.env"
    file.write_text("WILLOW_HOST=0.0.0.0\n", encoding="utf-8")
    settings = read_settings({"WILLOW_SETTINGS_FILE": str(file)})
    assert settings.file == file and settings.get("WILLOW_HOST") == "0.0.0.0"


def test_database_urls_are_printed_without_their_password():
    shown = display_url("postgresql+psycopg://willow:s3cret@db:5432/willow")
    assert "s3cret" not in shown and "willow:***@db:5432/willow" in shown


def _app_with_settings(settings: Settings, url: str):
    class FromSettings(TestingConfig):
        WILLOW_SETTINGS = settings
        SQLALCHEMY_DATABASE_URI = url

    return create_app(FromSettings)


def test_every_data_command_says_which_database_it_used(app, runner):
    for args in (
        ["token", "create", "--name", "Okta"],
        ["token", "list"],
        ["org", "create", "acme", "--name", "Acme"],
        ["admin", "create", "--email", "a@example.com", "--password", "long enough pw"],
        ["logs", "prune"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith("Database: "), args
        assert app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0] in result.stderr


def test_the_database_line_names_the_settings_file_it_came_from(sqlite_template, tmp_path):
    file = tmp_path / "willow.env"
    url = f"sqlite:///{sqlite_template.as_posix()}"
    settings = Settings({"WILLOW_DATABASE_URL": url}, {"WILLOW_DATABASE_URL": str(file)}, file)
    app = _app_with_settings(settings, url)
    result = app.test_cli_runner().invoke(args=["token", "list"])
    assert f"(WILLOW_DATABASE_URL from {file})" in result.stderr


def test_token_create_still_ends_with_the_token_alone_on_stdout(runner):
    result = runner.invoke(args=["token", "create", "--name", "Okta"])
    assert result.stdout.strip().splitlines()[-1].startswith("wsk_")
    assert "Database" not in result.stdout


def test_admin_create_asks_for_a_hidden_confirmed_password(app, runner):
    result = runner.invoke(
        args=["admin", "create", "--email", "you@example.com"],
        input="correct horse battery\ncorrect horse battery\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password (at least 8 characters):" in result.output
    assert "Repeat for confirmation:" in result.output
    assert "correct horse battery" not in result.output  # hidden input is not echoed
    with app.app_context():
        assert db.session.scalars(sa.select(ConsoleUser.email)).one() == "you@example.com"


def test_admin_create_asks_again_when_the_two_passwords_differ(app, runner):
    result = runner.invoke(
        args=["admin", "create", "--email", "you@example.com"],
        input="first password\nsecond password\nsame password!\nsame password!\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower()


@pytest.mark.parametrize("command", [["admin", "create", "--email", "you@example.com"], None])
def test_a_short_password_is_refused_before_it_is_typed_again(app, runner, make_admin, command):
    """The rule is in the prompt, and a short password is refused before the confirmation."""
    if command is None:
        command = ["admin", "password", "--email", make_admin("me@example.com")]
    result = runner.invoke(args=command, input="short\nlong enough now\nlong enough now\n")
    assert result.exit_code == 0, result.output
    assert "(at least 8 characters):" in result.output
    first_answer = result.output.split("(at least 8 characters):", 2)
    # Refused at once: the error comes before the first "Repeat for confirmation".
    assert "password must be at least 8 characters" in first_answer[1]
    assert "Repeat for confirmation" not in first_answer[1]


# -- check, /healthz, /readyz -------------------------------------------------------------


def test_check_fails_without_a_token_and_passes_with_one(runner):
    before = runner.invoke(args=["check"])
    assert before.exit_code == 1
    assert "[ok  ] Database:" in before.output
    assert "[ok  ] Migrations: at head" in before.output
    assert "[FAIL] API tokens" in before.output
    runner.invoke(args=["token", "create", "--name", "Okta"])
    after = runner.invoke(args=["check"])
    assert after.exit_code == 0, after.output
    assert "Ready for IdP connections." in after.output
    assert "[warn] Public URL: WILLOW_PUBLIC_URL is not set" in after.output


@pytest.mark.parametrize(
    ("public_url", "level"),
    [
        ("https://willow.example.com", "[ok  ]"),
        ("https://willow.example.com/scim/v2", "[FAIL]"),
        ("willow.example.com", "[FAIL]"),
    ],
)
def test_check_reads_the_public_url(app, runner, public_url, level):
    app.config["WILLOW_PUBLIC_URL"] = public_url
    result = runner.invoke(args=["check"])
    assert f"{level} Public URL" in result.output


def test_check_fails_on_an_empty_database(tmp_path):
    (tmp_path / "e.sqlite").touch()
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.sqlite"})
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "[FAIL] Migrations: the database is empty" in result.output


def test_healthz_answers_and_readyz_checks_database_and_migrations(client, tmp_path):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    empty = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.sqlite"})
    rv = empty.test_client().get("/readyz")
    assert rv.status_code == 503
    assert "not at the migrations' head" in rv.get_json()["reason"]


# -- access log --------------------------------------------------------------------------


def test_an_access_line_has_time_client_request_status_duration_and_request_id():
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/scim/v2/Users",
        "willow.path_as_sent": "/scim/v2//Users/",
        "QUERY_STRING": "filter=userName%20eq%20%22a%22&access_token=secret",
        "REMOTE_ADDR": "10.0.0.7",
    }
    line = format_line(environ, "200 OK", 4.06, "abc123")
    assert " 10.0.0.7 " in line
    assert '"GET /scim/v2//Users/?filter=userName eq \\"a\\"&access_token=' in line
    assert "secret" not in line
    assert line.endswith(" 200 4.1ms req=abc123")


def test_the_access_log_prints_one_line_per_request_and_can_be_turned_off(database_url, token):
    on = create_app(
        TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "WILLOW_ACCESS_LOG": True}
    )
    off = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    collect = Collect()
    logger = logging.getLogger("willow.access")
    logger.addHandler(collect)
    try:
        on.test_client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
        on.test_client().get("/healthz")
        off.test_client().get("/healthz")
    finally:
        logger.removeHandler(collect)
        for each in (on, off):
            with each.app_context():
                db.engine.dispose()  # also stops the app's log writer
    assert len(lines) == 2
    assert '"GET /scim/v2/Users" 200' in lines[0] and " req=" in lines[0]
    assert '"GET /healthz" 200' in lines[1]


# -- a clean stop ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signal")
def test_sigterm_stops_the_server_cleanly_and_writes_the_request_log(tmp_path):
    port = _free_port()
    db_file = tmp_path / "willow.sqlite"
    env = dict(
        os.environ,
        WILLOW_DATABASE_URL=f"sqlite:///{db_file.as_posix()}",
        WILLOW_PORT=str(port),
        WILLOW_SETTINGS_FILE=str(tmp_path / "none.env"),
        WILLOW_SECRET_KEY="x" * 64,
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/scim/v2/Users", timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Willow stopped; the request log is written." in output
    assert '"GET /scim/v2/Users" 401' in output  # the access log, on stdout
    engine = sa.create_engine(f"sqlite:///{db_file.as_posix()}")
    with engine.connect() as conn:
        statuses = conn.exec_driver_sql("SELECT status_code FROM scim_request_logs").scalars()
        assert list(statuses) == [401]
    engine.dispose()


def test_the_cli_in_another_terminal_uses_the_database_of_the_settings_file(tmp_path):
    """The issue's first harm: a token created into instance/willow.sqlite while the server
    used PostgreSQL. With the URL in the settings file, every command uses the same one."""
    db_file = tmp_path / "server.sqlite"
    settings = tmp_path / "willow.env"
    settings.write_text(f"WILLOW_DATABASE_URL=sqlite:///{db_file.as_posix()}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILLOW_")}
    env.update(WILLOW_SETTINGS_FILE=str(settings), WILLOW_SECRET_KEY="x" * 64)

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert flask("db", "upgrade").returncode == 0
    created = flask("token", "create", "--name", "Okta SCIM Integration")
    assert created.returncode == 0, created.stderr
    assert created.stderr.startswith(
        f"Database: sqlite:///{db_file.as_posix()} (WILLOW_DATABASE_URL from {settings})"
    )
    engine = sa.create_engine(f"sqlite:///{db_file.as_posix()}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM api_tokens").scalars().all() == [
            "Okta SCIM Integration"
        ]
    engine.dispose()


def test_a_command_against_another_database_than_the_running_server_warns(
    app, runner, tmp_path
):
    """The issue's first harm again, when the server got its URL from its own shell: the
    command in the second terminal says the server serves another database."""
    from willow.server.serve import mark_serving
    from willow.server.serve import unmark_serving

    server = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": "postgresql://u:pw@db/willow"})
    for each in (server, app):
        each.instance_path = str(tmp_path)
    mark_serving(server)
    warned = runner.invoke(args=["token", "list"])
    assert "Warning: the server started from this folder" in warned.stderr
    assert "serves postgresql+psycopg://u:***@db/willow, not this database" in warned.stderr
    assert "pw@" not in warned.stderr
    unmark_serving(server)
    assert "Warning" not in runner.invoke(args=["token", "list"]).stderr
    mark_serving(app)  # the server uses the command's database: nothing to say
    assert "Warning" not in runner.invoke(args=["token", "list"]).stderr


def test_a_command_on_an_unmigrated_database_says_so_without_a_traceback(tmp_path):
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.sqlite"})
    result = app.test_cli_runner().invoke(args=["token", "list"])
    assert result.exit_code == 1
    assert "the database could not be used (no such table: organizations)" in result.output
    assert "-m flask --app app check tells." in result.output
    assert "Traceback" not in result.output


def _access_line(environ: dict, status: str, headers: list) -> str:
    """The line the access log writes for one request answered with ``status`` and
    ``headers``, with Willow's own writer as the logger's only handler."""
    import io

    from willow.server.access_log import AccessLog
    from willow.server.access_log import BatchedLines
    from willow.server.access_log import logger

    stream = io.StringIO()
    lines = BatchedLines(stream)
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers[:] = [lines]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:

        def app(environ, start_response):
            start_response(status, headers)
            return []

        AccessLog(app, lines)(environ, lambda status, headers, exc_info=None: None)
        lines.flush()
    finally:
        logger.handlers[:], logger.propagate, _ = saved
        logger.setLevel(saved[2])
    return stream.getvalue()


def test_access_lines_go_straight_to_willows_own_writer_when_it_is_the_only_handler():
    line = _access_line(
        {"REQUEST_METHOD": "DELETE", "PATH_INFO": "/scim/v2/Users/1", "REMOTE_ADDR": "::1"},
        "204 No Content",
        [("X-Request-Id", "r1")],
    )
    assert re.fullmatch(
        r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ::1 "DELETE /scim/v2/Users/1" 204 [\d.]+ms req=r1\n',
        line,
    )


def test_an_access_line_counts_a_wait_in_the_scim_lanes_queue():
    from willow.server.request_gate import ARRIVED

    # Queued 0.25 s ago by the lane (willow.server.http_server), answered at once now.
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/scim/v2/Users",
               "REMOTE_ADDR": "::1", ARRIVED: time.perf_counter() - 0.25}
    duration = re.search(r" 200 ([\d.]+)ms", _access_line(environ, "200 OK", []))
    assert duration is not None and float(duration.group(1)) >= 250


def test_request_ids_are_distinct_version_4_uuids_in_hex():
    import uuid

    from willow.scim.audit import new_request_id

    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for each in ids:
        parsed = uuid.UUID(hex=each)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, each)
