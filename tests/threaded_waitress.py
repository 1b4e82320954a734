"""A waitress server run in a thread of the test process, and stopped without a race.

Closing the server's sockets from the test's thread races with its loop: the loop may
already be in ``select`` on a socket just closed, and waitress raises ``EBADF`` in its
thread (pytest then reports the test in error). So everything is closed from inside the
loop, through the server's own trigger; with its map empty, the loop returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from waitress import wasyncore


@contextmanager
def running(server: Any) -> Iterator[Any]:
    """Run ``server`` (a waitress server) in a thread until the block ends."""
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive(), "the waitress server did not stop"
