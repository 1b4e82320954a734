"""The deprovisioning guard: one identity-provider mistake cannot take access away from a
whole organization at once.

Deactivations and deletions by SCIM are counted per organization over a rolling window
(``rules``). Past the threshold the SCIM request is still applied and answered as usual,
so the IdP neither retries nor quarantines Willow, but its effects on access are held
(``store``): the user keeps their role and sessions, and their events wait outside the
events stream until an admin allows them.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import guard_cli

    app.cli.add_command(guard_cli)
