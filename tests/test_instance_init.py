"""``python app.py --init``: the instance folder, a commented settings file and the
database, before the first start, without serving; ``check`` on a fresh checkout."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from willow.server.health import migration_heads
from willow.server.instance_init import SETTINGS_TEMPLATE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A fresh checkout: the code, no instance folder. Copies, not links: the factory
    finds the instance folder from its own real path."""
    folder = tmp_path / "willow-checkout"
    folder.mkdir()
    for name in ("app.py", "config.py"):
        shutil.copy(ROOT / name, folder / name)
    for name in ("willow", "migrations"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WILLOW_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_settings_template_sets_nothing_until_edited():
    assert all(not line or line.startswith("#") for line in SETTINGS_TEMPLATE.splitlines())


def test_init_makes_the_instance_folder_settings_file_and_database_and_exits(checkout):
    result = run(checkout, "app.py", "--init")
    assert result.returncode == 0, result.stderr
    instance = checkout / "instance"
    settings = instance / "willow.env"
    assert settings.read_text(encoding="utf-8") == SETTINGS_TEMPLATE
    assert dotenv_values(settings) == {}
    database = instance / "willow.sqlite"
    with sqlite3.connect(database) as conn:
        [(revision,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert (revision,) == migration_heads()
    assert f"Instance folder: {instance} (created)" in result.stdout
    assert "(created, every line commented)" in result.stdout
    assert "notepad " in result.stdout and "admin create --email you@example.com" in result.stdout
    assert "serving" not in result.stdout.lower()
    if os.name == "posix":
        assert settings.stat().st_mode & 0o077 == 0
    # No secret key yet: it is made at the first start that needs it.
    assert not (instance / "secret_key").exists()

    # Again, after the admin edited the settings: nothing is replaced.
    settings.write_text("WILLOW_PORT=9000\n", encoding="utf-8")
    again = run(checkout, "app.py", "--init")
    assert again.returncode == 0, again.stderr
    assert settings.read_text(encoding="utf-8") == "WILLOW_PORT=9000\n"
    assert "(kept as it was)" in again.stdout and "(already there)" in again.stdout


def test_an_unknown_option_is_refused_instead_of_serving(checkout):
    result = run(checkout, "app.py", "--inti")
    assert result.returncode == 2
    assert "unknown option --inti" in result.stderr and "--init" in result.stderr
    assert not (checkout / "instance").exists()


def test_check_on_a_fresh_checkout_writes_nothing_and_says_what_to_run(checkout):
    """No instance folder, no secret key, no database file: check reads, it never creates."""
    result = run(checkout, "-m", "flask", "--app", "app", "check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "willow.sqlite does not exist yet: run python app.py --init" in result.stdout
    assert "one will be generated into" in result.stdout
    assert not (checkout / "instance").exists()


def test_check_after_init_finds_the_migrated_database(checkout):
    assert run(checkout, "app.py", "--init").returncode == 0
    result = run(checkout, "-m", "flask", "--app", "app", "check")
    assert "[ok  ] Migrations: at head" in result.stdout
    assert not (checkout / "instance" / "secret_key").exists()
