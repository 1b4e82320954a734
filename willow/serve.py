"""Start-up for ``python app.py``: migrate, greet, serve."""

from __future__ import annotations

import logging

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func
from sqlalchemy import select

from .extensions import db
from .models import ApiToken
from .models import ConsoleUser


def main(app: Flask) -> None:
    import waitress

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with app.app_context():
        upgrade()
        hints = first_run_hints()
    host = app.config["WILLOW_HOST"]
    port = app.config["WILLOW_PORT"]
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"Willow SCIM serving on http://{shown_host}:{port}")
    print(f"  SCIM base URL:  http://{shown_host}:{port}/scim/v2")
    print(f"  Admin console:  http://{shown_host}:{port}/admin/login")
    for line in hints:
        print(line)
    waitress.serve(app, host=host, port=port, threads=app.config["WILLOW_THREADS"])


def first_run_hints() -> list[str]:
    """What a brand-new install needs next: a console admin and an API token."""
    hints: list[str] = []
    if not db.session.scalar(select(func.count()).select_from(ConsoleUser)):
        hints.append("No console admin yet. Create one with:")
        hints.append(
            "  flask --app app admin create --email you@example.com --password '<password>'"
        )
    if not db.session.scalar(select(func.count()).select_from(ApiToken)):
        hints.append("No API token yet. Create one for your IdP with:")
        hints.append('  flask --app app token create --name "Okta SCIM Integration"')
    db.session.remove()
    return hints
