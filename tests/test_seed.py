from __future__ import annotations

import unicodedata

from sqlalchemy import func, select

from fivs.checklists.models import ChecklistTemplate
from fivs.sites.models import Site
from fivs.text import fold

DISTRICTS = ["Thành phố Bắc Giang", "Hiệp Hòa", "Lạng Giang", "Lục Nam", "Lục Ngạn", "Sơn Động",
             "Tân Yên", "Việt Yên", "Yên Dũng", "Yên Thế"]


def test_seed_twice_gives_12_sites_and_both_templates(app, db):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["seed"])
        assert result.exit_code == 0, result.output
    sites = db.session.scalars(select(Site)).all()
    assert len(sites) == 12
    schools = [s for s in sites if s.kind == "school"]
    assert len(schools) == 10 and sum(s.kind == "clinic" for s in sites) == 2
    # the pilot's ten districts as they were in 2023, in Bắc Giang, now (2025) in Bắc Ninh
    assert sorted(fold(s.former_district) for s in schools) == sorted(fold(d) for d in DISTRICTS)
    for s in sites:
        assert unicodedata.is_normalized("NFC", s.name)
        assert s.province == "Bắc Ninh" and s.former_province == "Bắc Giang" and s.commune is None
    keys = set(db.session.scalars(select(ChecklistTemplate.key)))
    assert keys == {"school-5s", "clinic-5s"}
    assert "unchanged" in result.output


def test_seed_keeps_admin_edits(app, db):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed"])
    site = db.session.scalar(select(Site).where(Site.code == "TH-SONDONG"))
    site.name = "Trường Tiểu học An Lập"
    db.session.commit()
    runner.invoke(args=["seed"])
    db.session.expire_all()
    assert db.session.get(Site, site.id).name == "Trường Tiểu học An Lập"


def test_seed_demo_creates_working_accounts(app, db, client):
    from fivs.sites.pilot import DEMO_PASSWORD
    from tests.conftest import login

    result = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    again = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert again.exit_code == 0
    for username in ("admin", "reviewer", "consultant", "principal", "staff"):
        resp = login(client, username, DEMO_PASSWORD)
        assert resp.status_code == 302, username
        client.form_post("/auth/logout")


def test_fold_compares_tone_mark_spellings():
    assert fold("Hiệp Hòa") == fold("Hiệp Hoà") == fold("HIỆP  HOÀ")
    assert fold("Thủy") == fold("Thuỷ")
    assert fold("Hòa") != fold("Hoa")
