"""One round's window of the programme calendar."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fivs.extensions import db
from fivs.timeutil import utcnow


class RoundWindow(db.Model):
    """When a round (baseline, periodic, final) of a programme year is to be audited: from `opens`
    to `closes`, both included. One window per phase and year."""

    __tablename__ = "round_windows"
    __table_args__ = (
        UniqueConstraint("year", "phase"),
        CheckConstraint("phase IN ('baseline', 'periodic', 'final')", name="phase"),
        CheckConstraint("closes >= opens", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    opens: Mapped[date] = mapped_column(Date)
    closes: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"<RoundWindow {self.year} {self.phase} {self.opens}..{self.closes}>"
