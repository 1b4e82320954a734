"""How printed hints name Willow's command line (the server's start-up hints, ``check``,
``--init`` and the commands' own messages)."""

from __future__ import annotations

import sys
from pathlib import Path


def cli_command() -> str:
    """How to start Flask's CLI from here, as printed hints should say it: the interpreter
    that runs the server, by the name it is found under (``python`` or ``python3``), so the
    hint works where ``flask`` is not on PATH (a Windows per-user install)."""
    name = Path(sys.executable).stem if sys.executable else "python"
    if not name.startswith("python"):
        name = "python"
    return f"{name} -m flask --app app"
