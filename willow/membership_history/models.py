"""The membership history's table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..storage.extensions import db
from ..storage.models import BigId
from ..storage.models import utcnow


class MembershipChange(db.Model):
    """One user joining or leaving one group, by one SCIM request (``request_id``, the
    request log entry's). Ids, not foreign keys: the history outlives the group (and a
    deleted user's tombstone keeps its id), and it is pruned with the request log."""

    __tablename__ = "membership_changes"
    __table_args__ = (
        # The user's page and the log search ``q`` read one user's changes, newest first.
        Index("ix_membership_changes_org_user", "organization_id", "user_id", "occurred_at"),
        # Retention deletes oldest first.
        Index("ix_membership_changes_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(36))
    group_id: Mapped[str] = mapped_column(String(36))
    #: The group's displayName when it changed (the group may be renamed or gone since).
    group_name: Mapped[str | None] = mapped_column(String(256))
    #: ``added``, ``removed``, or ``group_deleted`` (she left because the group was deleted).
    change: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
