"""A checklist as an XLSX workbook, in the manner of ODK's XLSForm: one sheet per kind of row.

Sheets (headings in row 1, one row per entry; columns in any order):
  settings  key, version, kind, title_vi, title_en             (one row of values)
  scale     level, anchor_vi, anchor_en                        (levels 0 to 4)
  zones     code, name_vi, name_en, repeats, room_examples     (repeats: yes/no)
  items     code, zone, s, text_vi, text_en, guidance_vi, guidance_en, na_allowed
  help      how to fill in the others (written by the export, ignored when read)

Reading refuses anything that is not a plain workbook of values: not a zip of an XLSX, macros,
formulas, a file or sheet too large. Every problem is reported as sheet and row; nothing is
returned when there is one. `parse_workbook(write_workbook(p))` has the content of `p`.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from flask_babel import force_locale, gettext
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from fivs.checklists.content import (
    CODE_RE,
    LANGS,
    N_,
    NAME_MAX,
    ROOM_EXAMPLES_MAX,
    SITE_KINDS,
    ChecklistError,
    ParsedTemplate,
    Problem,
    clean_cell,
    with_hash,
)
from fivs.checklists.models import S_CATEGORIES

MAX_BYTES = 2 * 1024 * 1024       # the file as uploaded
MAX_UNPACKED = 40 * 1024 * 1024   # the zip's members, unpacked
MAX_ROWS = 2000                   # per sheet, below the headings
MAX_COLUMNS = 30
YES = ("yes", "y", "true", "1", "có", "co", "x")
NO = ("no", "n", "false", "0", "không", "khong", "")
MACRO_PARTS = ("xl/vbaProject.bin", "xl/macrosheets/", "xl/dialogsheets/")


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = True
    width: int = 14
    wrap: bool = False


SHEETS: dict[str, tuple[Column, ...]] = {
    "settings": (Column("key", width=16), Column("version", width=10), Column("kind", width=10),
                 Column("title_vi", width=44, wrap=True), Column("title_en", width=44, wrap=True)),
    "scale": (Column("level", width=8), Column("anchor_vi", width=50, wrap=True),
              Column("anchor_en", width=50, wrap=True)),
    "zones": (Column("code", width=20), Column("name_vi", width=32, wrap=True), Column("name_en", width=32, wrap=True),
              Column("repeats", required=False, width=10), Column("room_examples", required=False, width=28)),
    "items": (Column("code", width=13), Column("zone", width=18), Column("s", width=11),
              Column("text_vi", width=50, wrap=True), Column("text_en", width=50, wrap=True),
              Column("guidance_vi", required=False, width=50, wrap=True),
              Column("guidance_en", required=False, width=50, wrap=True),
              Column("na_allowed", required=False, width=11)),
}
HELP_SHEET = "help"


# ---------------------------------------------------------------- reading
@dataclass
class Row:
    sheet: str
    number: int
    values: dict


class _Reader:
    """Collects problems while the sheets are read into rows of plain values."""

    def __init__(self, fname: str):
        self.fname = fname
        self.problems: list[Problem] = []

    def add(self, sheet: str, row: int, msgid: str, /, **params) -> None:
        self.problems.append(Problem.of(self.fname, sheet, row, msgid, **params))

    # ---- cells
    def text(self, row: Row, column: str, *, max_length: int | None = None) -> str:
        value = row.values.get(column)
        if value is None:
            return ""
        if isinstance(value, bool) or isinstance(value, (datetime, date, time)):
            self.add(row.sheet, row.number, N_("“%(value)s” in %(column)s is not text."),
                     value=str(value), column=column)
            return ""
        if isinstance(value, float):
            value = str(int(value)) if value.is_integer() else str(value)
        text = clean_cell(str(value))
        if max_length and len(text) > max_length:
            self.add(row.sheet, row.number, N_("%(column)s is longer than %(max)d characters."),
                     column=column, max=max_length)
        return text

    def pair(self, row: Row, prefix: str, *, required: bool = True, max_length: int | None = None) -> dict:
        pair = {lang: self.text(row, f"{prefix}_{lang}", max_length=max_length) for lang in LANGS}
        if required and not pair["vi"]:
            self.add(row.sheet, row.number, N_("Empty Vietnamese text in %(column)s."), column=f"{prefix}_vi")
        if required and not pair["en"]:
            self.add(row.sheet, row.number, N_("Empty English text in %(column)s."), column=f"{prefix}_en")
        if not required and pair["en"] and not pair["vi"]:
            self.add(row.sheet, row.number, N_("Empty Vietnamese text in %(column)s."), column=f"{prefix}_vi")
        return pair

    def code(self, row: Row, column: str = "code") -> str | None:
        code = self.text(row, column)
        if not CODE_RE.match(code):
            self.add(row.sheet, row.number,
                     N_("Missing or bad code “%(value)s” in %(column)s: use up to 64 letters, digits, “-”, “_” or “.”."),
                     value=code, column=column)
            return None
        return code

    def yes_no(self, row: Row, column: str) -> bool:
        value = row.values.get(column)
        if isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = "" if value is None else str(value).strip().casefold()
        if text in YES:
            return True
        if text not in NO:
            self.add(row.sheet, row.number, N_("“%(value)s” in %(column)s: write yes or no."),
                     value=str(value), column=column)
        return False

    def whole_number(self, row: Row, column: str) -> int | None:
        value = row.values.get(column)
        if isinstance(value, bool):
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())
        return None

    # ---- sheets
    def rows(self, sheet, name: str) -> list[Row]:
        """The rows of values of `sheet`, read as the sheet `name` of SHEETS."""
        columns = SHEETS[name]
        header_cells = next(sheet.iter_rows(min_row=1, max_row=1), ())
        headings: dict[int, str] = {}
        for index, cell in enumerate(header_cells):
            if self._formula(name, 1, cell):
                continue
            heading = clean_cell(str(cell.value)).casefold() if cell.value is not None else ""
            if not heading:
                continue
            if heading in headings.values():
                self.add(name, 1, N_("The column “%(column)s” appears twice."), column=heading)
            elif heading not in {c.name for c in columns}:
                self.add(name, 1, N_("Unknown column “%(column)s”."), column=heading)
            else:
                headings[index] = heading
        if not headings:
            self.add(name, 1, N_("The first row must name the columns: %(columns)s."),
                     columns=", ".join(c.name for c in columns))
            return []
        for column in columns:
            if column.required and column.name not in headings.values():
                self.add(name, 1, N_("Missing column “%(column)s”."), column=column.name)
        width = min(max(headings) + 1, MAX_COLUMNS)
        out = []
        for number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width), start=2):
            values = {}
            for index, cell in enumerate(cells):
                if cell.value is None or self._formula(name, number, cell):
                    continue
                if index in headings and not (isinstance(cell.value, str) and not cell.value.strip()):
                    values[headings[index]] = cell.value
            if not values:
                continue
            if number > MAX_ROWS + 1:
                self.add(name, number, N_("Too many rows: a sheet may have at most %(max)d."), max=MAX_ROWS)
                break
            out.append(Row(name, number, values))
        return out

    def _formula(self, sheet: str, row: int, cell) -> bool:
        if cell.data_type == "f":
            self.add(sheet, row, N_("Cell %(cell)s holds a formula: type the value itself."), cell=cell.coordinate)
            return True
        return False


def _open(data: bytes, fname: str):
    """The workbook, or ChecklistError when the bytes are not a plain, reasonably sized XLSX."""
    def refuse(msgid: str, **params):
        return ChecklistError([Problem.of(fname, "", 0, msgid, **params)])

    if len(data) > MAX_BYTES:
        raise refuse(N_("The file is too large: a checklist workbook is at most %(kb)d KB."), kb=MAX_BYTES // 1024)
    not_xlsx = N_("The file is not an XLSX workbook: save it from Excel or LibreOffice as .xlsx.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise refuse(not_xlsx) from exc
    names = {m.filename for m in members}
    if any(n == MACRO_PARTS[0] or n.startswith(MACRO_PARTS[1:]) for n in names):
        raise refuse(N_("The file contains macros: save it as a plain .xlsx workbook, without macros."))
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise refuse(not_xlsx)
    if sum(m.file_size for m in members) > MAX_UNPACKED:
        raise refuse(N_("The workbook is too large once unpacked (at most %(mb)d MB)."), mb=MAX_UNPACKED // 2 ** 20)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001 (any failure to read an untrusted file is the same refusal)
        raise refuse(not_xlsx) from exc


def parse_workbook(data: bytes, fname: str) -> ParsedTemplate:
    """Parse and validate a workbook; raises ChecklistError listing every problem (sheet:row)."""
    workbook = _open(data, fname)
    try:
        return _parse(workbook, fname)
    finally:
        workbook.close()


def _parse(workbook, fname: str) -> ParsedTemplate:
    reader = _Reader(fname)
    present = {name.strip().casefold(): name for name in workbook.sheetnames}
    for name in workbook.sheetnames:
        if name.strip().casefold() not in (*SHEETS, HELP_SHEET):
            reader.add(name, 0, N_("Unknown sheet “%(sheet)s”: a checklist has the sheets settings, scale, zones "
                                   "and items."), sheet=name)
    rows: dict[str, list[Row]] = {}
    for name in SHEETS:
        if name not in present:
            reader.add(name, 0, N_("The workbook has no sheet “%(sheet)s”."), sheet=name)
            rows[name] = []
        else:
            rows[name] = reader.rows(workbook[present[name]], name)
    settings = _settings(reader, rows["settings"])
    scale = _scale(reader, rows["scale"])
    zones = _zones(reader, rows["zones"])
    _items(reader, rows["items"], zones)
    for zone, row in zones.values():
        if not zone["items"]:
            reader.add("zones", row.number, N_("Zone “%(code)s” has no items in the items sheet."), code=zone["code"])
    if reader.problems:
        raise ChecklistError(reader.problems)
    return with_hash(ParsedTemplate(key=settings["key"], version=settings["version"], site_kind=settings["kind"],
                                    title=settings["title"], scale=scale, zones=[z for z, _ in zones.values()],
                                    content_hash="", source_file=fname.replace("\\", "/").rsplit("/", 1)[-1]))


def _settings(reader: _Reader, rows: list[Row]) -> dict:
    out = {"key": None, "version": None, "kind": None, "title": {"vi": "", "en": ""}}
    if len(rows) != 1:
        reader.add("settings", rows[1].number if len(rows) > 1 else 2,
                   N_("The settings sheet needs exactly one row of values under its headings."))
        if not rows:
            return out
    row = rows[0]
    key = reader.text(row, "key")
    if not CODE_RE.match(key):
        reader.add("settings", row.number, N_("The key must be a short code of letters, digits, “-”, “_” or “.”."))
    version = reader.whole_number(row, "version")
    if version is None or version < 1:
        reader.add("settings", row.number, N_("The version must be a whole number, 1 or more."))
    kind = reader.text(row, "kind").casefold()
    if kind not in SITE_KINDS:
        reader.add("settings", row.number, N_("Unknown kind “%(value)s”: use school or clinic."), value=kind)
    out.update(key=key, version=version, kind=kind, title=reader.pair(row, "title", max_length=NAME_MAX))
    return out


def _scale(reader: _Reader, rows: list[Row]) -> list[dict]:
    levels: dict[int, tuple[dict, Row]] = {}
    for row in rows:
        level = reader.whole_number(row, "level")
        anchor = reader.pair(row, "anchor")
        if level is None or not 0 <= level <= 4:
            reader.add("scale", row.number, N_("Level “%(value)s” is not one of 0, 1, 2, 3, 4."),
                       value=str(row.values.get("level", "")))
        elif level in levels:
            reader.add("scale", row.number, N_("Level %(level)d appears twice (first on row %(row)d)."),
                       level=level, row=levels[level][1].number)
        else:
            levels[level] = ({"level": level, "anchor_vi": anchor["vi"], "anchor_en": anchor["en"]}, row)
    for level in range(5):
        if level not in levels:
            reader.add("scale", 1, N_("Level %(level)d is missing: the scale needs levels 0 to 4."), level=level)
    return [levels[level][0] for level in sorted(levels)]


def _zones(reader: _Reader, rows: list[Row]) -> dict[str, tuple[dict, Row]]:
    zones: dict[str, tuple[dict, Row]] = {}
    for row in rows:
        code = reader.code(row)
        name = reader.pair(row, "name", max_length=NAME_MAX)
        repeats = reader.yes_no(row, "repeats")
        examples = reader.text(row, "room_examples", max_length=ROOM_EXAMPLES_MAX)
        if examples and not repeats:
            reader.add("zones", row.number, N_("Room examples are only for a zone that repeats."))
        if code is None:
            continue
        if code in zones:
            reader.add("zones", row.number, N_("Zone code “%(code)s” appears twice (first on row %(row)d)."),
                       code=code, row=zones[code][1].number)
            continue
        zones[code] = ({"code": code, "name": name, "repeats": repeats, "room_examples": examples, "items": []}, row)
    if not rows:
        reader.add("zones", 1, N_("The zones sheet lists no zones."))
    return zones


def _items(reader: _Reader, rows: list[Row], zones: dict[str, tuple[dict, Row]]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        code = reader.code(row)
        zone_code = reader.text(row, "zone")
        s = reader.text(row, "s").casefold()
        if s not in S_CATEGORIES:
            reader.add("items", row.number, N_("Unknown S “%(value)s”: use %(allowed)s."),
                       value=s, allowed=", ".join(S_CATEGORIES))
        item = {"code": code, "s": s, "text": reader.pair(row, "text"),
                "guidance": reader.pair(row, "guidance", required=False),
                "na_allowed": reader.yes_no(row, "na_allowed")}
        if code is not None and code in seen:
            reader.add("items", row.number, N_("Item code “%(code)s” appears twice (first on row %(row)d)."),
                       code=code, row=seen[code])
        elif code is not None:
            seen[code] = row.number
        if zone_code not in zones:
            reader.add("items", row.number, N_("Zone “%(zone)s” is not in the zones sheet."), zone=zone_code)
        else:
            zones[zone_code][0]["items"].append(item)
    if not rows:
        reader.add("items", 1, N_("The items sheet lists no items."))


# ---------------------------------------------------------------- writing
_HEADING_FONT = Font(bold=True, color="FFFFFF")
_HEADING_FILL = PatternFill("solid", fgColor="2F5D50")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")

# The help sheet: each line in Vietnamese and in English side by side (the catalogue translates it).
HELP = (
    N_("A 5S checklist as a spreadsheet"),
    "",
    N_("settings: one row — key (the checklist's code), version (its number), kind (school or clinic), "
        "title_vi, title_en (its title)."),
    N_("scale: the five levels 0 to 4, each with its description in Vietnamese (anchor_vi) and English "
        "(anchor_en)."),
    N_("zones: one row per zone — code, name_vi, name_en, repeats (yes when each room is audited, as "
        "classrooms), room_examples (how rooms are named, only for a zone that repeats)."),
    N_("items: one row per item — code (unique), zone (a zone's code), s (seiri, seiton, seiso, seiketsu, "
        "shitsuke), text_vi, text_en, guidance_vi, guidance_en (how to score it), na_allowed (yes when “Not "
        "applicable” may be chosen)."),
    "",
    N_("Type values only: no formulas, no macros. Keep an item's code when only its wording changes: "
        "comparisons between rounds match items by code."),
    N_("This “help” sheet is not read when the file is uploaded."),
)


def _put(sheet, row: int, column: int, value, *, wrap: bool = False) -> None:
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula
    cell.alignment = _WRAP if wrap else _TOP


def _table(workbook: Workbook, name: str, rows: list[tuple]) -> None:
    sheet = workbook.create_sheet(name)
    columns = SHEETS[name]
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.font, cell.fill = _HEADING_FONT, _HEADING_FILL
        sheet.column_dimensions[cell.column_letter].width = column.width
    for number, values in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(columns, values), start=1):
            _put(sheet, number, index, value, wrap=column.wrap)
    sheet.freeze_panes = "A2"


def _choices(sheet, column: str, formula: str) -> None:
    index = next(i for i, c in enumerate(SHEETS[sheet.title], start=1) if c.name == column)
    letter = sheet.cell(row=1, column=index).column_letter
    check = DataValidation(type="list", formula1=formula, allow_blank=True)
    check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    sheet.add_data_validation(check)


def write_workbook(parsed: ParsedTemplate) -> bytes:
    """The version as an XLSX workbook of the sheets above (values only, with drop-down lists)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    yes_no = lambda flag: "yes" if flag else "no"  # noqa: E731
    _table(workbook, "settings", [(parsed.key, parsed.version, parsed.site_kind,
                                   parsed.title["vi"], parsed.title["en"])])
    _table(workbook, "scale", [(s["level"], s["anchor_vi"], s["anchor_en"]) for s in parsed.scale])
    _table(workbook, "zones", [(z["code"], z["name"]["vi"], z["name"]["en"], yes_no(z["repeats"]),
                                z.get("room_examples") or None) for z in parsed.zones])
    _table(workbook, "items", [(i["code"], i["zone"], i["s"], i["text"]["vi"], i["text"]["en"],
                                i["guidance"]["vi"] or None, i["guidance"]["en"] or None, yes_no(i["na_allowed"]))
                               for i in parsed.items])
    _choices(workbook["settings"], "kind", '"' + ",".join(SITE_KINDS) + '"')
    _choices(workbook["zones"], "repeats", '"yes,no"')
    _choices(workbook["items"], "zone", f"zones!$A$2:$A${MAX_ROWS + 1}")
    _choices(workbook["items"], "s", '"' + ",".join(S_CATEGORIES) + '"')
    _choices(workbook["items"], "na_allowed", '"yes,no"')
    help_sheet = workbook.create_sheet(HELP_SHEET)
    with force_locale("vi"):
        vietnamese = [gettext(line) if line else "" for line in HELP]
    for number, (vi, en) in enumerate(zip(vietnamese, HELP), start=1):
        _put(help_sheet, number, 1, vi or None, wrap=True)
        _put(help_sheet, number, 2, en or None, wrap=True)
    help_sheet.column_dimensions["A"].width = help_sheet.column_dimensions["B"].width = 70
    help_sheet["A1"].font = help_sheet["B1"].font = Font(bold=True, size=13)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
