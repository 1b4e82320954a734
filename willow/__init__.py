"""Willow SCIM: a SCIM 2.0 service provider with an admin console and a request log."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from typing import Any

from flask import Flask

from .storage.instance_files import make_private
from .storage.instance_files import write_private

ROOT = Path(__file__).resolve().parents[1]


class Willow(Flask):
    """Flask, asking once per function whether a view or hook is a coroutine: Flask asks
    ``inspect`` again for every hook of every request (a dozen times per SCIM request)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_functions: dict[Any, Any] = {}

    @property  # type: ignore[override]
    def secret_key(self) -> str | bytes | None:
        """SECRET_KEY; a generated one is written to the instance folder when first
        needed (a session, a CSRF token, a stored secret), not when the app is built, so
        that commands which only read, such as ``check``, write nothing."""
        key = self.config.get("SECRET_KEY")
        if not key and self.config.get("WILLOW_SECRET_KEY_FILE"):
            key = self.config["SECRET_KEY"] = generated_secret_key(
                Path(self.config["WILLOW_SECRET_KEY_FILE"])
            )
        return key

    @secret_key.setter
    def secret_key(self, value: str | bytes | None) -> None:
        self.config["SECRET_KEY"] = value

    def ensure_sync(self, func: Any) -> Any:
        try:
            return self._sync_functions[func]
        except KeyError:
            wrapped = self._sync_functions[func] = super().ensure_sync(func)
            return wrapped
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)


def create_app(config: type | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application; read top to bottom, this is the app's table of contents."""
    from config import Config

    app = Willow(
        "willow",
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    load_config(app, config or Config, overrides)
    ensure_secret_key(app)

    register_extensions(app)
    register_blueprints(app)
    register_sso(app)
    register_webhooks(app)
    register_guard(app)
    register_error_handlers(app)
    register_commands(app)
    register_middleware(app)
    register_abuse_limits(app)
    register_tracing(app)
    register_request_log(app)
    register_access_log(app)
    return app


def load_config(app: Flask, config: type, overrides: dict[str, Any] | None) -> None:
    """Defaults and WILLOW_* settings (config.py), then ``instance/config.py``, then the
    caller's overrides; and remember where the database URL came from, so that every
    command can say which database it used and why."""
    app.config.from_object(config)
    settings = app.config.get("WILLOW_SETTINGS")
    url = app.config.get("SQLALCHEMY_DATABASE_URI")
    source = settings.source("WILLOW_DATABASE_URL") if settings is not None and url else None
    app.config.from_pyfile("config.py", silent=True)
    if app.config.get("SQLALCHEMY_DATABASE_URI") != url:
        source = "instance/config.py"
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides:
            source = "set by the caller"
    app.config["WILLOW_DATABASE_SOURCE"] = source


def ensure_secret_key(app: Flask) -> None:
    """Generate the session-signing key once and keep it in the instance folder, so that
    no install shares a hard-coded default and sessions survive restarts."""
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.instance_path) / "secret_key"
    app.config["WILLOW_SECRET_KEY_FILE"] = str(path)
    if path.exists():
        app.config["SECRET_KEY"] = generated_secret_key(path)
    # else Willow.secret_key generates it at its first use.


_SECRET_KEY_LOCK = threading.Lock()


def generated_secret_key(path: Path) -> str:
    """The key kept in ``path``, generated there first if absent."""
    with _SECRET_KEY_LOCK:
        # Owner-only: whoever reads it can forge console session cookies.
        write_private(path, secrets.token_hex(32))
        make_private(path)
        return path.read_text(encoding="utf-8").strip()


def register_extensions(app: Flask) -> None:
    from .server.request_gate import keep_a_connection_per_thread
    from .storage.database import init_writer_queue
    from .storage.database import ping_idle_connections
    from .storage.database import prepare_database_file_on_connect
    from .storage.database import resolve_database_url
    from .storage.extensions import csrf
    from .storage.extensions import db
    from .storage.extensions import migrate

    resolve_database_url(app)
    keep_a_connection_per_thread(app)  # sized before db.init_app makes the engine
    init_writer_queue(app)
    db.init_app(app)
    ping_idle_connections(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    prepare_database_file_on_connect(app)
    csrf.init_app(app)
    register_console_auth(app)


def register_console_auth(app: Flask) -> None:
    from .console.auth import init_app

    init_app(app)


def register_blueprints(app: Flask) -> None:
    from .admin.views import bp as admin_bp
    from .events.api import bp as events_api_bp
    from .events.console import bp as events_console_bp
    from .monitor.views import bp as monitor_bp
    from .scim.views import bp as scim_bp
    from .server.health import bp as health_bp
    from .storage.extensions import csrf

    # Bearer-token API: CSRF protects cookie sessions, which /scim never uses.
    csrf.exempt(scim_bp)
    app.register_blueprint(scim_bp)
    # Provisioning events for other services: bearer tokens too.
    csrf.exempt(events_api_bp)
    app.register_blueprint(events_api_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(monitor_bp)
    app.register_blueprint(events_console_bp)
    # /healthz and /readyz for load balancers and service managers.
    app.register_blueprint(health_bp)
    # Browsers ask for /favicon.ico on every page; answer it rather than log a 404.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    # One URL rule per route; a trailing slash is accepted without a redirect (see scim.views).
    app.url_map.strict_slashes = False


def register_sso(app: Flask) -> None:
    from .sso import init_app

    init_app(app)


def register_webhooks(app: Flask) -> None:
    from .webhooks import init_app

    init_app(app)


def register_guard(app: Flask) -> None:
    from .guard import init_app

    init_app(app)


def register_error_handlers(app: Flask) -> None:
    from .server.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register_commands as register

    register(app)


def register_abuse_limits(app: Flask) -> None:
    from .server import rate_limit
    from .server import security_headers

    rate_limit.init_app(app)
    security_headers.init_app(app)


def register_tracing(app: Flask) -> None:
    from .server.tracing import init_app

    init_app(app)


def register_middleware(app: Flask) -> None:
    from .server import hosts
    from .server import middleware
    from .server import request_gate

    # The gate first, so that it sees the path after the normaliser's rewriting.
    request_gate.init_app(app)
    middleware.init_app(app)
    hosts.init_app(app)


def register_access_log(app: Flask) -> None:
    # Last: it wraps every other middleware, so it sees the path as the client sent it.
    from .server.access_log import init_app

    init_app(app)


def register_request_log(app: Flask) -> None:
    from .events import retention as event_retention
    from .monitor import capture
    from .monitor import retention

    capture.init_app(app)
    retention.init_app(app)
    event_retention.init_app(app)
