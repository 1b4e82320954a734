"""Files in the instance folder that hold secrets or data are readable by their owner only
(POSIX; on Windows nothing is changed)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from flask import Flask

from config import TestingConfig
from willow import create_app
from willow import ensure_secret_key
from willow import generated_secret_key
from willow.server.serve import SERVING_FILE
from willow.server.serve import mark_serving
from willow.storage.database import prepare_database_file
from willow.storage.database import resolve_database_url
from willow.storage.instance_files import sqlite_file
from willow.storage.instance_files import write_private

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def instance_app(tmp_path):
    old = os.umask(0o022)  # the common default, under which files come out 0644
    try:
        yield Flask("instance-test", instance_path=str(tmp_path / "instance"))
    finally:
        os.umask(old)


def test_generated_secret_key_is_owner_only(instance_app):
    ensure_secret_key(instance_app)
    path = os.path.join(instance_app.instance_path, "secret_key")
    key = generated_secret_key(Path(path))
    assert mode(path) == 0o600
    assert len(key) == 64
    assert generated_secret_key(Path(path)) == key


def test_the_secret_key_is_generated_at_its_first_use_not_when_the_app_is_built(tmp_path):
    app = create_app(TestingConfig, {"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": None})
    app.instance_path = str(tmp_path / "instance")
    # create_app read the checkout's own instance/secret_key if an earlier run made one.
    app.config["SECRET_KEY"] = None
    ensure_secret_key(app)
    path = tmp_path / "instance" / "secret_key"
    assert not path.exists()
    key = app.secret_key
    assert path.read_text() == key and mode(path) == 0o600
    assert app.config["SECRET_KEY"] == key


def test_a_secret_key_left_readable_by_an_older_version_is_narrowed_and_kept(instance_app):
    os.makedirs(instance_app.instance_path)
    path = os.path.join(instance_app.instance_path, "secret_key")
    with open(path, "w") as f:
        f.write("a" * 64)
    os.chmod(path, 0o644)
    ensure_secret_key(instance_app)
    assert mode(path) == 0o600
    assert instance_app.config["SECRET_KEY"] == "a" * 64


def test_write_private_never_overwrites_a_file_another_process_created(tmp_path):
    path = tmp_path / "secret_key"
    assert write_private(path, "first") is True
    assert write_private(path, "second") is False
    assert path.read_text() == "first"


def test_default_sqlite_database_and_its_wal_and_shm_files_are_owner_only(instance_app):
    resolve_database_url(instance_app)
    path = os.path.join(instance_app.instance_path, "willow.sqlite")
    assert instance_app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/willow.sqlite")
    assert not os.path.exists(path)  # made when a connection first needs it
    prepare_database_file(instance_app)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        for suffix in ("", "-wal", "-shm"):
            assert mode(path + suffix) == 0o600, suffix
    finally:
        conn.close()


def test_database_files_left_readable_by_an_older_version_are_narrowed(instance_app):
    os.makedirs(instance_app.instance_path)
    path = os.path.join(instance_app.instance_path, "willow.sqlite")
    for suffix in ("", "-wal", "-shm"):
        open(path + suffix, "wb").close()
        os.chmod(path + suffix, 0o644)
    resolve_database_url(instance_app)
    assert [mode(path + s) for s in ("", "-wal", "-shm")] == [0o600] * 3


def test_a_sqlite_database_outside_the_instance_folder_is_created_owner_only(
    instance_app, tmp_path
):
    """WILLOW_DATABASE_URL may put the file anywhere; SQLite alone would make it 0644."""
    path = tmp_path / "elsewhere" / "willow.sqlite"
    path.parent.mkdir()
    instance_app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path.as_posix()}"
    resolve_database_url(instance_app)
    prepare_database_file(instance_app)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        for suffix in ("", "-wal", "-shm"):
            assert mode(f"{path}{suffix}") == 0o600, suffix
    finally:
        conn.close()


def test_a_sqlite_database_outside_the_instance_folder_left_readable_is_narrowed(
    instance_app, tmp_path
):
    path = tmp_path / "willow.sqlite"
    for suffix in ("", "-wal", "-shm"):
        open(f"{path}{suffix}", "wb").close()
        os.chmod(f"{path}{suffix}", 0o644)
    instance_app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path.as_posix()}"
    resolve_database_url(instance_app)
    assert [mode(f"{path}{s}") for s in ("", "-wal", "-shm")] == [0o600] * 3


def test_a_mistyped_database_folder_is_not_created(instance_app, tmp_path):
    path = tmp_path / "no-such-folder" / "willow.sqlite"
    instance_app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path.as_posix()}"
    resolve_database_url(instance_app)
    prepare_database_file(instance_app)
    assert not path.parent.exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:willow?mode=ro&uri=true", None),
        ("postgresql://willow@db/willow", None),
        ("sqlite:////srv/willow/willow.sqlite", "/srv/willow/willow.sqlite"),
        ("sqlite:///willow.sqlite", "willow.sqlite"),
    ],
)
def test_sqlite_file_names_only_real_database_files(url, expected):
    rv = sqlite_file(url)
    assert (rv.as_posix() if rv is not None else None) == expected


def test_the_serving_record_in_the_instance_folder_is_owner_only(instance_app):
    instance_app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    mark_serving(instance_app)
    assert mode(os.path.join(instance_app.instance_path, SERVING_FILE)) == 0o600
    mark_serving(instance_app)  # a second start replaces it, still owner-only
    assert mode(os.path.join(instance_app.instance_path, SERVING_FILE)) == 0o600
    assert os.listdir(instance_app.instance_path) == [SERVING_FILE]
