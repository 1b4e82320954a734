"""Webhooks: each organization's provisioning events (``willow.events``) pushed to the
endpoints its admins add, signed in the Standard Webhooks format.

- ``signing``: secrets and signatures; ``schedule``: retries and what an answer means;
  ``subscriptions``: event type filters; ``addresses``: where deliveries may go;
  ``transport``: one HTTP attempt; ``store``: endpoints, attempts and their queries;
  ``worker``: the delivery threads in each app process; ``views`` / ``cli``: the Admin →
  Webhooks pages and the ``webhook`` commands.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import g
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError


def init_app(app: Flask) -> None:
    from ..storage.extensions import db
    from . import store
    from .cli import webhook_cli
    from .views import bp
    from .worker import Worker

    app.register_blueprint(bp)
    app.cli.add_command(webhook_cli)

    @app.context_processor
    def inject_webhook_alerts() -> dict[str, Any]:
        def disabled_endpoints() -> list:
            # Only for a user this request already loaded (as the nav does): an error
            # page must not fail on a second query.
            account = g.get("console_user")
            if account is None or account.role != "admin":
                return []
            try:
                # The page that acknowledged one already holds it as seen (an older SQLite
                # snapshot may still list it).
                rows = store.needing_attention(account.organization_id)
                return [row for row in rows if row.needs_attention]
            except SQLAlchemyError:
                return []

        return {"webhook_alerts": disabled_endpoints}

    threads = app.config["WILLOW_WEBHOOK_THREADS"]
    if threads <= 0:
        return
    worker = app.extensions["willow_webhooks"] = Worker(
        app,
        threads=threads,
        poll_interval=app.config["WILLOW_WEBHOOK_POLL_SECONDS"],
        lease_s=app.config["WILLOW_WEBHOOK_LEASE_SECONDS"],
    )
    with app.app_context():
        engine = db.engine
    # Whoever disposes of the engine (tests, a shutdown) stops the deliveries too.
    event.listen(engine, "engine_disposed", lambda _engine: worker.stop(timeout=2))

    @app.before_request
    def start_webhook_worker() -> None:
        if not worker.started:
            worker.start()


def events_committed(app: Flask) -> None:
    """Tell this process's delivery threads that events were just committed (every writer
    of events calls it after its commit); a no-op without a worker."""
    worker = app.extensions.get("willow_webhooks")
    if worker is not None:
        worker.events_committed()
