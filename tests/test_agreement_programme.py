"""Programme agreement (#23): every phase with data (a periodic check pairs up too, baseline and
final always show), the bias sentence (baseline versus final, paired across sites) word for word
on the programme page and in the programme report's appendix, and rater drift (calibration pairs
and versus self-assessments, separately) for reviewers and admins only."""
from __future__ import annotations

from datetime import date

import pytest

from fivs.agreement.services import load_programme_agreement
from tests.api_support import api  # noqa: F401  (fixture)
from tests.conftest import login
from tests.factories import make_audit, make_site, make_user
from tests.test_agreement import (FINAL, ROOMS, answer, calibrate, consultant_score, report_text,  # noqa: F401
                                  self_score, world)

PERIODIC = date(2023, 9, 1)


def add_pair(site, consultant, head, phase, when, own_score):
    main = make_audit(site, consultant, phase=phase, status="submitted", audit_date=when, rooms=ROOMS)
    answer(main, consultant_score)
    own = make_audit(site, head, phase=phase, status="submitted", audit_date=when, rooms=ROOMS)
    answer(own, own_score)
    return main, own


def test_a_periodic_check_pairs_up_and_shows_only_when_it_has_data(api, client, world, db):  # noqa: F811
    login(client, world.reviewer.username)
    assert 'id="agreement-periodic-h"' not in client.get("/programme").get_data(as_text=True)
    body = api.login(world.reviewer).get("/programme/agreement").get_json()
    assert body["rounds"]["periodic"]["pairs"] == [] and body["rounds"]["periodic"]["pooled"]["n_items"] == 0

    add_pair(world.site, world.first, world.principal, "periodic", PERIODIC, consultant_score)
    db.session.commit()
    body = api.get("/programme/agreement").get_json()
    (pair,) = body["rounds"]["periodic"]["pairs"]
    assert pair["site"] == "S-AG1" and pair["kappa_quadratic"] == 1.0 and pair["mean_difference"] == 0.0
    assert [p["phase"] for p in api.get("/sites/S-AG1/agreement").get_json()["pairs"]] == ["baseline", "periodic"]
    assert [p["phase"] for p in api.get("/sites/S-AG1/agreement?phase=periodic").get_json()["pairs"]] == ["periodic"]
    html = client.get("/programme?lang=en").get_data(as_text=True)
    assert 'id="agreement-periodic-h"' in html and 'id="agreement-baseline-h"' in html
    assert 'id="agreement-final-h"' in html  # final shows, with no pair yet
    assert body["bias_change"]["sites"] == []  # the bias change is baseline versus final only


def test_bias_sentence_is_the_same_on_the_page_and_in_the_report(client, world, db):  # noqa: F811
    """Three sites whose staff over-rate at baseline and agree at final: the gap shrank."""
    add_pair(world.site, world.first, world.principal, "final", FINAL, consultant_score)
    for n in (3, 4):
        site = make_site(code=f"S-AG{n}", name=f"Trường Tiểu học số {n}")
        consultant = make_user("consultant", site=site)
        head = make_user("principal", site=site)
        add_pair(site, consultant, head, "baseline", date(2023, 3, 1), self_score)
        add_pair(site, consultant, head, "final", FINAL, consultant_score)
    db.session.commit()
    agreement = load_programme_agreement()
    assert agreement.bias.sites == ("S-AG1", "S-AG3", "S-AG4") and agreement.bias.stats.n == 3
    assert agreement.bias.stats.final_mean == 0 < agreement.bias.stats.baseline_mean
    login(client, world.reviewer.username)
    for lang in ("vi", "en"):
        html = client.get(f"/programme?lang={lang}").get_data(as_text=True)
        sentence = html.split('aria-labelledby="agreement-h"')[1].split("<strong>")[1].split("</strong>")[0]
        assert sentence.count(".") >= 1 and "3" in sentence, sentence
        text = report_text(client.get(f"/api/v1/programme/report.pdf?lang={lang}").data)
        appendix = text.split("Appendix: methods and data quality" if lang == "en" else "Phụ lục")[1]
        assert " ".join(sentence.split()) in appendix, lang


@pytest.mark.parametrize("role", ["principal", "staff", "first", "second"])
def test_rater_drift_is_never_shown_to_the_site_nor_the_consultants(api, client, world, db, role):  # noqa: F811
    calibrate(world, lambda item, room: max(0, consultant_score(item, room) - 1))
    user = getattr(world, role)
    api.login(user)
    assert api.get("/programme/agreement").status_code == 403
    assert api.get("/programme/report.pdf").status_code == 403
    assert [p["kind"] for p in api.get("/sites/S-AG1/agreement").get_json()["pairs"]] == ["self"]
    login(client, user.username)
    assert client.get("/programme").status_code == 403
    html = client.get("/sites/S-AG1/comparison").get_data(as_text=True)
    assert 'id="drift-h"' not in html and 'id="calibration-h"' not in html


def test_drift_separates_calibration_pairs_from_self_pairs(api, world, db):  # noqa: F811
    calibrate(world, lambda item, room: max(0, consultant_score(item, room) - 1))
    for user in (world.reviewer, make_user("admin")):
        drift = {d["rater"]: d for d in api.login(user).get("/programme/agreement").get_json()["rater_drift"]}
        first = drift["Nguyễn Văn An"]
        assert first["calibration_pairs"] == 1 and first["self_pairs"] == 1
        assert first["calibration"]["mean_difference"] > 0 > first["versus_self"]["mean_difference"]
