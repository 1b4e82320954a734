"""Application factory, configuration and start-up behaviour."""

from __future__ import annotations

from pathlib import Path

from config import TestingConfig
from willow import create_app
from willow.server.serve import first_run_hints


def test_blueprints_are_registered(app):
    assert {"scim", "admin", "monitor"} <= set(app.blueprints)


def test_secret_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path, monkeypatch):
    class NoSecret(TestingConfig):
        SECRET_KEY = None

    monkeypatch.setattr("willow.ROOT", tmp_path)
    first = create_app(NoSecret, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    # Generated at its first use (here: reading it), not when the app is built.
    assert not (Path(first.instance_path) / "secret_key").exists()
    assert first.secret_key
    second = create_app(NoSecret, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == second.secret_key
    assert len(first.config["SECRET_KEY"]) == 64
    assert (Path(first.instance_path) / "secret_key").exists()


def test_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path, monkeypatch):
    class NoUrl(TestingConfig):
        SQLALCHEMY_DATABASE_URI = None

    monkeypatch.setattr("willow.ROOT", tmp_path)
    app = create_app(NoUrl)
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"]
        == f"sqlite:///{(tmp_path / 'instance' / 'willow.sqlite').as_posix()}"
    )


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app, backend):
    if backend != "sqlite":
        return
    from willow.storage.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            # Checkpoints every 10,000 WAL pages, not SQLite's 1,000 (database.py says why).
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000


def test_first_run_hints_tell_how_to_create_an_admin_and_a_token(app):
    with app.app_context():
        hints = "\n".join(first_run_hints(app))
    assert "-m flask --app app admin create --email you@example.com" in hints
    assert '-m flask --app app token create --name "Okta SCIM Integration"' in hints


def test_first_run_hints_work_as_printed_in_cmd_and_powershell(app):
    """No single quotes (cmd.exe keeps them), no <placeholders> (redirections in cmd.exe),
    no password on the command line (admin create asks for it)."""
    with app.app_context():
        commands = [line for line in first_run_hints(app) if " -m flask " in line]
    assert len(commands) == 2
    for command in commands:
        assert "'" not in command and "<" not in command and ">" not in command
        assert "--password" not in command and "&&" not in command


def test_scim_paths_with_trailing_or_doubled_slashes_are_served_without_redirect(client, token):
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/scim/v2/", "/scim/v2//", "/scim//v2"):
        rv = client.get(path, headers=headers)
        assert rv.status_code == 200, path


def test_console_404_is_html_and_scim_404_is_scim_json(client, token):
    assert client.get("/nowhere").mimetype == "text/html"
    rv = client.get("/scim/v2/Nowhere", headers={"Authorization": f"Bearer {token}"})
    assert rv.status_code == 404
    assert rv.mimetype == "application/scim+json"
    assert rv.get_json()["status"] == "404"
