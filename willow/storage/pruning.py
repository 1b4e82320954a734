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
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.sql import ColumnElement

from .extensions import db


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
                thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
                thread.start()  # then kept: stop() never joins a thread that did not start
                self._thread = thread

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


def delete_oldest(
    id_column: ColumnElement, condition: ColumnElement[bool], order_by: ColumnElement,
    batch_size: int,
) -> int:
    """Delete the rows of ``id_column``'s table that meet ``condition``, oldest first by
    ``order_by``, ``batch_size`` per transaction (so a backlog never holds SQLite's write
    lock for long); how many. Ids first, then a delete by primary key: portable (no
    DELETE … LIMIT), and the select can walk an index on ``order_by``. Needs an app
    context."""
    oldest = select(id_column).where(condition).order_by(order_by).limit(batch_size)
    total = 0
    while True:
        with db.engine.begin() as conn:
            ids = conn.scalars(oldest).all()
            if ids:
                # The condition again: on a partitioned table it confines the delete to
                # the partitions that can hold such rows, rather than probing them all.
                conn.execute(delete(id_column.table).where(id_column.in_(ids), condition))
        total += len(ids)
        if len(ids) < batch_size:
            return total
