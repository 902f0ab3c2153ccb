"""Exports: every answer, or every audit's percentages, as CSV (UTF-8 with BOM) or XLSX.

Rows are gathered with `fivs.comparisons.queries` (five queries whatever the number of audits)
and percentages come from `fivs.scoring`. Cells are guarded against formula injection: in CSV a
text cell starting with = + - @ (or a tab / carriage return) gets a leading apostrophe; in XLSX
every such text is written as a string cell, never as a formula.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

from fivs import scoring
from fivs.actions import queries as action_queries
from fivs.actions.services import is_overdue
from fivs.comparisons import queries
from fivs.comparisons.services import scored_answers_from_packed
from fivs.timeutil import to_local

ANSWER_COLUMNS = ("site_code", "site_name", "district", "site_kind", "audit_kind", "phase",
                  "status", "audit_id", "audit_date", "auditor", "zone", "zone_instance", "item",
                  "s", "score", "note", "photos")
SCORE_COLUMNS = ("site_code", "site_name", "district", "site_kind", "audit_kind", "phase",
                 "status", "audit_id", "audit_date", "auditor", "answers_scored", "answers_na",
                 "incomplete_s", "overall", *scoring.S_KEYS)
FORMATS = ("csv", "xlsx")
NA = "N/A"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------- rows
def _audits_with_sites(site_ids: Collection[int] | None):
    sites = {s.id: s for s in queries.sites(site_ids, active_only=False)}
    audits = queries.audits(site_ids, active_only=False)
    order = {site_id: i for i, site_id in enumerate(sites)}
    audits.sort(key=lambda a: (order[a.site_id], a.audit_date, a.id))
    return sites, audits


def _audit_cells(site: queries.SiteRow, audit: queries.AuditRow) -> list:
    return [site.code, site.name, site.district or "", site.kind, audit.kind, audit.phase,
            audit.status, audit.uuid, audit.audit_date, audit.auditor]


def answer_rows(site_ids: Collection[int] | None) -> tuple[Sequence[str], list[list]]:
    """One row per answer of every audit of the sites (None: every site)."""
    sites, audits = _audits_with_sites(site_ids)
    items = queries.items()
    audit_ids = [a.id for a in audits]
    photos = queries.photo_counts(audit_ids)
    per_audit: dict[int, list[tuple]] = defaultdict(list)
    for row in queries.answer_rows(audit_ids, with_notes=True):
        per_audit[row[0]].append(row)
    rows = []
    for audit in audits:
        head = _audit_cells(sites[audit.site_id], audit)
        answers = sorted(per_audit[audit.id], key=lambda r: (items[r[1]].sort_key, r[2]))
        for audit_id, item_id, label, score, na, note in answers:
            item = items[item_id]
            rows.append([*head, item.zone_code, label, item.code, item.s,
                         NA if na else score, note, photos.get((audit_id, item_id, label), 0)])
    return ANSWER_COLUMNS, rows


def score_rows(site_ids: Collection[int] | None) -> tuple[Sequence[str], list[list]]:
    """One row per audit with every percentage: overall, the five S and each zone."""
    sites, audits = _audits_with_sites(site_ids)
    items = queries.items()
    zones = sorted({(i.sort_key[0], i.zone_code) for i in items.values()})
    zone_codes = list(dict.fromkeys(code for _position, code in zones))
    answers = scored_answers_from_packed(queries.packed_answers([a.id for a in audits]), items)
    rows = []
    for audit in audits:
        sc = scoring.audit_scores(answers.get(audit.id, []))
        rows.append([*_audit_cells(sites[audit.site_id], audit), sc.scored, sc.na,
                     " ".join(sc.incomplete_s), sc.overall, *(sc.by_s[s] for s in scoring.S_KEYS),
                     *(sc.by_zone.get(z) for z in zone_codes)])
    return (*SCORE_COLUMNS, *(f"zone_{z}" for z in zone_codes)), rows


ACTION_COLUMNS = ("site_code", "site_name", "district", "action_id", "audit_id", "item", "zone_instance",
                  "title", "responsible", "due_date", "priority", "status", "overdue", "created_by",
                  "created_at_local", "done_at_local", "done_note", "verified_at_local")


def action_rows(site_ids: Collection[int] | None) -> tuple[Sequence[str], list[list]]:
    """One row per corrective action of the sites (None: every site); times in Vietnam time."""
    return ACTION_COLUMNS, [
        [site.code, site.name, site.district or "", str(a.uuid), str(audit_uuid) if audit_uuid else "",
         item_code or "", a.room, a.title, a.responsible, a.due_date, a.priority, a.status,
         is_overdue(a), a.created_by.username if a.created_by else "", _local(a.created_at),
         _local(a.done_at), a.done_note, _local(a.verified_at)]
        for a, site, item_code, audit_uuid in action_queries.export_rows(site_ids)]


def _local(value):
    """Vietnam time without a zone (spreadsheets take no zone-aware times)."""
    return to_local(value).replace(tzinfo=None) if value else None


# ---------------------------------------------------------------- writers
def csv_cell(value):
    """A CSV cell: dates ISO, None empty, formula-looking text defused with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows Vietnamese correctly."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence], sheet_title: str) -> bytes:
    """A one-sheet workbook (openpyxl write-only mode); text is never read as a formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    sheet.append(list(header))
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value):
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith("=") or value in ERROR_CODES:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl would otherwise store it as a formula or an error
        return cell
    return value


def content_disposition(filename: str) -> str:
    """attachment with an ASCII fallback and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    return f"attachment; filename=\"{ascii_filename(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


def ascii_filename(filename: str) -> str:
    """'Trường Đồng Phúc.csv' -> 'Truong Dong Phuc.csv' (diacritics dropped, odd characters '_')."""
    text = filename.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._ -]", "_", text) or "export"
