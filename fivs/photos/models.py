from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fivs.actions.models import CorrectiveAction
from fivs.audits.models import Audit
from fivs.checklists.models import Item
from fivs.extensions import db
from fivs.timeutil import utcnow


class Photo(db.Model):
    """A photo attached to an answer (audit + item + zone instance), to the audit as a whole
    (item_id NULL) or to a corrective action. Only derivatives are stored, never the original."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    audit_id: Mapped[int | None] = mapped_column(
        ForeignKey("audits.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"), index=True)
    room: Mapped[str] = mapped_column("zone_instance", String(80), default="")  # the room's name ("" none)
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("corrective_actions.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)
    source_format: Mapped[str] = mapped_column(String(16))
    display_key: Mapped[str] = mapped_column(String(300))
    thumb_key: Mapped[str] = mapped_column(String(300))
    caption: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    audit: Mapped[Audit | None] = relationship()
    item: Mapped[Item | None] = relationship()
    action: Mapped[CorrectiveAction | None] = relationship()


class DeletedPhoto(db.Model):
    """The id of a deleted photo, kept for good: a tablet that replays the photo's upload (an offline
    retry) is answered 410 and nothing is stored, so a retry cannot undo a colleague's deletion."""

    __tablename__ = "deleted_photos"

    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
