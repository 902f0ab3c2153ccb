"""The stored sums of a site's compared rounds (a cache of immutable data).

A site's baseline and final, once submitted, do not change: an answer can only change after a reopen,
and every change bumps the audit's row_version. So the sums `queries.round_sums` makes of a pair of
rounds are stored under the pair's audit ids and row versions, and a comparison reads them instead of
adding the pair's answers up again; a pair not stored yet (a new submission, a reopen, a void, another
viewer's blindness picking other rounds) is summed and stored by the same statement on its first read.
A stored row is never updated: a changed pair has other keys, and the old rows are simply not read.
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fivs.extensions import db

# The figures of one row, in the order of queries.ROUND_SUMS_COLUMNS after site, group and key.
FIGURES = ("b_answers", "b_total", "b_count", "b_na", "f_answers", "f_total", "f_count", "f_na",
           "mb_total", "mb_count", "mf_total", "mf_count")


class RoundSum(db.Model):
    """One row of a pair's sums (part "s" and the S, or "zone" and the zone code). A round the site
    does not have is stored as audit 0, version 0."""

    __tablename__ = "round_sums"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    baseline_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    baseline_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    final_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    final_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    part: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    b_answers: Mapped[int] = mapped_column(Integer)
    b_total: Mapped[int] = mapped_column(Integer)
    b_count: Mapped[int] = mapped_column(Integer)
    b_na: Mapped[int] = mapped_column(Integer)
    f_answers: Mapped[int] = mapped_column(Integer)
    f_total: Mapped[int] = mapped_column(Integer)
    f_count: Mapped[int] = mapped_column(Integer)
    f_na: Mapped[int] = mapped_column(Integer)
    mb_total: Mapped[int] = mapped_column(Integer)
    mb_count: Mapped[int] = mapped_column(Integer)
    mf_total: Mapped[int] = mapped_column(Integer)
    mf_count: Mapped[int] = mapped_column(Integer)
    excluded: Mapped[str | None] = mapped_column(Text)
