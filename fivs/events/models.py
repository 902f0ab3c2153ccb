"""The event log's one table: who did what, when, with old and new values."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fivs.auth.models import User
from fivs.extensions import db
from fivs.timeutil import utcnow


class Event(db.Model):
    """The event log: who did what, when, with old and new values."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    audit_id: Mapped[int | None] = mapped_column(
        ForeignKey("audits.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(String(200), default="")
    old_value: Mapped[dict | list | str | int | None] = mapped_column(JSON)
    new_value: Mapped[dict | list | str | int | None] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship()
