"""Files in the instance folder that hold secrets or data (the secret key, the SQLite
database and its -wal/-shm files) are readable by their owner only.

On POSIX they are created with mode 0600, and a wider mode found on an existing file is
narrowed at start-up. On Windows a new file inherits the access list of its folder (the
installing user's, normally); nothing there is changed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file owner-only before SQLite does (SQLite would use the umask,
    usually 0644, and give the -wal and -shm files the same mode), and narrow the mode of
    files an older version created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # An empty file is an empty SQLite database.
    write_private(path, "")
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        make_private(candidate)
