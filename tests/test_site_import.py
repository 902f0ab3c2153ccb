"""`flask sites import FILE`: CSV (UTF-8, BOM allowed) and XLSX files create and update sites by code;
every bad row is reported as file:row: problem and then nothing changes (both databases)."""
from __future__ import annotations

import unicodedata

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from fivs.events.models import Event
from fivs.sites.models import Site
from tests.factories import make_site

HEAD = "code,name,kind,province,commune,former_district\n"
NFD_NAME = unicodedata.normalize("NFD", "Trường Tiểu học Hoà Sơn")


@pytest.fixture
def english(monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def run(app, path):
    return app.test_cli_runner().invoke(args=["sites", "import", str(path)])


def write_xlsx(path, rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def sites_by_code(db) -> dict[str, Site]:
    db.session.expire_all()
    return {s.code: s for s in db.session.scalars(select(Site))}


def test_csv_with_bom_creates_and_updates_by_code_nfc(app, db, tmp_path, english):
    make_site(code="TH-SONDONG", name="Trường cũ", former_district="Sơn Động")
    db.session.commit()
    path = tmp_path / "sites.csv"
    path.write_bytes(("\ufeff" + HEAD
                      + "TH-SONDONG,Trường Tiểu học An Lập,school,Bắc Ninh,xã Sơn Động,Sơn Động\n"
                      + f"th-new-1,{NFD_NAME},School,Bắc Ninh,,\n"
                      + "PK-NEW,Trạm Y tế xã An Lạc,clinic,Bắc Ninh,xã An Lạc,\n"
                      + ",,,,,\n").encode("utf-8"))

    result = run(app, path)

    assert result.exit_code == 0, result.output + result.stderr
    assert "sites: 2 created, 1 updated, 0 unchanged" in result.output
    sites = sites_by_code(db)
    assert sites["TH-SONDONG"].name == "Trường Tiểu học An Lập"
    assert sites["TH-SONDONG"].commune == "xã Sơn Động" and sites["TH-SONDONG"].former_district == "Sơn Động"
    new = sites["TH-NEW-1"]
    assert new.name == unicodedata.normalize("NFC", NFD_NAME) and new.kind == "school"
    assert new.commune is None and new.former_district is None and new.province == "Bắc Ninh"
    assert sites["PK-NEW"].kind == "clinic"
    # the changes are in the event log like an admin's edits
    actions = set(db.session.scalars(select(Event.action).where(Event.target.in_(["TH-SONDONG", "PK-NEW"]))))
    assert actions == {"site.update", "site.create"}

    again = run(app, path)
    assert again.exit_code == 0 and "sites: 0 created, 0 updated, 3 unchanged" in again.output


def test_csv_with_only_some_columns_leaves_the_others(app, db, tmp_path, english):
    make_site(code="S-KEEP", name="Trường cũ", former_district="Lục Nam")
    db.session.commit()
    path = tmp_path / "names.csv"
    path.write_text("Code,Name,Kind\nS-KEEP,Trường mới,school\n", encoding="utf-8")
    assert run(app, path).exit_code == 0
    site = sites_by_code(db)["S-KEEP"]
    assert site.name == "Trường mới" and site.former_district == "Lục Nam" and site.province == "Bắc Ninh"


def test_bad_csv_reports_every_bad_row_and_changes_nothing(app, db, tmp_path, english):
    make_site(code="S-OLD", name="Trường cũ")
    db.session.commit()
    before = db.session.scalar(select(func.count(Site.id)))
    path = tmp_path / "bad.csv"
    path.write_text(HEAD
                    + "S-GOOD,Trường tốt,school,Bắc Ninh,,\n"      # 2: good, yet not imported
                    + ",Không mã,school,,,\n"                        # 3: no code
                    + "S-HOSP,Bệnh viện,hospital,,,\n"               # 4: unknown kind
                    + "S-GOOD,Trùng mã,clinic,,,\n"                  # 5: duplicate of row 2
                    + "S-CTRL,Trường\x07 lạ,school,,,\n"             # 6: control character
                    + "S OLD,Trường cũ,school,,,\n"                  # 7: space in the code
                    + "S-NONAME,,school,,,\n"                        # 8: no name
                    + "S-OLD,Trường cũ đổi tên,school,," + "x" * 121 + ",\n",  # 9: commune too long
                    encoding="utf-8")

    result = run(app, path)

    assert result.exit_code == 1
    err = result.stderr
    assert "bad.csv:3: The code is missing." in err
    assert "bad.csv:4: Unknown kind “hospital”: use school or clinic." in err
    assert "bad.csv:5: The code S-GOOD is also on row 2." in err
    assert "bad.csv:6: name contains control characters (not text)." in err
    assert "bad.csv:7: The code “S OLD” may have only letters, digits, - and _." in err
    assert "bad.csv:8: The name is missing." in err
    assert "bad.csv:9: commune is longer than 120 characters." in err
    assert "bad.csv:2:" not in err
    assert "nothing was imported; problems found: 7." in err
    sites = sites_by_code(db)
    assert len(sites) == before and "S-GOOD" not in sites and sites["S-OLD"].name == "Trường cũ"


@pytest.mark.parametrize("content, message", [
    ("code,name\nS1,Trường\n".encode(), "bad.csv:1: The column kind is missing."),
    ("code,name,kind,comune\nS1,Trường,school,x\n".encode(), "bad.csv:1: Unknown column “comune”"),
    ("code,name,kind\nS1,Hòa,school\n".encode("cp1252"), "bad.csv: The file is not UTF-8 text"),
    (b"", "bad.csv: The file is empty"),
    (b"code,name,kind\n", "bad.csv: The file has no sites below its headings."),
])
def test_bad_csv_file_shapes_are_refused(app, db, tmp_path, english, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = run(app, path)
    assert result.exit_code == 1 and message in result.stderr
    assert db.session.scalar(select(func.count(Site.id))) == 0


def test_xlsx_good_and_bad(app, db, tmp_path, english):
    good = write_xlsx(tmp_path / "sites.xlsx", [
        ["code", "name", "kind", "province", "commune", "former_district"],
        ["TH-01", "Trường Tiểu học Đồng Phúc", "school", "Bắc Ninh", "xã Đồng Phúc", "Yên Dũng"],
        [1234, NFD_NAME, "clinic", "Bắc Ninh", None, None],
        [None, None, None, None, None, None],
    ])
    result = run(app, good)
    assert result.exit_code == 0, result.stderr
    assert "sites: 2 created, 0 updated, 0 unchanged" in result.output
    sites = sites_by_code(db)
    assert sites["TH-01"].former_district == "Yên Dũng" and sites["TH-01"].commune == "xã Đồng Phúc"
    assert sites["1234"].name == unicodedata.normalize("NFC", NFD_NAME)  # a number cell read as its digits

    bad = write_xlsx(tmp_path / "bad.xlsx", [
        ["code", "name", "kind", "province", "commune", "former_district"],
        ["TH-01", "Tên mới", "school", "Bắc Ninh", None, None],
        ["TH-02", "Trường", "trường", None, None, None],
        ["TH-03", "Trường", "school", True, None, None],
        ["TH-01", "Lặp", "school", None, None, None],
    ])
    result = run(app, bad)
    assert result.exit_code == 1
    assert "bad.xlsx:3: Unknown kind “trường”: use school or clinic." in result.stderr
    assert "bad.xlsx:4: “True” in province is not text." in result.stderr
    assert "bad.xlsx:5: The code TH-01 is also on row 2." in result.stderr
    assert sites_by_code(db)["TH-01"].name == "Trường Tiểu học Đồng Phúc"  # row 2 was good, still not applied


def test_not_a_workbook_is_refused(app, db, tmp_path, english):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"code,name,kind\n")
    result = run(app, path)
    assert result.exit_code == 1 and "fake.xlsx: The file is not an XLSX workbook" in result.stderr


def test_import_speaks_vietnamese_under_a_vietnamese_locale(app, db, tmp_path, monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "vi_VN.UTF-8")
    path = tmp_path / "bad.csv"
    path.write_text(HEAD + "S1,Trường,hospital,,,\n", encoding="utf-8")
    result = run(app, path)
    assert result.exit_code == 1
    assert "bad.csv:2: Loại không rõ “hospital”: dùng school hoặc clinic." in result.stderr
    path.write_text(HEAD + "S1,Trường,school,,,\n", encoding="utf-8")
    result = run(app, path)
    assert result.exit_code == 0 and "cơ sở: tạo mới 1, cập nhật 0, không đổi 0" in result.output
