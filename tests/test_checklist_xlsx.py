"""Checklists as XLSX workbooks: export, round trips through YAML and XLSX, and broken workbooks
(each reported as file:sheet:row: problem, with nothing loaded) through the CLI."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fivs.checklists.content import template_content
from fivs.checklists.loader import ChecklistError, dump_yaml, parse_file
from fivs.checklists.models import ChecklistTemplate
from fivs.checklists.xlsx import MAX_BYTES, parse_workbook, write_workbook
from tests.test_checklists import VALID

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "checklists").glob("*.yaml"))

# tests/test_checklists.py's checklist with rooms named by example and a second zone, audited once.
BASE = (VALID.replace("key: test-5s", "key: sheet-5s")
        .replace("    repeats: true\n", '    repeats: true\n    room_examples: "Lớp 1A, Lớp 2B"\n')
        + '  - code: office\n    name: {vi: "Văn phòng", en: "Office"}\n    items:\n'
          '      - {code: O-1, s: seiso, text: {vi: "Sàn sạch", en: "The floor is clean"}}\n')


@pytest.fixture
def base(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(BASE, encoding="utf-8")
    return parse_file(path)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["checklists", *map(str, args)])


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_export_then_load_gives_the_same_template(app, db, tmp_path, path):
    """The pilot checklists, exported from the database as XLSX and loaded again: the same content."""
    source = parse_file(path)
    template = db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.key == source.key, ChecklistTemplate.version == source.version))
    out = tmp_path / f"{source.key}.xlsx"
    result = cli(app, "export", source.key, source.version, "--format", "xlsx", "-o", out)
    assert result.exit_code == 0, result.output
    exported = parse_file(out)
    assert exported.content_hash == template.content_hash == source.content_hash
    assert (exported.title, exported.scale, exported.zones) == (source.title, source.scale, source.zones)
    assert template_content(template).content_hash == template.content_hash
    loaded = cli(app, "load", out)
    assert loaded.exit_code == 0, loaded.output
    assert f"checklist {source.key} v{source.version}: unchanged" in loaded.output


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_yaml_to_xlsx_to_yaml_gives_back_the_file(path):
    source = parse_file(path)
    again = parse_workbook(write_workbook(source), "again.xlsx")
    assert again.content_hash == source.content_hash
    assert dump_yaml(again) == path.read_text(encoding="utf-8")


def test_room_examples_and_half_guidance_survive_both_forms(base, tmp_path):
    base.zones[1]["items"][0]["guidance"] = {"vi": "Chỉ có tiếng Việt", "en": ""}
    workbook = parse_workbook(write_workbook(base), "b.xlsx")
    assert workbook.zones[0]["room_examples"] == "Lớp 1A, Lớp 2B"
    assert workbook.zones == base.zones
    yaml_path = tmp_path / "again.yaml"
    yaml_path.write_text(dump_yaml(workbook), encoding="utf-8")
    assert parse_file(yaml_path).content_hash == workbook.content_hash


def test_cli_export_yaml_writes_the_reviewed_file(app, db, tmp_path):
    out = tmp_path / "school.yaml"
    assert cli(app, "export", "school-5s", 1, "--format", "yaml", "-o", out).exit_code == 0
    assert out.read_text(encoding="utf-8") == (ROOT / "checklists" / "school-5s.v1.yaml").read_text(encoding="utf-8")
    again = cli(app, "export", "school-5s", 1, "--format", "yaml", "-o", out)
    assert again.exit_code == 1 and "exists (use --force" in again.output
    missing = cli(app, "export", "school-5s", 9, "-o", tmp_path / "nine.xlsx")
    assert missing.exit_code == 1 and "no checklist school-5s version 9" in missing.output


def test_a_text_that_starts_with_an_equals_sign_stays_text(base):
    base.zones[0]["items"][0]["text"]["en"] = "=5S is a habit"
    assert parse_workbook(write_workbook(base), "t.xlsx").zones[0]["items"][0]["text"]["en"] == "=5S is a habit"


def test_the_workbook_offers_drop_down_lists(base):
    book = load_workbook(io.BytesIO(write_workbook(base)))
    assert book.sheetnames == ["settings", "scale", "zones", "items", "help"]
    lists = {dv.formula1 for dv in book["items"].data_validations.dataValidation}
    assert '"seiri,seiton,seiso,seiketsu,shitsuke"' in lists and any("zones!" in f for f in lists)


def test_cli_validate_and_load_accept_xlsx(app, db, base, tmp_path):
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(write_workbook(base))
    ok = cli(app, "validate", path)
    assert ok.exit_code == 0 and "ok (sheet-5s v1, 2 zones, 3 items)" in ok.output
    assert "checklist sheet-5s v1: created" in cli(app, "load", path).output
    assert db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.key == "sheet-5s")).zones[0] \
        .room_examples == "Lớp 1A, Lớp 2B"


# ---------------------------------------------------------------- broken workbooks
def _set(sheet_name: str, row: int, column: str, value):
    def edit(book):
        sheet = book[sheet_name]
        index = [c.value for c in sheet[1]].index(column) + 1
        sheet.cell(row=row, column=index).value = value  # (cell(value=None) would leave it as it was)
    return edit


def _delete_row(sheet_name: str, row: int):
    return lambda book: book[sheet_name].delete_rows(row)


def _delete_column(sheet_name: str, column: str):
    def edit(book):
        sheet = book[sheet_name]
        sheet.delete_cols([c.value for c in sheet[1]].index(column) + 1)
    return edit


def _both(*edits):
    def edit(book):
        for e in edits:
            e(book)
    return edit


def _append(sheet_name: str, values: list):
    return lambda book: book[sheet_name].append(values)


# case -> (edit of the workbook, where (sheet:row, or the sheet alone), the problem)
BROKEN = {
    "unknown_s": (_set("items", 3, "s", "seisou"), "items:3", "Unknown S “seisou”: use seiri, seiton, seiso, "
                                                               "seiketsu, shitsuke."),
    "duplicate_item_code": (_set("items", 3, "code", "R-1"), "items:3",
                            "Item code “R-1” appears twice (first on row 2)."),
    "duplicate_zone_code": (_both(_set("zones", 3, "code", "room"), _set("items", 4, "zone", "room")), "zones:3",
                            "Zone code “room” appears twice (first on row 2)."),
    "zone_missing": (_set("items", 4, "zone", "kitchen"), "items:4", "Zone “kitchen” is not in the zones sheet."),
    "zone_without_items": (_append("zones", ["store", "Kho", "Store room", "no"]), "zones:4",
                           "Zone “store” has no items in the items sheet."),
    "empty_vietnamese_text": (_set("items", 2, "text_vi", None), "items:2", "Empty Vietnamese text in text_vi."),
    "blank_vietnamese_name": (_set("zones", 3, "name_vi", "   "), "zones:3", "Empty Vietnamese text in name_vi."),
    "empty_english_title": (_set("settings", 2, "title_en", ""), "settings:2", "Empty English text in title_en."),
    "english_guidance_without_vietnamese": (_set("items", 2, "guidance_vi", None), "items:2",
                                            "Empty Vietnamese text in guidance_vi."),
    "level_missing": (_delete_row("scale", 5), "scale:1", "Level 3 is missing: the scale needs levels 0 to 4."),
    "level_twice": (_set("scale", 5, "level", 2), "scale:5", "Level 2 appears twice (first on row 4)."),
    "level_out_of_range": (_set("scale", 6, "level", 5), "scale:6", "Level “5” is not one of 0, 1, 2, 3, 4."),
    "formula": (_set("items", 2, "text_en", "=A1&\"x\""), "items:2", "Cell E2 holds a formula: type the value itself."),
    "missing_sheet": (lambda book: book.remove(book["zones"]), "zones", "The workbook has no sheet “zones”."),
    "unknown_sheet": (lambda book: book.create_sheet("notes"), "notes",
                      "Unknown sheet “notes”: a checklist has the sheets settings, scale, zones and items."),
    "missing_column": (_delete_column("items", "text_en"), "items:1", "Missing column “text_en”."),
    "unknown_column": (lambda book: book["items"].cell(row=1, column=9, value="colour"), "items:1",
                       "Unknown column “colour”."),
    "bad_repeats": (_set("zones", 2, "repeats", "maybe"), "zones:2", "“maybe” in repeats: write yes or no."),
    "room_examples_on_a_zone_audited_once": (_set("zones", 3, "room_examples", "Phòng 1"), "zones:3",
                                             "Room examples are only for a zone that repeats."),
    "bad_na_allowed": (_set("items", 3, "na_allowed", "sometimes"), "items:3",
                       "“sometimes” in na_allowed: write yes or no."),
    "bad_item_code": (_set("items", 2, "code", "R 1"), "items:2",
                      "Missing or bad code “R 1” in code: use up to 64 letters, digits, “-”, “_” or “.”."),
    "bad_version": (_set("settings", 2, "version", "one"), "settings:2", "The version must be a whole number, 1 or more."),
    "bad_kind": (_set("settings", 2, "kind", "factory"), "settings:2", "Unknown kind “factory”: use school or clinic."),
    "bad_key": (_set("settings", 2, "key", "bảng kiểm"), "settings:2",
                "The key must be a short code of letters, digits, “-”, “_” or “.”."),
    "two_settings_rows": (_append("settings", ["other", 2, "school", "Khác", "Other"]), "settings:3",
                          "The settings sheet needs exactly one row of values under its headings."),
    "date_as_text": (_set("items", 2, "text_en", datetime(2023, 5, 1)), "items:2",
                     "“2023-05-01 00:00:00” in text_en is not text."),
    "title_too_long": (_set("settings", 2, "title_vi", "Bảng " * 60), "settings:2",
                       "title_vi is longer than 200 characters."),
}


def _broken_bytes(base, edit) -> bytes:
    book = load_workbook(io.BytesIO(write_workbook(base)))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_workbook_reports_sheet_row_and_loads_nothing(app, db, base, tmp_path, case):
    edit, where, message = BROKEN[case]
    path = tmp_path / f"{case}.xlsx"
    path.write_bytes(_broken_bytes(base, edit))
    with pytest.raises(ChecklistError) as info:
        parse_file(path)
    assert any(p.where == where and p.message == message for p in info.value.problems), \
        [str(p) for p in info.value.problems]
    good = tmp_path / "good.yaml"  # loaded with it, and not loaded either
    good.write_text(BASE.replace("key: sheet-5s", "key: other-5s"), encoding="utf-8")
    result = cli(app, "load", good, path)
    assert result.exit_code == 1
    assert f"{path}:{where}: {message}" in result.output
    assert db.session.scalars(select(ChecklistTemplate.key).where(
        ChecklistTemplate.key.in_(["sheet-5s", "other-5s"]))).all() == []
    assert cli(app, "validate", path).exit_code == 1


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def with_member(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {m: archive.read(m) for m in archive.namelist()}
    return _zip({**members, name: content})


# case -> (bytes of the file, the problem)
FILES = {
    "jpeg": (lambda b: b"\xff\xd8\xff\xe0" + b"0" * 400, "The file is not an XLSX workbook: save it from Excel or "
                                                          "LibreOffice as .xlsx."),
    "docx_like_zip": (lambda b: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
                      "The file is not an XLSX workbook: save it from Excel or LibreOffice as .xlsx."),
    "broken_xml": (lambda b: with_member(b, "xl/workbook.xml", b"<workbook"),
                   "The file is not an XLSX workbook: save it from Excel or LibreOffice as .xlsx."),
    "macros": (lambda b: with_member(b, "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
               "The file contains macros: save it as a plain .xlsx workbook, without macros."),
    "too_big": (lambda b: b + b"\0" * MAX_BYTES, "The file is too large: a checklist workbook is at most 2048 KB."),
    "zip_bomb": (lambda b: with_member(b, "xl/media/filler.bin", b"\0" * (41 * 1024 * 1024)),
                 "The workbook is too large once unpacked (at most 40 MB)."),
}


@pytest.mark.parametrize("case", FILES, ids=list(FILES))
def test_a_file_that_is_not_a_plain_workbook_is_refused(base, tmp_path, case):
    make, message = FILES[case]
    path = tmp_path / f"{case}.xlsx"
    path.write_bytes(make(write_workbook(base)))
    with pytest.raises(ChecklistError) as info:
        parse_file(path)
    assert [str(p) for p in info.value.problems] == [f"{path}: {message}"]


def test_every_problem_is_listed_at_once(base, tmp_path):
    path = tmp_path / "many.xlsx"
    path.write_bytes(_broken_bytes(base, _both(_set("items", 2, "s", "x"), _set("items", 3, "text_vi", None),
                                               _delete_row("scale", 2))))
    with pytest.raises(ChecklistError) as info:
        parse_file(path)
    assert {p.where for p in info.value.problems} >= {"items:2", "items:3", "scale:1"}
