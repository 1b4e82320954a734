"""``python app.py --init``: prepare an install before its first start, without serving.

It makes the instance folder, a commented settings file (``instance/willow.env``) when
there is none, and the database at the migrations' head, then says where they are and
what to do next. On Windows ``notepad instance\\willow.env`` works right after it (the
folder did not exist before the first start). Running it again changes nothing but
pending migrations: an existing settings file is never touched.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from ..storage.database import describe_database
from ..storage.database import prepare_database_file
from ..storage.instance_files import write_private

#: The settings file written by ``--init``: every line commented, so it changes nothing
#: until the admin edits it. Owner-only, because it will hold the database password.
SETTINGS_TEMPLATE = """\
# Willow settings: one WILLOW_NAME=value a line; remove the # to use a line.
# Environment variables of the same name win over this file. Restart Willow after a
# change. The full list: docs/ in the Willow folder, and config.py.

# The address identity providers use to reach Willow (behind a proxy, the public one).
# The SCIM base URL is this + /scim/v2. Unset, pages use the address each request came to.
# WILLOW_PUBLIC_URL=https://willow.example.com

# The database. Unset: a SQLite file in this folder (instance/willow.sqlite).
# WILLOW_DATABASE_URL=postgresql://willow:PASSWORD@db.example.com:5432/willow

# Signs console sessions and encrypts stored secrets. Unset: generated once into
# instance/secret_key. Set it (the same on every server) when there are several.
# WILLOW_SECRET_KEY=

# Where python app.py listens. 0.0.0.0 listens on every address of this machine.
# WILLOW_HOST=127.0.0.1
# WILLOW_PORT=8000

# Host names requests may be addressed to (comma list); unset: any when
# WILLOW_PUBLIC_URL is set, else only localhost.
# WILLOW_ALLOWED_HOSTS=willow.example.com

# The reverse proxy whose X-Forwarded-* headers are believed (addresses or networks).
# WILLOW_TRUSTED_PROXY=10.0.0.5

# Request log: days kept, and its size budget in MB.
# WILLOW_LOG_RETENTION_DAYS=90
# WILLOW_LOG_MAX_MB=1024
"""


def init_instance(app: Flask) -> list[str]:
    """Create what a first start would (nothing that exists is replaced) and return the
    lines to print: where everything is and the next steps. Needs no app context."""
    from .command_line import cli_command

    instance = Path(app.instance_path)
    made_folder = not instance.is_dir()
    instance.mkdir(parents=True, exist_ok=True)
    settings = app.config.get("WILLOW_SETTINGS")
    settings_file = settings.file if settings is not None else instance / "willow.env"
    wrote_settings = settings_file.parent.is_dir() and write_private(
        settings_file, SETTINGS_TEMPLATE
    )
    prepare_database_file(app)
    with app.app_context():
        upgrade()
        database = describe_database(app)

    flask = cli_command()
    lines = [
        f"Instance folder: {instance}" + (" (created)" if made_folder else " (already there)"),
        f"Settings file:   {settings_file}"
        + (" (created, every line commented)" if wrote_settings else " (kept as it was)"),
        f"Database:        {database} (migrated to the current schema)",
        "",
        "Next steps:",
        f"  1. Edit the settings file if needed (Windows: notepad {_relative(settings_file)}).",
        f"  2. Create a console admin (it asks for the password): {flask} admin create "
        "--email you@example.com",
        f"  3. Check the install: {flask} check",
        "  4. Start Willow: python app.py",
        "  5. Sign in to the console, generate a token under Admin -> API Tokens and paste it,",
        "     with the SCIM base URL shown beside it, into your identity provider.",
    ]
    return lines


def _relative(path: Path) -> str:
    """The path as typed from the Willow folder, when it is inside it (Windows separators
    are what Path gives there)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
