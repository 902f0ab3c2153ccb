from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from fivs.audits import services
from fivs.audits.models import Answer, Audit
from fivs.events.models import Event
from fivs.services_errors import ConflictError, LockedError, PermissionDenied, ValidationError
from tests.factories import answer_all, make_audit, make_site, make_user


@pytest.fixture
def setup(db):
    site = make_site()
    consultant = make_user("consultant", site=site)
    db.session.commit()
    return site, consultant


def test_start_is_idempotent_on_uuid(app, db, setup):
    site, consultant = setup
    uid = uuid.uuid4()
    a1, created1 = services.start_audit(consultant, site, "baseline", date(2023, 4, 20), kind="consultant", audit_uuid=uid)
    db.session.commit()
    a2, created2 = services.start_audit(consultant, site, "baseline", date(2023, 4, 20), kind="consultant", audit_uuid=uid)
    assert (created1, created2) == (True, False) and a1.id == a2.id
    with pytest.raises(ConflictError):
        services.start_audit(consultant, site, "final", date(2023, 4, 20), kind="consultant", audit_uuid=uid)
    assert db.session.scalar(select(func.count()).select_from(Audit)) == 1


def test_start_pins_current_template_and_creates_plain_zone_instances(app, db, setup):
    site, consultant = setup
    audit, _ = services.start_audit(consultant, site, "baseline", date(2023, 4, 20), kind="consultant")
    assert audit.template.site_kind == "school"
    plain = [z for z in audit.template.zones if not z.repeats]
    assert len(audit.rooms) == len(plain)


def test_save_answers_upserts_and_bumps_row_version(app, db, setup):
    site, consultant = setup
    audit = make_audit(site, consultant)
    db.session.commit()
    item = audit.template.items[0]
    label = "Lớp 1A" if item.zone.repeats else None
    services.save_answers(audit, consultant, [{"item": item.code, "zone_instance": label, "score": 2, "note": "Bàn gãy"}], row_version=1)
    services.save_answers(audit, consultant, [{"item": item.code, "zone_instance": label, "score": 3}], row_version=2)
    db.session.commit()
    answers = db.session.scalars(select(Answer).where(Answer.audit_id == audit.id)).all()
    assert len(answers) == 1 and answers[0].score == 3 and answers[0].note == "Bàn gãy"
    assert audit.row_version == 3


def test_stale_row_version_is_a_conflict_and_saves_nothing(app, db, setup):
    site, consultant = setup
    audit = make_audit(site, consultant)
    db.session.commit()
    item = next(i for i in audit.template.items if not i.zone.repeats)
    with pytest.raises(ConflictError) as info:
        services.save_answers(audit, consultant, [{"item": item.code, "score": 1}], row_version=7)
    assert info.value.status == 409 and info.value.details["row_version"] == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


@pytest.mark.parametrize("entry,field", [
    ({"item": "NOPE", "score": 1}, "item"),
    ({"score": 5}, "score"),
    ({"score": -1}, "score"),
    ({"score": 2.5}, "score"),
    ({"score": "3"}, "score"),
    ({"score": True}, "score"),
    ({"score": 2, "na": True}, "na"),
    ({"na": "yes"}, "na"),
    ({"score": 1, "note": "x" * 5001}, "note"),
    ({"score": 1, "note": 12}, "note"),
])
def test_bad_answers_are_listed_and_nothing_is_saved(app, db, setup, entry, field):
    site, consultant = setup
    audit = make_audit(site, consultant)
    db.session.commit()
    good_item = next(i for i in audit.template.items if not i.zone.repeats)
    entry = {"item": good_item.code, **entry}
    with pytest.raises(ValidationError) as info:
        services.save_answers(audit, consultant, [{"item": good_item.code, "score": 4}, entry], row_version=1)
    assert info.value.status == 422
    assert [d["field"] for d in info.value.details] == [field]
    assert info.value.details[0]["index"] == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert db.session.get(Audit, audit.id).row_version == 1


def test_repeating_zone_requires_a_room_label(app, db, setup):
    site, consultant = setup
    audit = make_audit(site, consultant)
    db.session.commit()
    item = next(i for i in audit.template.items if i.zone.repeats)
    with pytest.raises(ValidationError) as info:
        services.save_answers(audit, consultant, [{"item": item.code, "score": 1}], row_version=None)
    assert info.value.details[0]["field"] == "zone_instance"
    services.save_answers(audit, consultant, [{"item": item.code, "zone_instance": "Lớp 4B", "score": 1}], row_version=None)
    assert any(zi.name == "Lớp 4B" for zi in audit.rooms)


def test_submit_lists_missing_then_locks(app, db, setup):
    site, consultant = setup
    audit = make_audit(site, consultant)
    answers = answer_all(audit, 3)
    db.session.delete(answers[0])
    db.session.commit()
    db.session.refresh(audit)
    with pytest.raises(ValidationError) as info:
        services.submit_audit(audit, consultant)
    assert [d["item"] for d in info.value.details] == [answers[0].item.code]
    services.save_answers(audit, consultant, [{"item": answers[0].item.code, "zone_instance": answers[0].room or None, "score": 4}], row_version=None)
    services.submit_audit(audit, consultant)
    db.session.commit()
    assert audit.status == "submitted"
    with pytest.raises(LockedError):
        services.save_answers(audit, consultant, [{"item": answers[0].item.code, "zone_instance": answers[0].room or None, "score": 1}], row_version=None)


def test_reopen_requires_reviewer_and_reason_and_logs_changes(app, db, setup):
    site, consultant = setup
    reviewer = make_user("reviewer")
    audit = make_audit(site, consultant)
    answer_all(audit, 2)
    db.session.commit()
    db.session.refresh(audit)
    services.submit_audit(audit, consultant)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.reopen_audit(audit, consultant, "sai")
    with pytest.raises(ValidationError):
        services.reopen_audit(audit, reviewer, "   ")
    services.reopen_audit(audit, reviewer, "Điểm bếp nhập nhầm")
    item = next(i for i in audit.template.items if not i.zone.repeats)
    services.save_answers(audit, consultant, [{"item": item.code, "score": 4}], row_version=None)
    db.session.commit()
    events = db.session.scalars(select(Event).where(Event.audit_id == audit.id).order_by(Event.id)).all()
    reopen = next(e for e in events if e.action == "audit.reopen")
    assert reopen.detail == "Điểm bếp nhập nhầm" and reopen.username == reviewer.username
    change = next(e for e in events if e.action == "answer.change")
    assert change.old_value["score"] == 2 and change.new_value["score"] == 4


def test_scores_use_the_scoring_module(app, db, setup):
    site, consultant = setup
    audit = make_audit(site, consultant)
    answer_all(audit, 3)
    db.session.commit()
    db.session.refresh(audit)
    scores = services.audit_scores(audit)
    assert scores.overall == pytest.approx(75.0)
    assert all(v == pytest.approx(75.0) for v in scores.by_s.values())
