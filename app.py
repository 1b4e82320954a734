"""Entry point. ``python app.py`` applies pending migrations and serves with waitress;
``python app.py --init`` prepares the instance folder and database without serving.

Also usable as ``flask --app app ...`` (CLI) and ``waitress-serve --call app:create_app``
(behind a reverse proxy add ``--no-clear-untrusted-proxy-headers``: the app itself decides
whose ``X-Forwarded-*`` headers to believe, see ``willow.server.middleware``).
Nothing here is POSIX-only: the same command runs a Windows on-prem host.
"""

from __future__ import annotations

from willow import create_app
from willow.server.serve import main

app = create_app()

if __name__ == "__main__":
    main(app)
