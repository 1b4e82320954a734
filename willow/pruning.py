"""The background pruners' common thread: prune once when started, then every
``interval`` seconds, until stopped.

A daemon thread started by the first request the server handles (so CLI commands and
tests never start one), ``threading`` only: the same under waitress on Linux and Windows.
Subclasses say what one round prunes (``prune_once``); a failed round must not end the
thread, so ``prune_once`` catches and logs its own errors.
"""

from __future__ import annotations

import threading

from flask import Flask


class PeriodicPruner:
    thread_name = "willow-pruner"

    def __init__(self, app: Flask, interval: int) -> None:
        self.app = app
        self.interval = interval
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self.run, name=self.thread_name, daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        while True:
            self.prune_once()
            if self.stopped.wait(self.interval):
                return

    def prune_once(self) -> int:
        """Prune what is due now; how many rows went."""
        raise NotImplementedError
