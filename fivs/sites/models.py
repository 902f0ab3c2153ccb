from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fivs.extensions import db
from fivs.timeutil import utcnow

SITE_KINDS = ("school", "clinic")
# The places a site is in that the programme can be read by (its columns below).
PLACES = ("province", "commune", "former_district")


class Site(db.Model):
    __tablename__ = "sites"
    __table_args__ = (CheckConstraint("kind IN ('school', 'clinic')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # The administrative place now (after the 2025 reform: province and commune, no districts) and,
    # where known, as it was before it (the 2023 pilot was recorded by district of Bắc Giang).
    # Programme views group by any of them; an unknown commune stays empty.
    province: Mapped[str | None] = mapped_column(String(120), index=True)
    commune: Mapped[str | None] = mapped_column(String(120), index=True)
    former_province: Mapped[str | None] = mapped_column(String(120))
    former_district: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(300))
    head_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"<Site {self.code}>"
