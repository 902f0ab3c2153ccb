"""Two people on one audit: a save sent with each answer's base (the answer as the client last saw
it) goes ahead over a stale row version when nobody else changed those answers, and is refused
(409 answer_changed, nothing saved, theirs and yours listed) when somebody did.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (the tablet's one-statement save path
there). Every API response is checked against the OpenAPI document (tests/api_support.py).
"""
from __future__ import annotations

import threading

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from fivs.audits.models import Answer, Audit
from tests.api_support import api, token_for  # noqa: F401  (fixture)
from tests.factories import make_audit, make_site, make_user

BLANK = {"score": None, "na": False, "note": ""}
THREADS = 20


@pytest.fixture
def world(db):
    site = make_site(code="BG-TH01", name="Trường Tiểu học Thị trấn An Châu")
    first, second = make_user("consultant", site=site), make_user("consultant", site=site)
    audit = make_audit(site, first, rooms=())
    db.session.commit()
    items = [i.code for i in audit.template.items if not i.zone.repeats][:4]
    return audit, first, second, items


def put(api, audit, row_version, *answers, minimal=True):
    return api.put(f"/audits/{audit.uuid}/answers", json={"row_version": row_version, "answers": list(answers)},
                   headers={"Prefer": "return=minimal"} if minimal else {})


def stored(db, audit) -> dict[str, dict]:
    db.session.expire_all()
    rows = db.session.execute(select(Answer).where(Answer.audit_id == audit.id)).scalars()
    return {a.item.code: {"score": a.score, "na": a.na, "note": a.note} for a in rows}


def row_version(db, audit) -> int:
    db.session.expire_all()
    return db.session.get(Audit, audit.id).row_version


@pytest.mark.parametrize("minimal", [True, False], ids=["return-minimal", "whole-audit"])
def test_a_stale_save_of_other_answers_goes_ahead_on_top_of_the_colleagues(api, db, world, minimal):
    audit, first, second, items = world
    api.login(first)
    assert put(api, audit, 1, {"item": items[0], "score": 4, "note": "Bàn ghế gọn gàng"}).status_code == 200
    api.login(second)  # still holds row version 1: saves another item, with its base
    resp = put(api, audit, 1, {"item": items[1], "score": 2, "note": "Góc học tập bừa bộn", "base": BLANK},
               minimal=minimal)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["row_version"] == 3 == row_version(db, audit)
    assert stored(db, audit) == {items[0]: {"score": 4, "na": False, "note": "Bàn ghế gọn gàng"},
                                 items[1]: {"score": 2, "na": False, "note": "Góc học tập bừa bộn"}}
    scores = resp.get_json()["scores"]
    assert scores == api.get(f"/audits/{audit.uuid}").get_json()["scores"]  # both answers counted


def test_the_same_answer_changed_meanwhile_is_refused_with_both_values_and_nothing_saved(api, db, world):
    audit, first, second, items = world
    api.login(first)
    assert put(api, audit, 1, {"item": items[0], "score": 1, "note": "Còn giấy vụn"}).status_code == 200
    api.login(second)
    resp = put(api, audit, 1, {"item": items[0], "score": 3, "note": "Đã dọn", "base": BLANK},
               {"item": items[1], "score": 4, "base": BLANK})
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "answer_changed" and "chưa lưu gì cả" in error["message"]
    assert error["details"]["row_version"] == 2
    assert error["details"]["answers"] == [{"item": items[0], "zone_instance": None,
                                            "yours": {"score": 3, "na": False, "note": "Đã dọn"},
                                            "theirs": {"score": 1, "na": False, "note": "Còn giấy vụn"}}]
    assert {a["item"] for a in error["details"]["audit"]["answers"]} == {items[0]}
    assert stored(db, audit) == {items[0]: {"score": 1, "na": False, "note": "Còn giấy vụn"}}
    assert row_version(db, audit) == 2
    # Chosen again over theirs (their answer as base): saved.
    resp = put(api, audit, 2, {"item": items[0], "score": 3, "note": "Đã dọn",
                               "base": {"score": 1, "na": False, "note": "Còn giấy vụn"}})
    assert resp.status_code == 200 and stored(db, audit)[items[0]]["score"] == 3


def test_a_colleague_who_saved_the_same_value_is_no_conflict(api, db, world):
    audit, first, second, _items = world
    item = next(i.code for i in audit.template.items if i.na_allowed and not i.zone.repeats)
    api.login(first)
    assert put(api, audit, 1, {"item": item, "na": True}).status_code == 200
    api.login(second)
    resp = put(api, audit, 1, {"item": item, "na": True, "base": None})
    assert resp.status_code == 200 and resp.get_json()["row_version"] == 3
    assert stored(db, audit) == {item: {"score": None, "na": True, "note": ""}}


def test_a_base_without_a_note_compares_scores_only(api, db, world):
    audit, first, second, items = world
    api.login(first)
    assert put(api, audit, 1, {"item": items[0], "score": 2, "note": "Ghi chú của đồng nghiệp"}).status_code == 200
    api.login(second)  # changes the score only; its base says nothing about the note
    resp = put(api, audit, 1, {"item": items[0], "score": 3, "base": {"score": 2}})
    assert resp.status_code == 200
    assert stored(db, audit) == {items[0]: {"score": 3, "na": False, "note": "Ghi chú của đồng nghiệp"}}


def test_without_a_base_for_every_answer_a_stale_row_version_is_refused_as_before(api, db, world):
    audit, first, second, items = world
    api.login(first)
    assert put(api, audit, 1, {"item": items[0], "score": 4}).status_code == 200
    api.login(second)
    resp = put(api, audit, 1, {"item": items[1], "score": 2, "base": BLANK}, {"item": items[2], "score": 1})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "stale_row_version"
    assert "answers" not in resp.get_json()["error"]["details"]
    assert stored(db, audit) == {items[0]: {"score": 4, "na": False, "note": ""}}


def test_a_submitted_audit_stays_locked_whatever_the_bases(api, db, world):
    audit, first, second, items = world
    db.session.execute(Audit.__table__.update().where(Audit.id == audit.id).values(status="submitted", row_version=5))
    db.session.commit()
    api.login(second)
    resp = put(api, audit, 1, {"item": items[0], "score": 2, "base": BLANK})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "locked"
    assert stored(db, audit) == {}


@pytest.mark.parametrize("base, field_message", [  # the messages in the default language, Vietnamese
    ("4", "một câu trả lời (score, na, note) hoặc null"),
    ([], "một câu trả lời (score, na, note) hoặc null"),
    ({"score": 5}, "Điểm là số nguyên từ 0 đến 4."),
    ({"score": True}, "Điểm là số nguyên từ 0 đến 4."),
    ({"score": 2.5}, "Điểm là số nguyên từ 0 đến 4."),
    ({"na": "yes"}, "“Không áp dụng” phải là đúng hoặc sai."),
    ({"note": 7}, "Ghi chú phải là văn bản."),
])
def test_a_bad_base_is_422_and_saves_nothing(api, db, world, base, field_message):
    audit, first, _second, items = world
    api.login(first)
    resp = put(api, audit, 1, {"item": items[0], "score": 2, "base": base})
    assert resp.status_code == 422
    details = resp.get_json()["error"]["details"]
    assert [(d["index"], d["field"]) for d in details] == [(0, "base")]
    assert field_message in details[0]["message"]
    assert stored(db, audit) == {} and row_version(db, audit) == 1


def test_twenty_tablets_on_one_stale_version_all_save_at_the_first_try(app, db, world):
    """20 tablets hold row version 1 and save 20 different answers at once, each with its base:
    every save lands at the first try (200, no 409, no "database is locked"), each exactly once.
    (Merging locks the audit's row on PostgreSQL: nobody can save between its read and its write.)"""
    audit, first, _second, _items = world
    items = [i.code for i in audit.template.items if not i.zone.repeats][:THREADS]
    token, path = token_for(first), f"/api/v1/audits/{audit.uuid}/answers"
    db.session.commit()  # the test's own session holds no SQLite lock while the tablets save
    start, statuses = threading.Barrier(THREADS), []

    def tablet(item: str, score: int) -> None:
        client = FlaskClient(app, app.response_class)
        start.wait()
        resp = client.put(path, json={"row_version": 1, "answers": [{"item": item, "score": score, "base": None}]},
                          headers={"Authorization": f"Bearer {token}"})
        statuses.append((resp.status_code, resp.get_data(as_text=True)[:200]))

    threads = [threading.Thread(target=tablet, args=(item, n % 5)) for n, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a tablet hung"
    assert [status for status, _body in statuses] == [200] * THREADS, statuses
    assert stored(db, audit) == {item: {"score": n % 5, "na": False, "note": ""} for n, item in enumerate(items)}
    assert row_version(db, audit) == 1 + THREADS


def test_a_retried_batch_whose_response_was_lost_saves_nothing_twice(api, db, world):
    """A tablet's save landed but its response was lost on the way back: the queue sends the same
    batch again, with the same row version and bases. Nothing changes: no second row version, the
    answers once, as they were (and the response says so, so the tablet stops retrying)."""
    audit, first, _second, items = world
    api.login(first)
    batch = [{"item": items[0], "score": 3, "note": "Đã dọn", "base": BLANK},
             {"item": items[1], "score": 1, "note": "", "base": BLANK}]
    first_try = put(api, audit, 1, *batch)
    assert first_try.status_code == 200 and first_try.get_json()["row_version"] == 2
    saved = stored(db, audit)
    retry = put(api, audit, 1, *batch)
    assert retry.status_code == 200, retry.get_json()
    body = retry.get_json()
    assert body["row_version"] == 2 == row_version(db, audit)  # not bumped again
    assert sorted((a["item"], a["score"], a["note"]) for a in body["answers"]) == [
        (items[0], 3, "Đã dọn"), (items[1], 1, "")]
    assert body["scores"] == first_try.get_json()["scores"]
    assert stored(db, audit) == saved
    # The same user's next change on top of it is a new save: it bumps as usual.
    again = put(api, audit, 2, {"item": items[0], "score": 4, "note": "Đã dọn",
                                "base": {"score": 3, "na": False, "note": "Đã dọn"}})
    assert again.status_code == 200 and again.get_json()["row_version"] == 3
    # A replay saved nothing as its own: a different value is no replay, a colleague's equal value neither.
    assert put(api, audit, 1, *batch).status_code == 409
