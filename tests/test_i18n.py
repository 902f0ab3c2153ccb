"""Vietnamese first: every message in the code, and every built-in message of the libraries the pages
show (WTForms' validators, Flask-Login's flashes), has a Vietnamese translation in the catalogue."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import wtforms
from babel.messages.pofile import read_po
from flask_login import LoginManager

from fivs.formfields import WTFORMS_MESSAGES, FlaskForm
from fivs.i18n import LOGIN_MESSAGE, REFRESH_MESSAGE

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "fivs" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
WTFORMS_POT = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"


def _catalogue() -> dict:
    with PO.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale="vi") if m.id}


def _translated(string) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


def test_every_message_in_the_code_has_a_vietnamese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_l", "-k", "N_plural:1,2", "-o", str(pot), str(ROOT / "fivs")],
                   check=True, capture_output=True)
    with pot.open("rb") as fh:
        in_code = {m.id for m in read_po(fh) if m.id}
    translated = _catalogue()
    missing = sorted(str(i) for i in in_code if not _translated(translated.get(i)))
    assert not missing, f"untranslated (run `make messages`, translate them in messages.po): {missing[:20]}"


def test_wtforms_built_in_messages_are_in_the_catalogue_and_forms_use_it():
    """WTForms ships no Vietnamese: its own messages ("Not a valid date value.") are listed in
    fivs.formfields, so extraction puts them in our catalogue, and every form of the app uses it."""
    with WTFORMS_POT.open("rb") as fh:
        theirs = {m.id for m in read_po(fh) if m.id}
    assert set(WTFORMS_MESSAGES) == theirs, "fivs.formfields.WTFORMS_MESSAGES differs from WTForms' own list"
    catalogue = _catalogue()
    assert all(_translated(catalogue.get(m)) for m in theirs)
    import fivs.models  # noqa: F401  (every feature, and so every form, imported)
    from fivs import create_app

    create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    forms = _subclasses(FlaskForm.__mro__[1])
    outside = sorted(f"{f.__module__}.{f.__name__}" for f in forms
                     if f.__module__.startswith("fivs.") and not issubclass(f, FlaskForm))
    assert not outside, f"derive these from fivs.formfields.FlaskForm: {outside}"


def test_flask_login_messages_are_ours_and_translated(app):
    manager: LoginManager = app.login_manager
    assert (manager.login_message, manager.needs_refresh_message) == (LOGIN_MESSAGE, REFRESH_MESSAGE)
    assert manager.localize_callback is not None
    catalogue = _catalogue()
    assert catalogue[LOGIN_MESSAGE] and catalogue[REFRESH_MESSAGE]


def test_a_visitor_sent_to_the_login_page_reads_why_in_vietnamese(client):
    page = client.get("/sites/TH-SONDONG", follow_redirects=True).get_data(as_text=True)
    assert "Vui lòng đăng nhập để xem trang này." in page
    assert "Please log in" not in page


def test_a_wtforms_date_message_is_in_vietnamese(client, login_as, db):
    from tests.factories import make_site

    site = make_site()
    login_as("consultant", site=site)
    page = client.form_post(f"/sites/{site.code}/actions/new", {"title": "Dán nhãn", "due_date": "hôm qua",
                                                                  "priority": "medium"})
    assert page.status_code == 422
    assert "Ngày không hợp lệ." in page.get_data(as_text=True)
    assert "Not a valid date value." not in page.get_data(as_text=True)


def _subclasses(cls) -> set:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_the_command_line_speaks_the_language_of_its_environment(app, monkeypatch):
    """CLI output meant for people is in the catalogue: Vietnamese under a Vietnamese locale,
    English (the source) under C or English ones."""
    from fivs.sites.services import seed_pilot_sites  # noqa: F401  (what `seed` runs)

    monkeypatch.setenv("LANG", "vi_VN.UTF-8")
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    vi = app.test_cli_runner().invoke(args=["seed"])
    assert vi.exit_code == 0, vi.output
    assert "cơ sở: tạo mới 12, đã có 0" in vi.output
    assert "bảng kiểm school-5s v1: không đổi" in vi.output
    missing = app.test_cli_runner().invoke(args=["users", "token", "nobody"])
    assert missing.exit_code == 1 and "Lỗi: không có người dùng 'nobody'" in missing.output
    monkeypatch.setenv("LANG", "C.UTF-8")
    en = app.test_cli_runner().invoke(args=["seed"])
    assert "sites: 0 created, 12 already present" in en.output
