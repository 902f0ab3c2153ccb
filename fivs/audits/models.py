from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fivs.auth.models import User
from fivs.checklists.models import ChecklistTemplate, Item, Zone
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.timeutil import utcnow

PHASES = ("baseline", "periodic", "final")
CONSULTANT_AUDIT, SELF_ASSESSMENT = "consultant", "self"  # the kinds of audit
# A second consultant's independent scoring of a consultant audit's site and round (calibrates):
# read only for rater agreement, never for scores or comparisons.
CALIBRATION = "calibration"
KINDS = (CONSULTANT_AUDIT, SELF_ASSESSMENT, CALIBRATION)
STATUSES = ("draft", "submitted", "reopened")


class Audit(db.Model):
    __tablename__ = "audits"
    __table_args__ = (
        CheckConstraint("phase IN ('baseline', 'periodic', 'final')", name="phase"),
        CheckConstraint("kind IN ('consultant', 'self', 'calibration')", name="kind"),
        CheckConstraint("(kind = 'calibration') = (calibrates_id IS NOT NULL)", name="calibrates"),
        CheckConstraint("status IN ('draft', 'submitted', 'reopened')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"), index=True)
    phase: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    audit_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The consultant audit a calibration audit scores again (set exactly for kind "calibration").
    calibrates_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"), index=True)
    # A voided audit (a reviewer's decision, with a reason) stays readable but counts nowhere:
    # comparisons, reports and agreement leave it out, and its site and round may start again.
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str] = mapped_column(Text, default="")
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    site: Mapped[Site] = relationship()
    template: Mapped[ChecklistTemplate] = relationship()
    auditor: Mapped[User] = relationship(foreign_keys=[auditor_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])
    calibrates: Mapped["Audit | None"] = relationship(remote_side=[id])
    answers: Mapped[list["Answer"]] = relationship(
        back_populates="audit", cascade="all, delete-orphan"
    )
    rooms: Mapped[list["Room"]] = relationship(
        back_populates="audit", cascade="all, delete-orphan", order_by="Room.position"
    )

    @property
    def locked(self) -> bool:
        return self.status == "submitted"

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    def __repr__(self) -> str:
        return f"<Audit {self.uuid} {self.phase} {self.status}>"


class Room(db.Model):
    """One audited copy of a zone, known by its name: "" for a plain zone, "Lớp 3A" for a
    classroom of a repeating one. Answers, photos and actions name their room the same way."""

    __tablename__ = "audit_zone_instances"
    __table_args__ = (UniqueConstraint("audit_id", "zone_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("checklist_zones.id"))
    name: Mapped[str] = mapped_column("label", String(80), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    audit: Mapped[Audit] = relationship(back_populates="rooms")
    zone: Mapped[Zone] = relationship()


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("audit_id", "item_id", "zone_instance"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 4)", name="score_range"),
        CheckConstraint("NOT (na AND score IS NOT NULL)", name="na_or_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"), index=True)
    # The name of the answer's room: "" for a non-repeating zone, "Lớp 3A" for a repeating one.
    room: Mapped[str] = mapped_column("zone_instance", String(80), default="")
    score: Mapped[int | None] = mapped_column(SmallInteger)
    na: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The answer as it was before its latest save (old_na NULL: the latest save was its first), written
    # by the save's own upsert so that it can log the change without reading the answer first.
    old_score: Mapped[int | None] = mapped_column(SmallInteger)
    old_na: Mapped[bool | None] = mapped_column(Boolean)
    old_note: Mapped[str | None] = mapped_column(Text)

    audit: Mapped[Audit] = relationship(back_populates="answers")
    item: Mapped[Item] = relationship()
    updated_by: Mapped[User | None] = relationship()

    @property
    def is_answered(self) -> bool:
        return self.na or self.score is not None


class Acknowledgement(db.Model):
    """The site head's acknowledgement of one submission of a consultant audit, with an optional
    comment (acknowledging is not agreeing: the comment may disagree). It names the submission
    (`submitted_at`), so after a reopen and a new submit the audit needs a new one; old ones stay."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    audit: Mapped[Audit] = relationship()
    user: Mapped[User] = relationship()
