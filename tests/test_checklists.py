from __future__ import annotations

import textwrap
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select

from fivs.checklists.loader import ChecklistError, load_template, parse_file
from fivs.checklists.models import S_CATEGORIES, ChecklistTemplate
from tests.factories import make_audit, make_site, make_user

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "checklists").glob("*.yaml"))

VALID = textwrap.dedent("""\
    key: test-5s
    version: 1
    site_kind: school
    title: {vi: "Bảng kiểm thử", en: "Test checklist"}
    scale:
      - {level: 0, anchor: {vi: "Rất kém", en: "Very poor"}}
      - {level: 1, anchor: {vi: "Kém", en: "Poor"}}
      - {level: 2, anchor: {vi: "Trung bình", en: "Fair"}}
      - {level: 3, anchor: {vi: "Khá", en: "Good"}}
      - {level: 4, anchor: {vi: "Tốt", en: "Very good"}}
    zones:
      - code: room
        name: {vi: "Phòng học", en: "Classroom"}
        repeats: true
        items:
          - code: R-1
            s: seiri
            text: {vi: "Không có đồ hỏng", en: "No broken furniture"}
            guidance: {vi: "Nhìn gầm bàn", en: "Look under desks"}
          - code: R-2
            s: seiton
            text: {vi: "Đồ dùng có nhãn", en: "Aids are labelled"}
            na_allowed: true
    """)


def write(tmp_path, text: str, name="t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_checklists_are_valid_and_complete(path):
    parsed = parse_file(path)
    assert len(parsed.zones) >= 7
    codes = [i["code"] for z in parsed.zones for i in z["items"]]
    assert len(codes) == len(set(codes))
    for zone in parsed.zones:
        for s in S_CATEGORIES:
            assert sum(i["s"] == s for i in zone["items"]) >= 2, (zone["code"], s)
        for item in zone["items"]:
            for lang in ("vi", "en"):
                assert item["text"][lang] and unicodedata.is_normalized("NFC", item["text"][lang])
    assert [lvl["level"] for lvl in parsed.scale] == [0, 1, 2, 3, 4]


def test_shipped_school_checklist_has_repeating_classroom():
    parsed = parse_file(ROOT / "checklists" / "school-5s.v1.yaml")
    assert any(z["repeats"] for z in parsed.zones)
    assert parsed.site_kind == "school"
    assert parse_file(ROOT / "checklists" / "clinic-5s.v1.yaml").site_kind == "clinic"


def test_valid_file_parses(tmp_path):
    parsed = parse_file(write(tmp_path, VALID))
    assert parsed.key == "test-5s" and len(parsed.zones[0]["items"]) == 2


BROKEN = [
    ("unknown_s", ("s: seiton", "s: seisou"), 21, "unknown S 'seisou'"),
    ("duplicate_item", ("code: R-2", "code: R-1"), 20, "duplicate item code 'R-1' (first used on line 16)"),
    ("missing_translation", ('en: "Aids are labelled"', 'fr: "x"'), 22, "missing translation 'en' for 'text'"),
    ("scale_gap", ("level: 3,", "level: 7,"), 9, "bad scale: level 7 where 3 was expected"),
    ("scale_short", ('  - {level: 4, anchor: {vi: "Tốt", en: "Very good"}}\n', ""), 5, "bad scale: it must list exactly 5 levels"),
    ("bad_kind", ("site_kind: school", "site_kind: factory"), 3, "unknown site_kind 'factory'"),
    ("bad_version", ("version: 1", "version: one"), 2, "version must be a whole number"),
    ("yaml_syntax", ("title: {vi:", "title: {vi: [oops"), 4, "YAML syntax error"),
    ("missing_zones", (VALID[VALID.index("zones:"):], ""), 1, "missing top-level 'zones'"),
    ("duplicate_zone", ("zones:\n", "zones:\n  - code: room\n    name: {vi: \"A\", en: \"A\"}\n    items:\n      - {code: X-1, s: seiri, text: {vi: \"a\", en: \"a\"}}\n"), 16, "duplicate zone code 'room'"),
    ("bad_na", ("na_allowed: true", "na_allowed: maybe"), 23, "na_allowed must be true or false"),
    ("unknown_key", ("repeats: true", "repeats: true\n    colour: red"), 15, "unknown key 'colour'"),
]


@pytest.mark.parametrize("case,edit,line,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_reports_file_line_and_message(tmp_path, case, edit, line, message):
    old, new = edit
    assert old in VALID, case
    path = write(tmp_path, VALID.replace(old, new, 1), f"{case}.yaml")
    with pytest.raises(ChecklistError) as info:
        parse_file(path)
    rendered = [str(p) for p in info.value.problems]
    assert any(r.startswith(f"{path}:") and message in r for r in rendered), rendered
    assert any(p.line == line and message in p.message for p in info.value.problems), rendered


def test_cli_validate_prints_problems_and_fails(app, tmp_path):
    bad = write(tmp_path, VALID.replace("s: seiton", "s: seisou"), "bad.yaml")
    result = app.test_cli_runner().invoke(args=["checklists", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:21: item 'R-2': unknown S 'seisou'" in result.output
    ok = app.test_cli_runner().invoke(args=["checklists", "validate"])
    assert ok.exit_code == 0, ok.output


def test_loading_is_idempotent(app, db, tmp_path):
    path = write(tmp_path, VALID)
    assert load_template(parse_file(path)).action == "created"
    db.session.commit()
    assert load_template(parse_file(path)).action == "unchanged"
    assert len(db.session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.key == "test-5s")).all()) == 1


def test_unused_version_may_change_but_used_version_is_immutable(app, db, tmp_path):
    path = write(tmp_path, VALID)
    template = load_template(parse_file(path)).template
    db.session.commit()
    changed = write(tmp_path, VALID.replace("No broken furniture", "No broken chairs"))
    assert load_template(parse_file(changed)).action == "updated"
    db.session.commit()
    site = make_site()
    make_audit(site, make_user("consultant", site=site), rooms=())
    audit = db.session.scalars(select(ChecklistTemplate)).all()
    from fivs.audits.models import Audit

    a = db.session.scalar(select(Audit))
    a.template_id = template.id
    db.session.commit()
    again = write(tmp_path, VALID.replace("No broken furniture", "No broken tables"))
    with pytest.raises(ChecklistError, match="used by 1 audit"):
        load_template(parse_file(again))
