"""Exports: CSV for machines (codes, every audit, UTF-8 with BOM) and an XLSX workbook for people.

The workbook (`people_workbook`) has the sheets Overview (one row per audit: site, round, scores
rounded to one decimal with a % format, band), Details (every answer with its item's text, N/A as
an empty score plus a flag), Actions, Methods and Column codes (each header's machine code), in
the export's language; only submitted audits unless drafts are asked for.

Rows are gathered with `fivs.comparisons.queries` (five queries whatever the number of audits)
and percentages come from `fivs.scoring`. Cells are guarded against formula injection: in CSV a
text cell starting with = + - @ (or a tab / carriage return) gets a leading apostrophe; in XLSX
every text is written as a string cell, never as a formula.
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

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from fivs import labels, scoring
from fivs.actions import queries as action_queries
from fivs.actions.services import is_overdue
from fivs.comparisons import queries
from fivs.comparisons.services import scores_by_audit
from fivs.labels import action_status_label, kind_label, phase_label, priority_label, site_kind_label, status_label
from fivs.timeutil import to_local

SUBMITTED = "submitted"
PCT_FORMAT = '0.0"%"'  # the stored number is the percentage (62.5), shown as 62.5%
DATE_FORMATS = {"vi": "DD/MM/YYYY", "en": "YYYY-MM-DD"}
DATETIME_FORMATS = {"vi": "DD/MM/YYYY HH:MM", "en": "YYYY-MM-DD HH:MM"}
MAX_WIDTH = 60

# "district" is the former district (before 2025, as recorded); province and commune are the current ones.
ANSWER_COLUMNS = ("site_code", "site_name", "district", "province", "commune", "site_kind", "audit_kind",
                  "phase",
                  "status", "audit_id", "audit_date", "auditor", "zone", "zone_instance", "item",
                  "s", "score", "note", "photos")
SCORE_COLUMNS = ("site_code", "site_name", "district", "province", "commune", "site_kind", "audit_kind",
                 "phase",
                 "status", "audit_id", "audit_date", "auditor", "answers_scored", "answers_na",
                 "incomplete_s", "overall", *scoring.S_KEYS)
FORMATS = ("csv", "xlsx")
NA = "N/A"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------- rows
def _audits_with_sites(site_ids: Collection[int] | None, hidden: Collection[int]):
    sites = {s.id: s for s in queries.sites(site_ids, active_only=False)}
    audits = queries.audits(site_ids, active_only=False, hidden=hidden)
    order = {site_id: i for i, site_id in enumerate(sites)}
    audits.sort(key=lambda a: (order[a.site_id], a.audit_date, a.id))
    return sites, audits


def _audit_cells(site: queries.SiteRow, audit: queries.AuditRow) -> list:
    return [site.code, site.name, site.former_district or "", site.province or "", site.commune or "", site.kind,
            audit.kind, audit.phase,
            audit.status, audit.uuid, audit.audit_date, audit.auditor]


def answer_rows(site_ids: Collection[int] | None, hidden: Collection[int] = ()
                ) -> tuple[Sequence[str], list[list]]:
    """One row per answer of every audit of the sites (None: every site) but the `hidden` ones
    (the viewer's blindness: fivs.audits.queries.hidden_audits)."""
    sites, audits = _audits_with_sites(site_ids, hidden)
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


def score_rows(site_ids: Collection[int] | None, hidden: Collection[int] = ()
               ) -> tuple[Sequence[str], list[list]]:
    """One row per audit (but the `hidden` ones) with every percentage: overall, the five S and each zone."""
    sites, audits = _audits_with_sites(site_ids, hidden)
    items = queries.items()
    zones = sorted({(i.sort_key[0], i.zone_code) for i in items.values()})
    zone_codes = list(dict.fromkeys(code for _position, code in zones))
    scores = scores_by_audit([a.id for a in audits])
    rows = []
    for audit in audits:
        sc = scores.get(audit.id) or scoring.audit_scores([])
        rows.append([*_audit_cells(sites[audit.site_id], audit), sc.scored, sc.na,
                     " ".join(sc.incomplete_s), sc.overall, *(sc.by_s[s] for s in scoring.S_KEYS),
                     *(sc.by_zone.get(z) for z in zone_codes)])
    return (*SCORE_COLUMNS, *(f"zone_{z}" for z in zone_codes)), rows


ACTION_COLUMNS = ("site_code", "site_name", "district", "province", "commune", "action_id", "audit_id", "item",
                  "zone_instance",
                  "title", "responsible", "due_date", "priority", "status", "overdue", "created_by",
                  "created_at_local", "done_at_local", "done_note", "verified_at_local")


def action_rows(site_ids: Collection[int] | None, hidden: Collection[int] = ()) -> tuple[Sequence[str], list[list]]:
    """One row per corrective action of the sites (None: every site) but those of the `hidden` audits;
    times in Vietnam time."""
    return ACTION_COLUMNS, [
        [site.code, site.name, site.former_district or "", site.province or "", site.commune or "", str(a.uuid),
         str(audit_uuid) if audit_uuid else "",
         item_code or "", a.room, a.title, a.responsible, a.due_date, a.priority, a.status,
         is_overdue(a), a.created_by.username if a.created_by else "", _local(a.created_at),
         _local(a.done_at), a.done_note, _local(a.verified_at)]
        for a, site, item_code, audit_uuid in action_queries.export_rows(site_ids, hidden)]


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


def content_disposition(filename: str) -> str:
    """attachment with an ASCII fallback and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    return f"attachment; filename=\"{ascii_filename(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


def ascii_filename(filename: str) -> str:
    """'Trường Đồng Phúc.csv' -> 'Truong Dong Phuc.csv' (diacritics dropped, odd characters '_')."""
    text = filename.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._ -]", "_", text) or "export"


# ---------------------------------------------------------------- the workbook for people
def rounded_pct(value: float | None) -> float | None:
    """A percentage rounded half up to one decimal, as the app shows it (62.25 -> 62.3)."""
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


class _Sheet:
    """One sheet's columns: (machine code, header people read, kind of cell) and its rows."""

    def __init__(self, title: str, columns: Sequence[tuple[str, str, str]]):
        self.title, self.columns, self.rows = title, list(columns), []


def _chosen_audits(site_ids, include_drafts: bool, hidden: Collection[int]):
    sites, audits = _audits_with_sites(site_ids, hidden)
    if not include_drafts:
        audits = [a for a in audits if a.status == SUBMITTED]
    return sites, audits


def _overview_sheet(sites, audits, items, lang: str) -> _Sheet:
    zones = sorted({(i.sort_key[0], i.zone_code, i.zone_name(lang)) for i in items.values()})
    zone_names = dict((code, name) for _position, code, name in zones)
    s_names = labels.s_names()
    sheet = _Sheet(_("Overview"), [
        ("site_code", _("Site code"), "text"), ("site_name", _("Site"), "text"),
        ("district", _("District"), "text"), ("site_kind", _("Kind"), "text"),
        ("audit_kind", _("Audit kind"), "text"), ("phase", _("Round"), "text"),
        ("audit_date", _("Date"), "date"), ("auditor", _("Auditor"), "text"),
        ("status", _("Status"), "text"), ("overall", _("Overall"), "pct"),
        *((s, s_names[s], "pct") for s in scoring.S_KEYS), ("band", _("Band"), "text"),
        *((f"zone_{code}", name, "pct") for code, name in zone_names.items())])
    scores = scores_by_audit([a.id for a in audits])
    for audit in audits:
        site = sites[audit.site_id]
        sc = scores.get(audit.id) or scoring.audit_scores([])
        sheet.rows.append([site.code, site.name, site.former_district or "", site_kind_label(site.kind),
                           kind_label(audit.kind), phase_label(audit.phase), audit.audit_date, audit.auditor,
                           status_label(audit.status), rounded_pct(sc.overall),
                           *(rounded_pct(sc.by_s[s]) for s in scoring.S_KEYS),
                           labels.band_label(sc.overall) or "",
                           *(rounded_pct(sc.by_zone.get(code)) for code in zone_names)])
    return sheet


def _details_sheet(sites, audits, items, lang: str) -> _Sheet:
    s_names = labels.s_names()
    sheet = _Sheet(_("Details"), [
        ("site_code", _("Site code"), "text"), ("site_name", _("Site"), "text"),
        ("audit_kind", _("Audit kind"), "text"), ("phase", _("Round"), "text"),
        ("audit_date", _("Date"), "date"), ("status", _("Status"), "text"),
        ("zone", _("Zone"), "text"), ("zone_instance", _("Room"), "text"),
        ("item", _("Item code"), "text"), ("s", _("S"), "text"), ("item_text", _("Item text"), "wide"),
        ("score", _("Score"), "int"), ("na", _("N/A"), "text"), ("note", _("Note"), "wide"),
        ("photos", _("Photos"), "int")])
    audit_ids = [a.id for a in audits]
    photos = queries.photo_counts(audit_ids)
    per_audit: dict[int, list[tuple]] = defaultdict(list)
    for row in queries.answer_rows(audit_ids, with_notes=True):
        per_audit[row[0]].append(row)
    yes = _("N/A")
    for audit in audits:
        site = sites[audit.site_id]
        head = [site.code, site.name, kind_label(audit.kind), phase_label(audit.phase), audit.audit_date,
                status_label(audit.status)]
        for audit_id, item_id, room, score, na, note in sorted(
                per_audit[audit.id], key=lambda r: (items[r[1]].sort_key, r[2])):
            item = items[item_id]
            sheet.rows.append([*head, item.zone_name(lang), room, item.code, s_names[item.s], item.text(lang),
                               None if na else score, yes if na else "", note or "",
                               photos.get((audit_id, item_id, room), 0)])
    return sheet


def _actions_sheet(site_ids, hidden: Collection[int]) -> _Sheet:
    sheet = _Sheet(_("Actions"), [
        ("site_code", _("Site code"), "text"), ("site_name", _("Site"), "text"),
        ("item", _("Item code"), "text"), ("zone_instance", _("Room"), "text"),
        ("title", _("Corrective action"), "wide"), ("responsible", _("Responsible"), "text"),
        ("due_date", _("Due date"), "date"), ("priority", _("Priority"), "text"),
        ("status", _("Status"), "text"), ("overdue", _("Overdue"), "text"),
        ("created_by", _("Created by"), "text"), ("created_at_local", _("Created"), "datetime"),
        ("done_at_local", _("Done"), "datetime"), ("done_note", _("Done note"), "wide"),
        ("verified_at_local", _("Verified"), "datetime"), ("action_id", _("Action id"), "text"),
        ("audit_id", _("Audit id"), "text")])
    overdue = _("Overdue")
    for a, site, item_code, audit_uuid in action_queries.export_rows(site_ids, hidden):
        sheet.rows.append([site.code, site.name, item_code or "", a.room, a.title, a.responsible, a.due_date,
                           priority_label(a.priority), action_status_label(a.status),
                           overdue if is_overdue(a) else "",
                           a.created_by.username if a.created_by else "", _local(a.created_at),
                           _local(a.done_at), a.done_note or "", _local(a.verified_at), str(a.uuid),
                           str(audit_uuid) if audit_uuid else ""])
    return sheet


def people_workbook(site_ids: Collection[int] | None, *, lang: str, include_drafts: bool = False,
                    active: str = "scores", hidden: Collection[int] = ()) -> bytes:
    """The workbook people open as it is (call under force_locale(lang)); `active` is the sheet it
    opens on: "scores" (Overview), "answers" (Details) or "actions"; without the `hidden` audits."""
    sites, audits = _chosen_audits(site_ids, include_drafts, hidden)
    items = queries.items()
    data = {"scores": _overview_sheet(sites, audits, items, lang),
            "answers": _details_sheet(sites, audits, items, lang),
            "actions": _actions_sheet(site_ids, hidden)}
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in data.values():
        _write_table(workbook.create_sheet(sheet.title), sheet, lang)
    method = workbook.create_sheet(_("Methods"))
    method.column_dimensions["A"].width = 120
    for n, paragraph in enumerate([_("How the figures are computed"), *labels.method_note()], start=1):
        cell = method.cell(row=n, column=1, value=_safe_text(paragraph))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if n == 1:
            cell.font = Font(bold=True)
    codes = _Sheet(_("Column codes"), [("sheet", _("Sheet"), "text"), ("column", _("Column"), "text"),
                                        ("header", _("Header"), "text"), ("code", _("Code"), "text")])
    for sheet in data.values():
        codes.rows += [[sheet.title, get_column_letter(n), header, code]
                       for n, (code, header, _kind) in enumerate(sheet.columns, start=1)]
    _write_table(workbook.create_sheet(codes.title), codes, lang)
    workbook.active = list(data).index(active) if active in data else 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_table(ws, sheet: _Sheet, lang: str) -> None:
    """Header row in bold, frozen, with an autofilter; numbers and dates formatted; widths from content."""
    ws.append([header for _code, header, _kind in sheet.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(header) for _code, header, _kind in sheet.columns]
    formats = {"pct": PCT_FORMAT, "date": DATE_FORMATS[lang], "datetime": DATETIME_FORMATS[lang]}
    for r, row in enumerate(sheet.rows, start=2):
        for c, ((_code, _header, kind), value) in enumerate(zip(sheet.columns, row), start=1):
            cell = ws.cell(row=r, column=c)
            if isinstance(value, str):
                cell.value = _safe_text(value)
                cell.data_type = "s"  # never a formula or an error code, whatever the text
            else:
                cell.value = value
            if kind in formats and value is not None:
                cell.number_format = formats[kind]
            if kind == "wide":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            widths[c - 1] = max(widths[c - 1], 10 if kind in ("date", "pct") else
                                16 if kind == "datetime" else len(str(value or "")))
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(MAX_WIDTH, width + 2)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{max(1, len(sheet.rows) + 1)}"


def _safe_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)
