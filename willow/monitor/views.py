"""Monitor console pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("monitor", __name__, url_prefix="/monitor")
