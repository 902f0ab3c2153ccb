from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from fivs.extensions import db
from fivs.timeutil import utcnow

S_CATEGORIES = ("seiri", "seiton", "seiso", "seiketsu", "shitsuke")


class ChecklistTemplate(db.Model):
    __tablename__ = "checklist_templates"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    site_kind: Mapped[str] = mapped_column(String(16))
    title_vi: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    # [{"level": 0, "anchor_vi": "...", "anchor_en": "..."}, ...] for levels 0..4
    scale: Mapped[list] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(200), default="")
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    zones: Mapped[list["Zone"]] = relationship(
        back_populates="template", order_by="Zone.position", cascade="all, delete-orphan"
    )
    items: Mapped[list["Item"]] = relationship(
        back_populates="template", order_by="Item.position", cascade="all, delete-orphan",
        overlaps="zone,items",
    )

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_vi

    def anchor(self, level: int, lang: str) -> str:
        entry = self.scale[level]
        return entry["anchor_en"] if lang == "en" else entry["anchor_vi"]

    def __repr__(self) -> str:
        return f"<ChecklistTemplate {self.key} v{self.version}>"


class Zone(db.Model):
    __tablename__ = "checklist_zones"
    __table_args__ = (UniqueConstraint("template_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_templates.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    repeats: Mapped[bool] = mapped_column(Boolean, default=False)
    # How a repeating zone's rooms are named, e.g. "Lớp 1A, Lớp 2B" (the capture page's hint).
    room_examples: Mapped[str] = mapped_column(String(200), default="", server_default="")
    position: Mapped[int] = mapped_column(Integer)

    template: Mapped[ChecklistTemplate] = relationship(back_populates="zones")
    items: Mapped[list["Item"]] = relationship(
        back_populates="zone", order_by="Item.position", overlaps="items,template"
    )

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


class Item(db.Model):
    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("template_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_templates.id", ondelete="CASCADE"), index=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("checklist_zones.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    s: Mapped[str] = mapped_column(String(16))
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    guidance_vi: Mapped[str] = mapped_column(Text, default="")
    guidance_en: Mapped[str] = mapped_column(Text, default="")
    na_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)

    template: Mapped[ChecklistTemplate] = relationship(back_populates="items", overlaps="items,zone")
    zone: Mapped[Zone] = relationship(back_populates="items", overlaps="items,template")

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_vi

    def guidance(self, lang: str) -> str:
        return self.guidance_en if lang == "en" else self.guidance_vi


class ChecklistUpload(db.Model):
    """An XLSX workbook an admin uploaded for a checklist: a draft until it is published as the
    checklist's next version (`template`), kept with its bytes and who uploaded and published it."""

    __tablename__ = "checklist_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    xlsx: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_templates.id"), unique=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    template: Mapped[ChecklistTemplate | None] = relationship()
    uploaded_by: Mapped["User"] = relationship(foreign_keys=[uploaded_by_id])  # noqa: F821
    published_by: Mapped["User | None"] = relationship(foreign_keys=[published_by_id])  # noqa: F821

    @property
    def published(self) -> bool:
        return self.template_id is not None
