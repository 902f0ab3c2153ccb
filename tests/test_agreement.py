"""Rater agreement (#23): pairs on real audits, the two endpoints and their access rules, the
second rater's blindness, and that calibration audits change no score comparison."""
from __future__ import annotations

import io
from datetime import date

import pytest
from babel.numbers import format_decimal
from pypdf import PdfReader
from sklearn.metrics import cohen_kappa_score

from fivs.audits.models import Answer, Audit
from fivs.audits.services import start_calibration
from fivs.extensions import db as database
from fivs.services_errors import ConflictError, PermissionDenied, ValidationError
from tests.api_support import api  # noqa: F401  (fixture)
from tests.conftest import login
from tests.factories import make_audit, make_site, make_user

BASELINE, FINAL = date(2023, 3, 1), date(2024, 4, 1)
ROOMS = ("Lớp 1A", "Lớp 1B")


def answer(audit, score):
    """Every item of every room: score(item, room) -> 0..4, None (unscored) or "na"."""
    rows = []
    for room in audit.rooms:
        for item in room.zone.items:
            value = score(item, room.name)
            rows.append(Answer(audit_id=audit.id, item_id=item.id, room=room.name,
                               score=None if value in (None, "na") else value, na=value == "na",
                               note="", updated_by_id=audit.auditor_id))
    database.session.add_all(rows)
    database.session.flush()
    database.session.expire(audit, ["answers"])


def consultant_score(item, room):
    return (item.position + (room == "Lớp 1B")) % 5


def self_score(item, room):
    """Staff rate one level higher than the consultant (capped), N/A on the first item of each zone;
    the consultant leaves the library unscored."""
    if item is item.zone.items[0]:
        return "na"
    return min(4, consultant_score(item, room) + 1)


@pytest.fixture
def world(db):
    site = make_site(code="S-AG1", name="Trường Tiểu học Cẩm Đàn")
    other_site = make_site(code="S-AG2")
    first = make_user("consultant", site=site, full_name="Nguyễn Văn An")
    second = make_user("consultant", site=site, full_name="Trần Thị Bình")
    principal = make_user("principal", site=site)
    staff = make_user("staff", site=site)
    outsider = make_user("principal", site=other_site)
    reviewer = make_user("reviewer")
    main = make_audit(site, first, phase="baseline", status="submitted", audit_date=BASELINE, rooms=ROOMS)
    answer(main, lambda item, room: None if item.zone.code == "library" else consultant_score(item, room))
    own = make_audit(site, principal, phase="baseline", status="submitted", audit_date=BASELINE, rooms=ROOMS)
    answer(own, self_score)
    db.session.commit()
    return type("World", (), dict(site=site, other_site=other_site, first=first, second=second,
                                  principal=principal, staff=staff, outsider=outsider,
                                  reviewer=reviewer, main=main, own=own))


def expected_items(world):
    """Hand pairing: every (zone, item, room) scored on both sides."""
    pairs = []
    for room in world.main.rooms:
        for item in room.zone.items:
            if item.zone.code == "library" or item is item.zone.items[0]:
                continue
            pairs.append((self_score(item, room.name), consultant_score(item, room.name), item.s))
    return pairs


def calibrate(world, score, *, submit=True):
    second = start_calibration(world.reviewer, world.main, world.second)
    answer(second, score)
    if submit:
        second.status = "submitted"
    database.session.commit()
    return second


# ---------------------------------------------------------------- the site's pairs
def test_self_pair_matches_sklearn_and_hand_pairing(api, world):
    items = expected_items(world)
    own, cons = [a for a, _b, _s in items], [b for _a, b, _s in items]
    assert len(items) == 2 * 9 + 7 * 9  # two classrooms, N/A and the library left out

    body = api.login(world.principal).get("/sites/S-AG1/agreement?phase=baseline").get_json()

    (pair,) = body["pairs"]
    assert pair["kind"] == "self" and pair["phase"] == "baseline"
    assert (pair["audit"], pair["other"]) == (str(world.own.uuid), str(world.main.uuid))
    assert pair["n_items"] == len(items)
    assert pair["kappa_quadratic"] == pytest.approx(
        cohen_kappa_score(own, cons, weights="quadratic", labels=[0, 1, 2, 3, 4]), abs=1e-12)
    lo, hi = pair["kappa_ci"]
    assert lo <= pair["kappa_quadratic"] <= hi
    assert pair["mean_difference"] == pytest.approx(sum(a - b for a, b in zip(own, cons)) / len(items))
    assert pair["mean_difference"] > 0  # over-rating shows as positive
    assert pair["exact_agreement"] == pytest.approx(sum(a == b for a, b in zip(own, cons)) / len(items))
    assert pair["within_one"] == 1.0
    seiri = [(a, b) for a, b, s in items if s == "seiri"]
    assert pair["by_s"]["seiri"]["n_items"] == len(seiri)
    assert pair["by_s"]["seiri"]["mean_difference"] == pytest.approx(
        sum(a - b for a, b in seiri) / len(seiri))
    # the same figures again: the bootstrap is seeded
    again = api.get("/sites/S-AG1/agreement?phase=baseline").get_json()
    assert again == body
    assert api.get("/sites/S-AG1/agreement?phase=final").get_json() == {"pairs": []}


def test_fewer_than_ten_common_items_have_no_kappa(api, world, db):
    for ans in world.own.answers:
        if ans.item.zone.code != "office":
            ans.score, ans.na = None, False
    db.session.commit()
    (pair,) = api.login(world.reviewer).get("/sites/S-AG1/agreement").get_json()["pairs"]
    assert pair["n_items"] == 9  # office without its N/A first item
    assert pair["kappa_quadratic"] is None and pair["kappa_ci"] is None
    assert pair["kappa_missing"] == "too_few_items"
    assert pair["mean_difference"] is not None


def test_one_level_on_one_side_has_no_kappa(api, world, db):
    for ans in world.own.answers:
        if ans.score is not None:
            ans.score = 4
    db.session.commit()
    (pair,) = api.login(world.reviewer).get("/sites/S-AG1/agreement").get_json()["pairs"]
    assert pair["kappa_quadratic"] is None and pair["kappa_missing"] == "one_level"


def test_bad_phase_and_other_site(api, world):
    api.login(world.principal)
    resp = api.get("/sites/S-AG1/agreement?phase=midterm")  # periodic is a phase with pairs now (test_agreement_programme)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "bad_phase"
    assert api.get("/sites/S-AG2/agreement").status_code == 404
    assert api.get("/sites/NOPE/agreement").status_code == 404
    assert api.get("/sites/S-AG1/agreement", token=None).status_code == 401


# ---------------------------------------------------------------- calibration
def test_calibration_pair_is_for_reviewers_only(api, world):
    second = calibrate(world, lambda item, room: consultant_score(item, room) if item.position % 3 else 0)

    body = api.login(world.reviewer).get("/sites/S-AG1/agreement?phase=baseline").get_json()
    assert [p["kind"] for p in body["pairs"]] == ["self", "calibration"]
    cal = body["pairs"][1]
    assert (cal["audit"], cal["other"]) == (str(second.uuid), str(world.main.uuid))
    assert cal["n_items"] == 10 * 2 + 10 * 7  # the first rater left the library unscored
    assert cal["mean_difference"] < 0  # the second rater scores harder
    for user in (world.principal, world.staff, world.first):
        pairs = api.login(user).get("/sites/S-AG1/agreement").get_json()["pairs"]
        assert [p["kind"] for p in pairs] == ["self"], user.role


def test_second_rater_is_blind_until_both_are_submitted(api, world, db):
    second = calibrate(world, consultant_score, submit=False)
    world.main.status = "reopened"
    db.session.commit()
    api.login(world.second)
    assert api.get(f"/audits/{world.main.uuid}").status_code == 404
    assert api.get(f"/audits/{second.uuid}").status_code == 200
    api.login(world.first)
    assert api.get(f"/audits/{second.uuid}").status_code == 404
    assert api.get(f"/audits/{world.main.uuid}").status_code == 200
    assert api.login(world.reviewer).get(f"/audits/{second.uuid}").status_code == 200

    second.status = world.main.status = "submitted"
    db.session.commit()
    assert api.login(world.second).get(f"/audits/{world.main.uuid}").status_code == 200
    assert api.login(world.first).get(f"/audits/{second.uuid}").status_code == 200


def test_calibration_request_rules(world, db):
    with pytest.raises(PermissionDenied):
        start_calibration(world.principal, world.main, world.second)
    with pytest.raises(ValidationError):
        start_calibration(world.reviewer, world.main, world.first)  # the first rater again
    with pytest.raises(ValidationError):
        start_calibration(world.reviewer, world.own, world.second)  # a self-assessment
    stranger = make_user("consultant", site=world.other_site)
    with pytest.raises(ValidationError):
        start_calibration(world.reviewer, world.main, stranger)  # not assigned to the site
    with pytest.raises(ValidationError):
        start_calibration(world.reviewer, world.main, None)
    second = start_calibration(world.reviewer, world.main, world.second)
    assert second.kind == "calibration" and second.calibrates_id == world.main.id
    assert [r.name for r in second.rooms] == [r.name for r in world.main.rooms]
    with pytest.raises(ConflictError):
        start_calibration(world.reviewer, world.main, world.second)


def test_calibration_audits_change_no_score_comparison(api, world, db):
    final = make_audit(world.site, world.first, phase="final", status="submitted", audit_date=FINAL,
                       rooms=ROOMS)
    answer(final, lambda item, room: 4)
    db.session.commit()
    api.login(world.reviewer)
    site_before = api.get("/sites/S-AG1/comparison").get_json()
    programme_before = api.get("/programme/comparison").get_json()

    calibrate(world, lambda item, room: 0)  # a later, submitted baseline audit of 0 %

    assert api.get("/sites/S-AG1/comparison").get_json() == site_before
    assert api.get("/programme/comparison").get_json() == programme_before
    assert site_before["baseline"]["audit_id"] == str(world.main.uuid)


# ---------------------------------------------------------------- the programme
def test_programme_agreement_and_drift(api, world, db):
    final = make_audit(world.site, world.first, phase="final", status="submitted", audit_date=FINAL,
                       rooms=ROOMS)
    answer(final, consultant_score)
    own = make_audit(world.site, world.principal, phase="final", status="submitted", audit_date=FINAL,
                     rooms=ROOMS)
    answer(own, consultant_score)  # the final self-assessment agrees exactly
    calibrate(world, lambda item, room: max(0, consultant_score(item, room) - 1))

    body = api.login(world.reviewer).get("/programme/agreement").get_json()

    assert [p["site"] for p in body["rounds"]["baseline"]["pairs"]] == ["S-AG1"]
    assert body["rounds"]["final"]["pooled"]["kappa_quadratic"] == 1.0
    assert body["rounds"]["final"]["pooled"]["mean_difference"] == 0.0
    assert body["bias_change"]["sites"] == ["S-AG1"]
    assert body["bias_change"]["n"] == 1 and body["bias_change"]["shrank"] is None
    assert "Too few sites" in api.get("/programme/agreement?lang=en").get_json()["bias_change"]["sentence"]
    drift = {d["rater"]: d for d in body["rater_drift"]}
    assert set(drift) == {"Nguyễn Văn An", "Trần Thị Bình"}
    first, second = drift["Nguyễn Văn An"], drift["Trần Thị Bình"]
    assert first["calibration_pairs"] == second["calibration_pairs"] == 1
    assert first["calibration"]["mean_difference"] == pytest.approx(-second["calibration"]["mean_difference"])
    assert first["calibration"]["mean_difference"] > 0  # the first rater is the softer one
    assert first["self_pairs"] == 2 and second["self_pairs"] == 0
    assert first["versus_self"]["mean_difference"] < 0  # the staff rated higher at baseline
    assert second["versus_self"]["n_items"] == 0


@pytest.mark.parametrize("role", ["principal", "staff", "consultant"])
def test_programme_agreement_is_for_reviewers_and_admins(api, world, role):
    user = {"principal": world.principal, "staff": world.staff, "consultant": world.first}[role]
    resp = api.login(user).get("/programme/agreement")
    assert resp.status_code == 403
    assert "rater_drift" not in resp.get_data(as_text=True)


def test_programme_agreement_for_admin_and_bad_kind(api, world):
    admin = make_user("admin")
    api.login(admin)
    assert "rater_drift" in api.get("/programme/agreement?kind=school").get_json()
    assert api.get("/programme/agreement?kind=zoo").status_code == 422


# ---------------------------------------------------------------- pages
def test_site_page_shows_the_pairs_and_calibration_to_reviewers_only(client, world, db):
    calibrate(world, consultant_score)
    login(client, world.reviewer.username)
    html = client.get("/sites/S-AG1/comparison?lang=en").get_data(as_text=True)
    assert 'id="agreement-pairs"' in html and "Second rater" in html and "Trần Thị Bình" in html


def test_site_page_shows_principals_their_self_pair_only(client, world, db):
    calibrate(world, consultant_score)
    login(client, world.principal.username)
    html = client.get("/sites/S-AG1/comparison?lang=en").get_data(as_text=True)
    assert 'id="agreement-pairs"' in html and "Self-assessment" in html
    assert "Trần Thị Bình" not in html  # the calibration pair is the reviewers'


def test_programme_page_shows_bias_sentence_and_drift(client, world, db):
    calibrate(world, consultant_score)
    login(client, world.reviewer.username)
    html = client.get("/programme").get_data(as_text=True)
    assert 'id="agreement-h"' in html and 'id="drift-h"' in html
    assert "Quá ít cơ sở" in html and "Nguyễn Văn An" in html


def test_reviewer_asks_for_a_second_rater_on_the_summary_page(client, world, db):
    login(client, world.reviewer.username)
    page = client.get(f"/audits/{world.main.uuid}/summary?lang=en").get_data(as_text=True)
    assert 'id="calibration-h"' in page and "Trần Thị Bình" in page and "Nguyễn Văn An</option>" not in page
    url = f"/audits/{world.main.uuid}/calibration"
    assert client.form_post(url, {"rater": "nobody"}).status_code == 422
    resp = client.form_post(url, {"rater": str(world.second.id)})
    assert resp.status_code == 302
    (second,) = [a for a in database.session.scalars(
        database.select(Audit).where(Audit.calibrates_id == world.main.id))]
    assert second.auditor_id == world.second.id and second.status == "draft"
    assert client.form_post(url, {"rater": str(world.second.id)}).status_code == 409
    own_page = client.get(f"/audits/{world.own.uuid}/summary").get_data(as_text=True)
    assert 'id="calibration-h"' not in own_page  # a self-assessment has no second rater


def test_second_rater_scores_the_calibration_audit(client, world, db):
    second = start_calibration(world.reviewer, world.main, world.second)
    database.session.commit()
    login(client, world.second.username)
    assert client.get(f"/audits/{second.uuid}").status_code == 200
    zone = next(z for z in second.template.zones if not z.repeats)
    data = {"row_version": str(second.row_version), **{f"score-{item.code}": "3" for item in zone.items}}
    assert client.form_post(f"/audits/{second.uuid}/zones/{zone.code}", data).status_code == 302
    assert len(second.answers) == len(zone.items)
    assert client.get(f"/audits/{world.main.uuid}/summary").status_code == 404


# ---------------------------------------------------------------- reports
def report_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_site_report_has_the_self_pair_and_no_second_rater(client, world, db):
    calibrate(world, consultant_score)
    login(client, world.principal.username)
    resp = client.get("/api/v1/sites/S-AG1/report.pdf?lang=en")
    assert resp.status_code == 200
    text = report_text(resp.data)
    (pair,) = client.get("/api/v1/sites/S-AG1/agreement").get_json()["pairs"]
    assert "Do the raters agree?" in text
    assert format_decimal(pair["kappa_quadratic"], format="0.00", locale="en") in text
    assert "Trần Thị Bình" not in text


def test_programme_report_has_the_agreement_appendix_with_drift(client, world, db):
    calibrate(world, consultant_score)
    login(client, world.reviewer.username)
    text = report_text(client.get("/api/v1/programme/report.pdf").data)
    assert "Phụ lục" in text and "Độ lệch của người chấm" in text and "Quá ít cơ sở" in text
    assert "Trần Thị Bình" in text and "Nguyễn Văn An" in text
