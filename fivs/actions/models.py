from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fivs.auth.models import User
from fivs.checklists.models import Item
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.timeutil import utcnow

ACTION_STATUSES = ("open", "done", "verified", "reopened")
OPEN_STATUSES = ("open", "reopened")  # still to be done
PRIORITIES = ("low", "medium", "high")


class CorrectiveAction(db.Model):
    __tablename__ = "corrective_actions"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'verified', 'reopened')", name="status"),
        CheckConstraint("priority IN ('low', 'medium', 'high')", name="priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"))
    room: Mapped[str] = mapped_column("zone_instance", String(80), default="")  # the room's name ("" none)
    title: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(String(8), default="medium")
    status: Mapped[str] = mapped_column(String(16), default="open")
    done_note: Mapped[str] = mapped_column(Text, default="")
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    site: Mapped[Site] = relationship()
    item: Mapped[Item | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def event_target(self) -> str:
        """How the event log names this action (its events carry no audit)."""
        return f"action:{self.uuid}"
