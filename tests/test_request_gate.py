"""``willow.server.request_gate``: how many /scim requests run at once, and in which order the
others get their turn."""

from __future__ import annotations

import threading
import time

import pytest

from config import TestingConfig
from willow import create_app
from willow.server.request_gate import FifoGate
from willow.server.request_gate import ScimGate


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiting_holders_are_admitted_in_the_order_they_came():
    gate = FifoGate(1)
    order: list[str] = []
    gate.acquire()

    def take(name: str) -> None:
        with gate:
            order.append(name)

    threads = []
    for queued, name in enumerate(["first", "second", "third"], start=1):
        thread = threading.Thread(target=take, args=(name,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda n=queued: len(gate._waiting) == n)  # noqa: SLF001
    gate.release()
    for thread in threads:
        thread.join(5)
    assert order == ["first", "second", "third"]


class _AtOnce:
    """Counts how many threads are inside it at once, at most."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.inside -= 1


def _run_in_threads(target, count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)


def test_a_gate_admits_as_many_holders_as_it_has_slots():
    gate = FifoGate(2)
    at_once = _AtOnce()

    def hold() -> None:
        with gate, at_once:
            time.sleep(0.02)

    _run_in_threads(hold, 6)
    assert at_once.most == 2


def test_a_holder_that_raises_gives_its_slot_back():
    gate = FifoGate(1)
    with pytest.raises(RuntimeError), gate:
        raise RuntimeError("the view failed")
    done = threading.Event()
    thread = threading.Thread(target=lambda: (gate.acquire(), done.set()))
    thread.start()
    assert done.wait(5)


def test_a_gate_without_slots_is_refused():
    with pytest.raises(ValueError):
        FifoGate(0)


def _concurrency_of(path: str, requests: int, gate: FifoGate) -> int:
    """How many requests for ``path`` the gated app ran at once, at most."""
    at_once = _AtOnce()

    def app(environ, start_response):
        with at_once:
            time.sleep(0.05)
        start_response("200 OK", [])
        return [b""]

    gated = ScimGate(app, gate)
    _run_in_threads(lambda: gated({"PATH_INFO": path}, lambda *a: None), requests)
    return at_once.most


def test_scim_requests_take_turns_and_other_requests_do_not_wait():
    gate = FifoGate(1)
    assert _concurrency_of("/scim/v2/Users", 4, gate) == 1
    assert _concurrency_of("/admin/tokens", 4, gate) > 1


def test_sqlite_runs_one_scim_request_at_a_time_and_postgresql_two(app, backend):
    expected = 1 if backend == "sqlite" else 2
    assert app.extensions["willow_scim_concurrency"] == expected
    layers = []
    layer = app.wsgi_app
    while layer is not None:
        layers.append(layer)
        layer = getattr(layer, "wsgi_app", None)
    [gate] = [layer for layer in layers if isinstance(layer, ScimGate)]
    assert gate.gate._free == expected  # noqa: SLF001 - the slots of an idle gate


@pytest.mark.parametrize(("setting", "slots"), [(0, 0), (3, 3)])
def test_the_setting_overrides_the_database_default(database_url, setting, slots):
    app = create_app(
        TestingConfig,
        {"SQLALCHEMY_DATABASE_URI": database_url, "WILLOW_SCIM_CONCURRENCY": setting},
    )
    assert app.extensions["willow_scim_concurrency"] == slots


def test_scim_requests_are_answered_through_the_gate(client, token):
    response = client.get(
        "/scim/v2/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
