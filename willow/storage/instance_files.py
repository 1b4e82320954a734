"""Files Willow keeps that hold secrets or data (the secret key and other files in the
instance folder, the SQLite database and its -wal/-shm files wherever
``WILLOW_DATABASE_URL`` puts them) are readable by their owner only.

On POSIX they are created with mode 0600, and a wider mode found on an existing file is
narrowed at start-up. On Windows a new file inherits the access list of its folder (the
installing user's, normally); nothing there is changed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PRIVATE_MODE = 0o600
#: SQLite creates these next to the database with the database file's own mode.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private(path: Path) -> None:
    """Narrow an existing file to owner read/write (POSIX only; a missing file is fine)."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, PRIVATE_MODE)
    except FileNotFoundError:
        pass


def write_private(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text``, owner-only from the first byte. False when the file
    already exists (another process may have just created it): it is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def replace_private(path: Path, text: str) -> None:
    """Write ``path`` holding ``text``, owner-only, replacing what it held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    write_private(temporary, text)
    os.replace(temporary, path)


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:`` database URL names; None for an in-memory database, a
    ``file:`` URI (its options are SQLite's to read) or any other database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    if parsed.query.get("uri") in ("true", "1"):
        return None
    return Path(database)


def prepare_sqlite_file(path: Path, *, create_folder: bool = True) -> None:
    """Create the database file owner-only before SQLite does (SQLite would use the umask,
    usually 0644, and give the -wal and -shm files the same mode), and narrow the mode of
    files an older version created.

    Without ``create_folder``, a file in a folder that does not exist is left for SQLite
    to refuse ("unable to open database file"): a mistyped path in a setting should not
    quietly make folders.
    """
    if create_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent.is_dir():
        # An empty file is an empty SQLite database.
        write_private(path, "")
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        make_private(candidate)
