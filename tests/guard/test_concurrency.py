"""The count is not raced past: a burst of deactivations sent by 8 threads at once (to two
app processes on PostgreSQL; SQLite serialises writers in one) holds exactly as many as
one after the other would."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.hardening.live import LiveServer
from tests.hardening.live import Pool
from willow.storage.extensions import db
from willow.storage.models import GuardHeldChange
from willow.storage.models import User

from .conftest import DEACTIVATE


def test_a_burst_from_eight_threads_holds_the_same_number(
    app, backend, database_url, token, tmp_path
):
    processes = 2 if backend == "postgresql" else 1
    servers = [
        LiveServer(database_url, tmp_path / f"server{i}.log", threads=8).launch()
        for i in range(processes)
    ]
    try:
        for server in servers:
            server.wait_ready()
        pool = Pool(token, threads=8)
        created = pool.run(
            [(servers[i % processes], "POST", "/Users", {"userName": f"c{i:03}@example.com"})
             for i in range(100)]
        )
        assert [status for status, _, _ in created] == [201] * 100
        ids = [json.loads(body)["id"] for _, _, body in created]
        answers = pool.run(
            [(servers[i % processes], "PATCH", f"/Users/{u}", DEACTIVATE)
             for i, u in enumerate(ids[:25])]
        )
        assert [status for status, _, _ in answers] == [200] * 25
        assert all(json.loads(body)["active"] is False for _, _, body in answers)
    finally:
        for server in servers:
            server.stop()
    with app.app_context():
        held = db.session.scalars(sa.select(GuardHeldChange.user_id)).all()
        inactive = db.session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.active.is_(False))
        )
        db.session.remove()
    assert (len(held), len(set(held)), inactive) == (15, 15, 25)
