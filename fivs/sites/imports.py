"""Load sites from a CSV (UTF-8, a BOM allowed) or XLSX file: one row per site, headings in row 1.

Every row is checked before anything is written; any bad row is reported as `file:row: problem` and
nothing changes. Good files create the new codes and update the existing ones; only the columns
the file has are touched (an empty cell in a present column clears that field).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from fivs.checklists.content import N_, Problem
from fivs.extensions import db
from fivs.sites.models import SITE_KINDS, Site
from fivs.sites.services import create_site, update_site
from fivs.text import clean_text, has_control_chars

REQUIRED_COLUMNS = ("code", "name", "kind")
OPTIONAL_COLUMNS = ("province", "commune", "former_province", "former_district")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_LENGTH = {"code": 32, "name": 200, "kind": 16, "province": 120, "commune": 120, "former_province": 120,
              "former_district": 120}
CODE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_ROWS = 100_000
_LOOKUP_CHUNK = 500  # codes per IN (...) when finding the existing sites


class SiteImportError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


class _Problems:
    def __init__(self, fname: str):
        self.fname = fname
        self.items: list[Problem] = []

    def add(self, row: int, msgid: str, /, **params) -> None:
        self.items.append(Problem.of(self.fname, "", row, msgid, **params))


def _csv_rows(data: bytes, problems: _Problems) -> list[list]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add(0, N_("The file is not UTF-8 text: save it as “CSV UTF-8”."))
        return []
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        problems.add(0, N_("The file is not a readable CSV file (%(error)s)."), error=str(exc))
        return []


def _xlsx_rows(data: bytes, problems: _Problems) -> list[list]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception:  # noqa: BLE001 (any failure to read an untrusted file is the same refusal)
        problems.add(0, N_("The file is not an XLSX workbook: save it from Excel or LibreOffice as .xlsx."))
        return []
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value, row: int, column: str, problems: _Problems) -> str:
    """A cell as stored text (NFC, trimmed, spaces collapsed); whole numbers from a workbook as digits."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, (datetime, date, time)):
        problems.add(row, N_("“%(value)s” in %(column)s is not text."), value=str(value), column=column)
        return ""
    if isinstance(value, float):
        value = str(int(value)) if value.is_integer() else str(value)
    value = str(value)
    if has_control_chars(value):
        problems.add(row, N_("%(column)s contains control characters (not text)."), column=column)
    text = clean_text(value, multiline=False)
    if len(text) > MAX_LENGTH[column]:
        problems.add(row, N_("%(column)s is longer than %(max)d characters."), column=column, max=MAX_LENGTH[column])
    return text


def _header(cells: list, problems: _Problems) -> list[str | None]:
    names = [clean_text(str(c), multiline=False).casefold() if c is not None else "" for c in cells]
    columns: list[str | None] = []
    for name in names:
        if name in COLUMNS and name not in columns:
            columns.append(name)
        elif name in columns:
            problems.add(1, N_("The column %(column)s appears twice."), column=name)
            columns.append(None)
        elif name:
            problems.add(1, N_("Unknown column “%(column)s”: the columns are %(columns)s."), column=name,
                         columns=", ".join(COLUMNS))
            columns.append(None)
        else:
            columns.append(None)
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.add(1, N_("The column %(column)s is missing."), column=name)
    return columns


def parse_sites(data: bytes, fname: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """The file's columns and its (row number, fields) rows, checked; raises SiteImportError listing every
    problem."""
    problems = _Problems(fname)
    rows = _xlsx_rows(data, problems) if fname.lower().endswith(".xlsx") else _csv_rows(data, problems)
    if not rows and not problems.items:
        problems.add(0, N_("The file is empty: row 1 names the columns (%(columns)s)."), columns=", ".join(COLUMNS))
    if len(rows) > MAX_ROWS + 1:
        problems.add(0, N_("The file has more than %(n)d rows."), n=MAX_ROWS)
    if problems.items:
        raise SiteImportError(problems.items)
    columns = _header(rows[0], problems)
    if problems.items:  # without the right headings every row would be wrong: say what to fix first
        raise SiteImportError(problems.items)
    present = [c for c in columns if c]
    seen: dict[str, int] = {}
    parsed = []
    for number, cells in enumerate(rows[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue  # blank lines at the end of a sheet
        if len(cells) > len(columns) and any(c not in (None, "") for c in cells[len(columns):]):
            problems.add(number, N_("The row has more cells than there are columns."))
        fields = {name: _cell_text(value, number, name, problems)
                  for name, value in zip(columns, cells) if name}
        fields.update({name: "" for name in present if name not in fields})
        code = fields["code"].upper()
        if not code:
            problems.add(number, N_("The code is missing."))
        elif not CODE_RE.match(code):
            problems.add(number, N_("The code “%(code)s” may have only letters, digits, - and _."), code=code)
        elif code in seen:
            problems.add(number, N_("The code %(code)s is also on row %(row)d."), code=code, row=seen[code])
        else:
            seen[code] = number
        if not fields["name"]:
            problems.add(number, N_("The name is missing."))
        kind = fields["kind"].casefold()
        if kind not in SITE_KINDS:
            problems.add(number, N_("Unknown kind “%(kind)s”: use school or clinic."), kind=fields["kind"])
        fields.update(code=code, kind=kind)
        parsed.append((number, fields))
    if not parsed and not problems.items:
        problems.add(0, N_("The file has no sites below its headings."))
    if problems.items:
        raise SiteImportError(problems.items)
    return present, parsed


def import_sites(path: str | Path, user=None) -> ImportResult:
    """Check the whole file, then create and update its sites (flushed, not committed: the caller commits
    once, or rolls back). Raises SiteImportError, having changed nothing, when any row is bad."""
    path = Path(path)
    columns, rows = parse_sites(path.read_bytes(), path.name)
    codes = [fields["code"] for _number, fields in rows]
    existing: dict[str, Site] = {}
    for start in range(0, len(codes), _LOOKUP_CHUNK):
        chunk = codes[start:start + _LOOKUP_CHUNK]
        existing.update((s.code, s) for s in db.session.scalars(select(Site).where(Site.code.in_(chunk))))
    created = updated = unchanged = 0
    for _number, fields in rows:
        data = {name: (fields[name] or None) for name in columns if name != "code"}
        site = existing.get(fields["code"])
        if site is None:
            create_site({"code": fields["code"], **data}, user)
            created += 1
        elif update_site(site, data, user):
            updated += 1
        else:
            unchanged += 1
    db.session.flush()
    return ImportResult(created, updated, unchanged)
