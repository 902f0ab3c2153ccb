"""Factories: build rows with sensible defaults; they add and flush, the test commits."""
from __future__ import annotations

import itertools
import uuid
from datetime import date
from functools import cache

from sqlalchemy import select

from fivs.audits.models import Answer, Audit, Room
from fivs.auth.models import User
from fivs.checklists.models import ChecklistTemplate
from fivs.extensions import db
from fivs.services_errors import ConflictError
from fivs.sites.models import Site

_seq = itertools.count(1)
PASSWORD = "correct-horse-9"


def make_site(kind: str = "school", **kw) -> Site:
    n = next(_seq)
    site = Site(code=kw.pop("code", f"S{n:03d}"), name=kw.pop("name", f"Trường Tiểu học số {n}"),
                kind=kind, former_district=kw.pop("former_district", "Sơn Động"),
                province=kw.pop("province", "Bắc Ninh"), former_province=kw.pop("former_province", "Bắc Giang"),
                active=True, **kw)
    db.session.add(site)
    db.session.flush()
    return site


def make_user(role: str, *, site: Site | None = None, assigned=(), username: str | None = None,
              password: str = PASSWORD, **kw) -> User:
    n = next(_seq)
    if role in ("principal", "staff") and site is None:
        site = make_site()
    user = User(username=username or f"{role}{n}", full_name=kw.pop("full_name", f"Người dùng {n}"),
                role=role, site_id=site.id if site and role in ("principal", "staff") else None,
                active=True, session_version=1, **kw)
    user.password_hash = password_hash(password)
    db.session.add(user)
    if role == "consultant":
        user.assigned_sites = list(assigned) or ([site] if site else [])
    db.session.flush()
    return user


@cache
def password_hash(password: str) -> str:
    """The hash User.set_password makes (scrypt), computed once per password and test process: hashing
    is slow on purpose (~0.15 s) and most tests make several users with one password. Logging in still
    checks the password against it."""
    probe = User()
    probe.set_password(password)
    return probe.password_hash


def template_for(kind: str = "school") -> ChecklistTemplate:
    return db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.site_kind == kind)
                             .order_by(ChecklistTemplate.version.desc()))


def make_audit(site: Site, auditor: User, *, phase: str = "baseline", kind: str | None = None,
               status: str = "draft", audit_date: date | None = None, rooms=("Lớp 1A",)) -> Audit:
    from fivs.audits.services import start_audit

    kind = kind or ("self" if auditor.role in ("principal", "staff") else "consultant")
    try:
        audit, _ = start_audit(auditor, site, phase, audit_date or date(2023, 5, 10), kind=kind,
                               audit_uuid=uuid.uuid4())
    except ConflictError as exc:
        if exc.code != "audit_exists":
            raise
        audit = _earlier_round(site, auditor, phase, kind, audit_date or date(2023, 5, 10))
    for zone in audit.template.zones:
        if zone.repeats:
            for label in rooms:
                db.session.add(Room(audit=audit, zone_id=zone.id, name=label,
                                position=zone.position * 1000 + 1))
    audit.status = status
    db.session.flush()
    return audit


def _earlier_round(site: Site, auditor: User, phase: str, kind: str, audit_date: date) -> Audit:
    """A second live consultant audit of a round, as the database may hold from before the
    one-per-round rule (migration 0008): built directly, for the tests of how the comparisons
    pick among several (start_audit refuses it now)."""
    from fivs.audits.services import current_template

    template = current_template(site.kind)
    audit = Audit(uuid=uuid.uuid4(), site_id=site.id, template_id=template.id, phase=phase, kind=kind,
                  auditor_id=auditor.id, audit_date=audit_date, status="draft", row_version=1)
    db.session.add(audit)
    db.session.flush()
    for position, zone in enumerate(template.zones):
        if not zone.repeats:
            db.session.add(Room(audit_id=audit.id, zone_id=zone.id, name="", position=position * 1000))
    db.session.flush()
    return audit


def answer_all(audit: Audit, score=3, *, user: User | None = None) -> list[Answer]:
    """Fill every item of every zone instance; `score` may be an int or a function(item) -> int|None."""
    answers = []
    for zi in audit.rooms:
        for item in zi.zone.items:
            value = score(item) if callable(score) else score
            answers.append(Answer(audit_id=audit.id, item_id=item.id, room=zi.name,
                                  score=value, na=False, note="",
                                  updated_by_id=(user or audit.auditor).id))
    db.session.add_all(answers)
    db.session.flush()
    db.session.expire(audit, ["answers"])
    return answers
