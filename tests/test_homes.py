"""Each role's home and the web comparison's photos: a principal's home is their site (score, change,
summary without statistics jargon, before/after photos, open actions) and nothing of another
site; staff see the same page without the sign-off links; reviewers land on the programme board;
the comparison page shows the most improved and weakest items with their photos and notes."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from fivs.actions.services import raise_action
from fivs.audits.services import save_answers, submit_audit
from fivs.calendar.services import seed_pilot_calendar
from fivs.home.services import _leaders
from fivs.photos.services import attach_photo
from tests.factories import answer_all, make_audit, make_site, make_user


@pytest.fixture
def world(db, media_root, photos_dir):
    seed_pilot_calendar()
    site, other = make_site(code="OWN", name="Trường Tiểu học Hữu Sản"), make_site(code="OTHER", name="Trường Tiểu học Xa Lạ")
    consultant = make_user("consultant")
    consultant.assigned_sites.extend([site, other])
    jpeg = (photos_dir / "orientation" / "Landscape_2.jpg").read_bytes()
    item = None
    for phase, score, day in (("baseline", 1, date(2023, 4, 20)), ("final", 3, date(2023, 11, 20))):
        audit = make_audit(site, consultant, phase=phase, audit_date=day)
        answer_all(audit, score)
        item = item or next(z for z in audit.template.zones if not z.repeats).items[0]
        save_answers(audit, consultant, [{"item": item.code, "score": score + 1 if phase == "final" else 0,
                                          "note": f"Ghi chú {phase}"}],
                     row_version=None)
        attach_photo(audit, consultant, jpeg, photo_uuid=uuid.uuid4(), item_code=item.code)
        submit_audit(audit, consultant)
    answer_all(make_audit(other, consultant, phase="baseline", status="submitted"), 2)
    raise_action(consultant, site, title="Dán nhãn kệ sách", responsible="Cô Mai", due_date=date(2023, 12, 1),
                 priority="high")
    raise_action(consultant, other, title="Việc của trường khác", responsible="Thầy B", due_date=date(2023, 12, 1),
                 priority="low")
    db.session.commit()
    return {"site": site, "other": other, "item": item}


def test_a_principals_home_is_their_site_and_nothing_else(client, login_as, world):
    login_as("principal", site=world["site"])
    html = client.get("/").get_data(as_text=True)
    assert "Trường Tiểu học Hữu Sản" in html and "big-score" in html
    assert "tăng" in html and "điểm so với đầu kỳ" in html
    assert "Dán nhãn kệ sách" in html and "Quá hạn" in html
    assert "Trường Tiểu học Xa Lạ" not in html and "Việc của trường khác" not in html
    assert world["item"].text_vi in html and html.count("/thumb") == 2  # the before/after pair
    assert "Ghi chú final" in html
    for jargon in ("W+", "KTC", "dz", "p ="):
        assert jargon not in html
    assert html.count("cần xác nhận") == 2  # each submitted consultant audit, to sign off


def test_staff_see_their_site_without_the_sign_off(client, login_as, world):
    login_as("staff", site=world["site"])
    html = client.get("/").get_data(as_text=True)
    assert "Trường Tiểu học Hữu Sản" in html and "Dán nhãn kệ sách" in html
    assert "cần xác nhận" not in html and "Trường Tiểu học Xa Lạ" not in html


def test_a_reviewers_home_is_the_board(client, login_as, world):
    login_as("reviewer")
    html = client.get("/").get_data(as_text=True)
    assert "Bảng theo dõi chương trình" in html
    headline = html[html.index('id="board-headline"'):html.index("</p>", html.index('id="board-headline"'))]
    assert "1/2 cơ sở đã hoàn thành cả hai đợt" in headline and "điểm trung bình tăng" in headline, headline
    assert html.count('class="badge badge-late"') == 1  # OTHER's final: closed, never audited


def test_the_web_comparison_shows_photo_pairs_and_notes_of_the_most_improved_and_weakest_items(client, login_as, world):
    login_as("reviewer")
    html = client.get("/sites/OWN/comparison").get_data(as_text=True)
    improved = html[html.index('id="improved-items"'):html.index("</ul>", html.index('id="improved-items"'))]
    first = improved.split('<li class="card highlight">')[1]
    assert world["item"].text_vi in first and first.count("/thumb") == 2  # its baseline beside its final
    assert "Ghi chú final" in first and "+100,0" in first  # 0 of 4 at baseline, 4 of 4 at the end
    weakest = html[html.index('id="weakest-items"'):html.index("</ul>", html.index('id="weakest-items"'))]
    assert weakest.count('<li class="card highlight">') == 5 and "75,0 %" in weakest  # the rest: 3 of 4
    assert world["item"].text_vi not in weakest
    assert html.index('id="pairs-h"') < html.index('id="weak-h"')


def test_the_summary_says_every_s_when_all_five_are_level_instead_of_naming_the_first(client, login_as, db):
    site = make_site(code="LEVEL", name="Trường Tiểu học Đều Nhau")
    consultant = make_user("consultant", assigned=[site])
    for phase, score, day in (("baseline", 2, date(2023, 4, 20)), ("final", 3, date(2023, 11, 20))):
        audit = make_audit(site, consultant, phase=phase, audit_date=day)
        answer_all(audit, score)
        submit_audit(audit, consultant)
    db.session.commit()
    login_as("principal", site=site)
    summary = client.get("/").get_data(as_text=True)
    summary = summary[summary.index('class="summary-points"'):summary.index("</ul>", summary.index('class="summary-points"'))]
    assert "Mọi S đều tăng 25,0 điểm." in summary  # 50 % → 75 % in each S
    assert "Mọi S ngang nhau, ở mức 75,0 %" in summary
    assert "Tiến bộ nhiều nhất" not in summary and "Cần cải thiện tiếp" not in summary


def test_the_summary_names_every_s_that_shares_the_top_rise():
    tied = _leaders({"seiri": 25.0, "seiton": 10.0, "seiso": 25.0 + 1e-12}, max)
    assert tied.keys == ("seiri", "seiso") and tied.value == pytest.approx(25.0) and not tied.every_s
    assert _leaders({s: 75.0 for s in ("seiri", "seiton", "seiso", "seiketsu", "shitsuke")}, min).every_s
    assert _leaders({}, max) is None


@pytest.mark.parametrize("state, shown", [("late", {"OTHER"}), ("incomplete", {"OTHER"}), ("complete", {"OWN"}),
                                          ("", {"OWN", "OTHER"})])
def test_the_board_shows_only_the_sites_in_the_state_asked_for(client, login_as, world, state, shown):
    login_as("reviewer")
    html = client.get(f"/?state={state}").get_data(as_text=True)
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    names = {"OWN": "Trường Tiểu học Hữu Sản", "OTHER": "Trường Tiểu học Xa Lạ"}
    assert {code for code, name in names.items() if name in body} == shown
    assert "1/2 cơ sở đã hoàn thành cả hai đợt" in html  # the headline is the programme's, whatever is shown
    assert f'<option value="{state}" selected>' in html


@pytest.fixture
def places(world, db):
    """Three more sites: a clinic in another province, a school in another commune and a school there."""
    make_site(kind="clinic", code="CLINIC", name="Trạm Y tế Lục Sơn", province="Lạng Sơn", commune="Xã Lục Sơn")
    make_site(code="HILL", name="Trường Tiểu học Đồi Thông", province="Bắc Ninh", commune="Xã Tuấn Đạo")
    world["site"].commune = world["other"].commune = "Phường Bắc Giang"
    db.session.commit()
    return world


BOARD_NAMES = {"OWN": "Trường Tiểu học Hữu Sản", "OTHER": "Trường Tiểu học Xa Lạ", "CLINIC": "Trạm Y tế Lục Sơn",
               "HILL": "Trường Tiểu học Đồi Thông"}


@pytest.mark.parametrize("query, shown", [
    ("kind=clinic", {"CLINIC"}),
    ("kind=school", {"OWN", "OTHER", "HILL"}),
    ("province=L%E1%BA%A1ng+S%C6%A1n", {"CLINIC"}),  # Lạng Sơn
    ("province=B%E1%BA%AFc+Ninh&commune=X%C3%A3+Tu%E1%BA%A5n+%C4%90%E1%BA%A1o", {"HILL"}),  # Xã Tuấn Đạo
    ("commune=Ph%C6%B0%E1%BB%9Dng+B%E1%BA%AFc+Giang&state=complete", {"OWN"}),
    ("province=H%C3%A0+N%E1%BB%99i", set()),  # Hà Nội: no site there, no row and no error
])
def test_the_board_filters_by_kind_province_and_commune(client, login_as, places, query, shown):
    login_as("reviewer")
    resp = client.get(f"/?{query}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    assert {code for code, name in BOARD_NAMES.items() if name in body} == shown
    assert "1/4 cơ sở đã hoàn thành cả hai đợt" in html  # the headline is the programme's, whatever is shown
    if not shown:
        assert "Không có cơ sở nào khớp với bộ lọc." in body


def test_the_board_keeps_its_filters_in_its_form(client, login_as, places):
    login_as("reviewer")
    html = client.get("/?kind=clinic&province=L%E1%BA%A1ng+S%C6%A1n&commune=X%C3%A3+L%E1%BB%A5c+S%C6%A1n"
                      ).get_data(as_text=True)
    assert '<option value="clinic" selected>Cơ sở khám chữa bệnh</option>' in html
    assert '<option value="Lạng Sơn" selected>Lạng Sơn</option>' in html
    assert 'name="commune" type="search" value="Xã Lục Sơn"' in html
    assert '<option value="Bắc Ninh">Bắc Ninh</option>' in html  # the provinces of the board's sites
    assert "Bỏ lọc" in html


def test_an_unknown_board_kind_is_a_clear_422(client, login_as, world):
    login_as("reviewer")
    resp = client.get("/?kind=hospital")
    assert resp.status_code == 422
    assert "Loại cơ sở phải là một trong: school (trường tiểu học), clinic (cơ sở khám chữa bệnh)." in resp.get_data(as_text=True)


def test_an_unknown_board_state_is_a_clear_422(client, login_as, world):
    login_as("reviewer")
    resp = client.get("/?state=everything")
    assert resp.status_code == 422
    assert "“Hiển thị” phải là một trong: late (trễ hạn), complete" in resp.get_data(as_text=True)
