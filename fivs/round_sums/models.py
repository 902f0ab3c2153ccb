"""The stored sums of a site's compared rounds (a cache of immutable data).

A site's baseline and final, once submitted, do not change: an answer can only change after a reopen,
and every change bumps the audit's row_version. So the sums of a site's pair of rounds are stored under
the pair's audit ids and row versions when a consultant's round of the site is submitted, reopened or
voided (`queries.store_round_sums`, from fivs.audits.services), and a comparison reads them instead of
adding the pair's answers up again (`queries.round_sums`); a pair not stored (a viewer kept blind to a
round sees another pair; rows loaded around the services) is summed from its answers by the same
statement. A stored row is never updated: a changed pair has other keys, and its old rows are not read.
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fivs.extensions import db

# The figures of one row, in the order of queries.ROUND_SUMS_COLUMNS after site, part and key.
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
