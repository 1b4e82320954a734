"""Fixtures for console tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from willow import models


@pytest.fixture
def clock(monkeypatch):
    """A controllable ``willow.models.utcnow``: set ``clock.now`` or ``advance()`` it."""

    class Clock:
        now = models.utcnow().replace(microsecond=0)

        def advance(self, **kwargs) -> None:
            self.now += timedelta(**kwargs)

    c = Clock()
    monkeypatch.setattr(models, "utcnow", lambda: c.now)
    return c
