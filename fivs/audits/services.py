"""Audit services: start, rooms, save answers, submit, reopen, acknowledge.

Services validate, change the session and flush; the request (view or API) commits once.
Messages are English source strings passed through gettext by the caller's locale.
"""
from __future__ import annotations

import uuid as uuid_mod
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import bindparam, column, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from fivs import scoring
from fivs.audits.models import CALIBRATION, CONSULTANT_AUDIT, PHASES, Acknowledgement, Answer, Audit, Room
from fivs.auth import policy
from fivs.checklists.models import ChecklistTemplate, Item, Zone
from fivs.checklists.spec import ItemSpec, checklist_spec
from fivs.dates import date_problem
from fivs.events.services import log_event
from fivs.extensions import db
from fivs.round_sums.queries import store_round_sums
from fivs.services_errors import ConflictError, LockedError, PermissionDenied, ValidationError
from fivs.sites.models import Site
from fivs.text import clean_text, has_control_chars
from fivs.timeutil import as_utc, utcnow

NOTE_MAX = 5000
# The compared rounds: a site has one live consultant audit of each (periodic checks may repeat).
ONE_PER_SITE = ("baseline", "final")
ROOM_NAME_MAX = 80


# ---------------------------------------------------------------- templates
def current_template(site_kind: str) -> ChecklistTemplate | None:
    return db.session.scalar(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.site_kind == site_kind)
        .order_by(ChecklistTemplate.version.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- start
@dataclass(frozen=True)
class StartRequest:
    site_id: int
    phase: str
    audit_date: date
    kind: str
    template_id: int


def _same_content(audit: Audit, req: StartRequest) -> bool:
    return (audit.site_id, audit.phase, audit.audit_date, audit.kind, audit.template_id) == (
        req.site_id, req.phase, req.audit_date, req.kind, req.template_id)


def start_audit(user, site, phase: str, audit_date: date, *, kind: str,
                audit_uuid: uuid_mod.UUID | None = None,
                template: ChecklistTemplate | None = None) -> tuple[Audit, bool]:
    """Create an audit (idempotent on its client-made UUID). Returns (audit, created).
    A calibration audit is started with start_calibration, which links it to its first rater's."""
    if kind == CALIBRATION:
        raise ValidationError(_("A second rater's audit is asked for by a reviewer."))
    if phase not in PHASES:
        raise ValidationError(_("Unknown phase: %(phase)s", phase=phase))
    if (problem := date_problem(audit_date)) is not None:
        raise ValidationError(problem, details=[{"field": "date", "message": problem}])
    template = template or current_template(site.kind)
    if template is None:
        raise ValidationError(_("No checklist is loaded for this kind of site."))
    if template.site_kind != site.kind:
        raise ValidationError(_("This checklist is not for this kind of site."))
    req = StartRequest(site.id, phase, audit_date, kind, template.id)
    audit_uuid = audit_uuid or uuid_mod.uuid4()
    # Racing starts of one site queue on its row (PostgreSQL; SQLite's writers queue already), so the
    # checks below see a start committed a moment ago: a retry replays it, another audit of the round is refused.
    db.session.execute(select(Site.id).where(Site.id == site.id).with_for_update())
    existing = db.session.scalar(select(Audit).where(Audit.uuid == audit_uuid))
    if existing is not None:
        return _replayed(existing, req), False
    if kind == CONSULTANT_AUDIT and phase in ONE_PER_SITE and (live := live_consultant_audit(site.id, phase)):
        raise ConflictError(_("This site already has a consultant audit of this round; continue it, or ask a "
                              "reviewer to void it first."),
                            code="audit_exists", details={"audit_id": str(live.uuid)})
    audit = Audit(uuid=audit_uuid, site_id=site.id, template_id=template.id, phase=phase,
                  kind=kind, auditor_id=user.id, audit_date=audit_date, status="draft",
                  row_version=1)
    try:
        with db.session.begin_nested():
            db.session.add(audit)
            db.session.flush()
    except IntegrityError:
        # Another request created the same UUID a moment ago: that one wins.
        existing = db.session.scalar(select(Audit).where(Audit.uuid == audit_uuid))
        if existing is None:
            raise
        return _replayed(existing, req), False
    for position, zone in enumerate(template.zones):
        if not zone.repeats:
            db.session.add(Room(audit_id=audit.id, zone_id=zone.id, name="", position=position * 1000))
    log_event("audit.create", user=user, audit=audit, target=str(audit.uuid),
              new={"phase": phase, "kind": kind, "date": audit_date.isoformat(),
                   "template": f"{template.key}@{template.version}"})
    db.session.flush()
    return audit, True


def start_calibration(user, main: Audit, rater) -> Audit:
    """A draft calibration audit: `rater`, a second consultant of the site, scores `main`'s site and
    round again on the same checklist, date and rooms (so that each room pairs up), independently:
    neither sees the other's answers until both are submitted (fivs.auth.policy.hidden_audit_ids)."""
    if not policy.can_request_calibration(user):
        raise PermissionDenied(_("Only reviewers and admins can ask for a second rater."))
    if main.kind != CONSULTANT_AUDIT:
        raise ValidationError(_("Only a consultant audit can have a second rater."))
    if rater is None or not rater.active or not policy.can_calibrate(rater, main.site_id):
        raise ValidationError(_("The second rater must be an active consultant assigned to this site."),
                              details=[{"field": "rater"}])
    if rater.id == main.auditor_id:
        raise ValidationError(_("The second rater must be another consultant than the first."),
                              details=[{"field": "rater"}])
    taken = db.session.scalar(select(Audit.id).where(Audit.calibrates_id == main.id,
                                                     Audit.auditor_id == rater.id))
    if taken is not None:
        raise ConflictError(_("This consultant is already the second rater of this audit."),
                            code="calibration_exists")
    audit = Audit(uuid=uuid_mod.uuid4(), site_id=main.site_id, template_id=main.template_id,
                  phase=main.phase, kind=CALIBRATION, calibrates_id=main.id, auditor_id=rater.id,
                  audit_date=main.audit_date, status="draft", row_version=1)
    db.session.add(audit)
    db.session.flush()
    for room in main.rooms:
        db.session.add(Room(audit_id=audit.id, zone_id=room.zone_id, name=room.name, position=room.position))
    log_event("audit.calibration_request", user=user, audit=audit, target=str(audit.uuid),
              new={"calibrates": str(main.uuid), "rater": rater.username})
    db.session.flush()
    return audit


def live_consultant_audit(site_id: int, phase: str) -> Audit | None:
    """The site's consultant audit of the round that is not voided (draft, reopened or submitted):
    for a compared round (ONE_PER_SITE) there is at most one, so that the round has one audit that counts."""
    return db.session.scalar(select(Audit).where(
        Audit.site_id == site_id, Audit.phase == phase, Audit.kind == CONSULTANT_AUDIT,
        Audit.voided_at.is_(None)).order_by(Audit.id).limit(1))


def void_audit(audit: Audit, user, reason: str) -> Audit:
    """A reviewer voids an audit with a reason: it stays readable (and marked so) but is left out
    of every comparison, report and agreement figure, and its site and round may start again. Logged."""
    if not policy.can_void(user):
        raise PermissionDenied(_("Only reviewers and admins can void an audit."))
    reason = clean_text(reason or "")
    if not reason:
        raise ValidationError(_("Give a reason for voiding."), code="reason_required",
                              details=[{"field": "reason", "message": _("Give a reason for voiding.")}])
    if len(reason) > NOTE_MAX:
        raise ValidationError(_("The reason is too long (at most %(n)d characters).", n=NOTE_MAX),
                              details=[{"field": "reason"}])
    if audit.voided:
        raise ConflictError(_("This audit is already voided."), code="already_voided")
    bump_row_version(audit, None, locked_ok=True)
    audit.voided_at, audit.void_reason, audit.voided_by_id = utcnow(), reason, user.id
    log_event("audit.void", user=user, audit=audit, target=str(audit.uuid),
              old={"status": audit.status}, new={"status": "voided"}, detail=reason)
    db.session.flush()
    _store_compared_rounds(audit)
    return audit


def _replayed(existing: Audit, req: StartRequest) -> Audit:
    if not _same_content(existing, req):
        raise ConflictError(
            _("An audit with this id already exists with different content."),
            code="id_conflict")
    return existing


# ---------------------------------------------------------------- rooms
def normalise_room(name: str | None) -> str:
    """A room's name as stored: trimmed, one line, NFC ("" for a zone audited once)."""
    return clean_text(name or "", multiline=False)


def add_room(audit: Audit, zone: Zone, name: str, user) -> Room:
    """Another room of a repeating zone (a classroom "Lớp 3A"); an existing one is returned."""
    ensure_editable(audit, user)
    name = normalise_room(name)
    if not zone.repeats:
        raise ValidationError(_("This zone is audited once; it cannot be added again."))
    if not name:
        raise ValidationError(_("Give the room a name, for example “Lớp 3A”."))
    if len(name) > ROOM_NAME_MAX:
        raise ValidationError(_("The name is too long (at most %(n)d characters).", n=ROOM_NAME_MAX))
    existing = _room(audit, zone, name)
    if existing:
        return existing
    last = max((r.position for r in audit.rooms if r.zone_id == zone.id), default=zone.position * 1000)
    room = Room(audit=audit, zone_id=zone.id, name=name, position=last + 1)
    db.session.add(room)
    log_event("audit.zone_add", user=user, audit=audit, target=zone.code, new=name)
    db.session.flush()
    return room


def remove_room(audit: Audit, zone: Zone, name: str, user) -> None:
    ensure_editable(audit, user)
    room = _room(audit, zone, normalise_room(name))
    if room is None or not zone.repeats:
        raise ValidationError(_("No such room in this audit."))
    its_answers = [a for a in audit.answers if a.item.zone_id == zone.id and a.room == room.name]
    if any(a.is_answered for a in its_answers):
        raise ValidationError(_("This room already has answers; clear them before removing it."))
    for a in its_answers:
        db.session.delete(a)
    db.session.delete(room)
    log_event("audit.zone_remove", user=user, audit=audit, target=zone.code, old=room.name)
    db.session.flush()


def _room(audit: Audit, zone: Zone, name: str) -> Room | None:
    return next((r for r in audit.rooms if r.zone_id == zone.id and r.name == name), None)


# ---------------------------------------------------------------- editing rules
def ensure_editable(audit: Audit, user) -> None:
    if audit.voided:
        raise LockedError(_("This audit is voided: it can be read but not changed."), code="voided")
    if audit.status == "submitted":
        raise LockedError(_("This audit is submitted and locked. A reviewer can reopen it."))
    if not policy.can_edit_audit(user, audit):
        raise PermissionDenied(_("You may not change this audit."))


def _bump_statement(check_version: bool, locked_ok: bool):
    """UPDATE ... RETURNING the new row version; the four variants are built once (below)."""
    audits = Audit.__table__
    stmt = update(audits).where(audits.c.id == bindparam("audit_id"))
    if not locked_ok:
        stmt = stmt.where(audits.c.status != "submitted")
    if check_version:
        stmt = stmt.where(audits.c.row_version == bindparam("expected"))
    return stmt.values(row_version=audits.c.row_version + 1, updated_at=bindparam("now")).returning(
        audits.c.row_version, audits.c.status)


_BUMPS = {(check, locked_ok): _bump_statement(check, locked_ok)
          for check in (False, True) for locked_ok in (False, True)}


def bump_row_version(audit: Audit, expected: int | None, *, locked_ok: bool = False) -> None:
    """Atomic compare-and-increment of an audit that is not submitted.

    One UPDATE ... RETURNING: a stale `expected` raises ConflictError (409); an audit submitted
    by someone else since it was read raises LockedError (unless `locked_ok`: reopening).
    """
    now = utcnow()
    params = {"audit_id": audit.id, "now": now}
    if expected is not None:
        params["expected"] = expected
    row = db.session.execute(_BUMPS[(expected is not None, locked_ok)], params).one_or_none()
    if row is None:
        db.session.refresh(audit, ["row_version", "status"])
        if audit.status == "submitted":
            raise LockedError(_("This audit is submitted and locked. A reviewer can reopen it."))
        raise ConflictError(
            _("Someone else changed this audit in the meantime (version %(current)d, yours %(yours)d). "
              "Reload to see their answers; yours are shown beside them.",
              current=audit.row_version, yours=expected),
            code="stale_row_version", details={"row_version": audit.row_version})
    # The row as it is now, under the write lock: later steps trust these, not what was read earlier.
    set_committed_value(audit, "row_version", row.row_version)
    set_committed_value(audit, "status", row.status)
    set_committed_value(audit, "updated_at", now)


# ---------------------------------------------------------------- answers
@dataclass
class AnswerInput:
    item: ItemSpec
    room: str
    score: int | None
    na: bool
    note: str | None  # None: leave the note as it is
    base: dict | None = None  # the answer as the client last saw it ({score, na, note}); None: not sent


def parse_answer_entries(audit: Audit, entries: list) -> list[AnswerInput]:
    """Validate a batch; any bad entry raises ValidationError listing every problem."""
    items = checklist_spec(audit.template).by_code
    problems: list[dict] = []
    parsed: list[AnswerInput] = []
    if not isinstance(entries, list) or not entries:
        raise ValidationError(_("Send at least one answer."), details=[])
    for index, entry in enumerate(entries):
        errs = _entry_problems(entry, items)
        if errs:
            problems.extend({"index": index, "item": _safe_item(entry), **e} for e in errs)
            continue
        item = items[entry["item"]]
        room = normalise_room(entry.get("zone_instance"))
        parsed.append(AnswerInput(item=item, room=room if item.repeats else "",
                                  score=entry.get("score"), na=bool(entry.get("na", False)),
                                  note=clean_text(entry["note"]) if entry.get("note") is not None else None,
                                  base=_parse_base(entry["base"]) if "base" in entry else None))
    if problems:
        raise ValidationError(_("Some answers are not valid; nothing was saved."), details=problems)
    return parsed


def _parse_base(base: dict | None) -> dict:
    """An entry's base as an answer state; null: the item had no answer. Without a note in it,
    the notes are not compared."""
    base = base or {}
    note = base.get("note")
    return {"score": None if base.get("na") else base.get("score"), "na": bool(base.get("na", False)),
            "note": clean_text(note) if note is not None else None}


def _base_problems(base) -> list[dict]:
    if base is None:
        return []
    if not isinstance(base, dict):
        return [{"field": "base", "message": _("The base must be an answer (score, na, note) or null.")}]
    score, na, note = base.get("score"), base.get("na", False), base.get("note")
    errs = []
    if score is not None and (isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 4):
        errs.append({"field": "base", "message": _("A score is a whole number from 0 to 4.")})
    if not isinstance(na, bool):
        errs.append({"field": "base", "message": _("N/A must be true or false.")})
    if note is not None and not isinstance(note, str):
        errs.append({"field": "base", "message": _("The note must be text.")})
    return errs


def _safe_item(entry):
    return entry.get("item") if isinstance(entry, dict) and isinstance(entry.get("item"), str) else None


def _entry_problems(entry, items: dict[str, ItemSpec]) -> list[dict]:
    if not isinstance(entry, dict):
        return [{"field": None, "message": _("Each answer must be an object.")}]
    errs = []
    code = entry.get("item")
    item = items.get(code) if isinstance(code, str) else None
    if item is None:
        errs.append({"field": "item", "message": _("Unknown item for this checklist.")})
    score, na = entry.get("score"), entry.get("na", False)
    if score is not None and (isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 4):
        errs.append({"field": "score", "message": _("A score is a whole number from 0 to 4.")})
    if not isinstance(na, bool):
        errs.append({"field": "na", "message": _("N/A must be true or false.")})
    elif na and score is not None:
        errs.append({"field": "na", "message": _("An item is either scored or N/A, not both.")})
    elif na and item is not None and not item.na_allowed:
        errs.append({"field": "na", "message": _("This item cannot be marked N/A.")})
    note = entry.get("note")
    if note is not None and not isinstance(note, str):
        errs.append({"field": "note", "message": _("The note must be text.")})
    elif isinstance(note, str) and len(clean_text(note)) > NOTE_MAX:
        errs.append({"field": "note", "message": _("The note is too long (at most %(n)d characters).", n=NOTE_MAX)})
    room = entry.get("zone_instance")
    if room is not None and not isinstance(room, str):
        errs.append({"field": "zone_instance", "message": _("The room name must be text.")})
    elif item is not None and item.repeats and not normalise_room(room):
        errs.append({"field": "zone_instance", "message": _("This zone repeats: name the room (zone_instance).")})
    elif item is not None and not item.repeats and normalise_room(room):
        errs.append({"field": "zone_instance",
                     "message": _("This zone is audited once: send no room (zone_instance) for it.")})
    elif isinstance(room, str) and len(normalise_room(room)) > ROOM_NAME_MAX:
        errs.append({"field": "zone_instance", "message": _("The room name is too long.")})
    elif isinstance(room, str) and has_control_chars(room):
        errs.append({"field": "zone_instance", "message": _("The room name contains control characters.")})
    if "base" in entry:
        errs.extend(_base_problems(entry["base"]))
    return errs


def save_answers(audit: Audit, user, entries: list, *, row_version: int | None) -> list[SavedAnswer]:
    """Upsert a batch of answers all-or-nothing, bumping the audit's row version once.

    Every caller (the zone form, the API, the tablets' offline queue) saves this way: each answer
    is one upsert, the same statement on SQLite and PostgreSQL. Returns the saved answers.

    A stale `row_version` is a conflict (409, stale_row_version), unless every entry carries its
    `base` (the answer as the client last saw it): then a colleague's changes to other answers do
    not stop the save (see `_bump_over_colleagues`). Such a batch whose every answer this user
    saved already, as it is (a tablet's retry of a save whose response the link lost), changes
    nothing: no new row version, no write; its answers are returned as they are.
    """
    ensure_editable(audit, user)
    parsed = parse_answer_entries(audit, entries)
    try:
        bump_row_version(audit, row_version)
    except ConflictError as exc:
        if exc.code != "stale_row_version" or any(entry.base is None for entry in parsed):
            raise
        if not _bump_over_colleagues(audit, parsed, user):
            return _saved_already(audit, parsed)
    _add_missing_rooms(audit, parsed, user)
    saved = _upsert(audit, user, parsed)
    db.session.expire(audit, ["answers"])  # read again when next needed
    db.session.flush()
    return saved


def _bump_over_colleagues(audit: Audit, parsed: list[AnswerInput], user) -> bool:
    """The merge rule: a batch whose every answer is still its base (a colleague changed other answers
    meanwhile) is saved on top of theirs; one answer a colleague changed too stops it all (409,
    answer_changed, theirs and yours for each). The audit's row is locked first (PostgreSQL; SQLite's
    write lock is held already), so nobody saves between reading the answers and saving over them.
    Returns False, bumping nothing, for a replay: every answer is already what the batch would save,
    saved last by this same user (a colleague's equal value is still a save of one's own)."""
    db.session.refresh(audit, ["row_version", "status"], with_for_update=True)
    now = _states_of(audit, parsed)
    clashes = _changed_meanwhile(audit, parsed, now)
    if clashes:
        raise ConflictError(
            _("Someone else changed the same answer in the meantime; nothing was saved. "
              "Theirs and yours are shown side by side."),
            code="answer_changed", details={"row_version": audit.row_version, "answers": clashes})
    if _batch_replayed(audit, parsed, now, user):
        return False
    bump_row_version(audit, audit.row_version)
    return True


def _batch_replayed(audit: Audit, parsed: list[AnswerInput], now: dict[tuple[int, str], dict], user) -> bool:
    """Every answer of the batch is already what it would save, saved last by this same user."""
    savers = dict(((r.item_id, r.room), r.updated_by_id) for r in db.session.execute(
        select(Answer.item_id, Answer.room, Answer.updated_by_id).where(
            Answer.audit_id == audit.id, Answer.item_id.in_(sorted({e.item.id for e in parsed})))))
    return all(savers.get((e.item.id, e.room)) == user.id and (e.item.id, e.room) in now
               and _same(now[(e.item.id, e.room)], _yours(e, now[(e.item.id, e.room)])) for e in parsed)


def _saved_already(audit: Audit, parsed: list[AnswerInput]) -> list[SavedAnswer]:
    """The rows of a batch the server holds already, as an upsert would have returned them."""
    keys = {(e.item.id, e.room) for e in parsed}
    rows = db.session.execute(select(Answer.id, Answer.item_id, Answer.room, Answer.score, Answer.na, Answer.note,
                                     Answer.updated_at).where(
        Answer.audit_id == audit.id, Answer.item_id.in_(sorted({item for item, _room in keys}))))
    return [_saved(row) for row in rows if (row.item_id, row.room) in keys]


def _state_or_none(now: dict[tuple[int, str], dict], entry: AnswerInput) -> dict:
    return now.get((entry.item.id, entry.room)) or {"score": None, "na": False, "note": ""}


def _yours(entry: AnswerInput, theirs: dict) -> dict:
    """The state the entry would save over `theirs` (no note sent: theirs stays)."""
    return {"score": None if entry.na else entry.score, "na": entry.na,
            "note": theirs["note"] if entry.note is None else entry.note}


def _changed_meanwhile(audit: Audit, parsed: list[AnswerInput], now: dict[tuple[int, str], dict]) -> list[dict]:
    """The entries whose answer is no longer their base, and not already what they would save."""
    clashes = []
    for entry in parsed:
        theirs = _state_or_none(now, entry)
        yours = _yours(entry, theirs)
        if _same(theirs, entry.base) or _same(theirs, yours):
            continue
        clashes.append({"item": entry.item.code, "zone_instance": entry.room or None,
                        "yours": yours, "theirs": theirs})
    return clashes


def _same(state: dict, other: dict) -> bool:
    """Equal answers; a note of None (not sent) is not compared."""
    return (state["score"], state["na"]) == (other["score"], other["na"]) and (
        other["note"] is None or state["note"] == other["note"])


@dataclass
class SavedAnswer:
    """An answer as the upsert wrote it (the columns a response needs)."""
    id: int
    item_id: int
    room: str
    score: int | None
    na: bool
    note: str
    updated_at: object


_UPSERT_SQL = """
INSERT INTO answers (audit_id, item_id, zone_instance, score, na, note, updated_at, updated_by_id)
VALUES (:audit_id, :item_id, :room, :score, :na, :note, :updated_at, :updated_by_id)
ON CONFLICT (audit_id, item_id, zone_instance) DO UPDATE
SET old_score = answers.score, old_na = answers.na, old_note = answers.note,
    score = excluded.score, na = excluded.na, updated_at = excluded.updated_at,
    updated_by_id = excluded.updated_by_id{note}
RETURNING id, item_id, zone_instance AS room, score, na, note, updated_at, old_score, old_na, old_note"""


def _upsert_statement(keep_note: bool):
    """INSERT ... ON CONFLICT (audit, item, room) DO UPDATE ... RETURNING: one statement per answer,
    the same SQL on SQLite (3.35+) and PostgreSQL. keep_note: a new answer gets "", an old one
    keeps its note. The DO UPDATE copies the answer it overwrites into old_* (the right-hand sides
    read the row as it was, on both databases), and RETURNING hands both back: the save logs the
    change without reading the answer first.

    Written as text because SQLAlchemy never caches the compiled form of a dialect's
    `insert().on_conflict_do_update()` (its cache key is None): built with it, every save paid
    for compiling the INSERT again. A textual statement is compiled once; the typed parameters
    and columns keep the same conversions (booleans, timestamps) as the table's own."""
    table = Answer.__table__
    columns = [table.c[name] for name in ("id", "item_id", "score", "na", "note", "updated_at",
                                          "old_score", "old_na", "old_note")]
    columns.insert(2, column("room", table.c.zone_instance.type))
    params = [bindparam("room" if c.name == "zone_instance" else c.name, type_=c.type) for c in table.c
              if c.name in ("audit_id", "item_id", "zone_instance", "score", "na", "note", "updated_at",
                            "updated_by_id")]
    return text(_UPSERT_SQL.format(note="" if keep_note else ", note = excluded.note")).bindparams(
        *params).columns(*columns)


_UPSERTS = {keep_note: _upsert_statement(keep_note) for keep_note in (False, True)}
_ANSWERS_OF_ITEMS = (select(Answer.item_id, Answer.room, Answer.score, Answer.na, Answer.note)
                     .where(Answer.audit_id == bindparam("audit_id"),
                            Answer.item_id.in_(bindparam("item_ids", expanding=True))))


def _states_of(audit: Audit, parsed: list[AnswerInput]) -> dict[tuple[int, str], dict]:
    """The answers the batch touches, as they are now: {(item id, room): state}."""
    return {(r.item_id, r.room): _answer_state(r) for r in db.session.execute(
        _ANSWERS_OF_ITEMS, {"audit_id": audit.id, "item_ids": sorted({e.item.id for e in parsed})})}


def _upsert(audit: Audit, user, parsed: list[AnswerInput]) -> list[SavedAnswer]:
    """The batch as upserts (the last entry for an answer wins), each change logged with the old value
    its upsert returned: nothing is read first."""
    now = utcnow()
    saved: dict[tuple[int, str], SavedAnswer] = {}
    for entry in parsed:
        row = db.session.execute(_UPSERTS[entry.note is None], {
            "audit_id": audit.id, "item_id": entry.item.id, "room": entry.room,
            "score": None if entry.na else entry.score, "na": entry.na, "note": entry.note or "",
            "updated_at": now, "updated_by_id": user.id}).one()
        key = (row.item_id, row.room)
        saved[key] = _saved(row)
        _log_answer_change(audit, user, entry, _old_state(row), _answer_state(saved[key]))
    return list(saved.values())


def _old_state(row) -> dict | None:
    """The answer an upsert overwrote (None: it saved a new one)."""
    if row.old_na is None:
        return None
    return {"score": row.old_score, "na": bool(row.old_na), "note": row.old_note or ""}


def _saved(row) -> SavedAnswer:
    """A row RETURNed by an upsert; an Answer of this row already in the session is expired."""
    stale = db.session.identity_map.get(identity_key(Answer, row.id))
    if stale is not None:
        db.session.expire(stale)
    return SavedAnswer(row.id, row.item_id, row.room, row.score, bool(row.na), row.note or "", row.updated_at)


def _log_answer_change(audit: Audit, user, entry: AnswerInput, old: dict | None, new: dict) -> None:
    """Every change of a saved answer is logged with its old and new value; so is a first answer given
    after a reopen (the submitted record had none). A first answer of a draft is not a change."""
    if old != new and (old is not None or audit.status == "reopened"):
        log_event("answer.change", user=user, audit=audit,
                  target=_answer_target(entry.item.code, entry.room), old=old, new=new)


def _add_missing_rooms(audit: Audit, parsed: list[AnswerInput], user) -> None:
    """Answers for a room of a repeating zone that the audit does not have yet add the room."""
    wanted = {(e.item.zone_id, e.room) for e in parsed if e.item.repeats}
    if not wanted:
        return
    have = set(db.session.execute(select(Room.zone_id, Room.name).where(
        Room.audit_id == audit.id, Room.zone_id.in_({z for z, _n in wanted}))).tuples())
    for zone_id, name in sorted(wanted - have):
        add_room(audit, db.session.get(Zone, zone_id), name, user)


def _answer_target(code: str, room: str) -> str:
    return f"{code} [{room}]" if room else code


def _answer_state(answer: Answer | None) -> dict | None:
    if answer is None:
        return None
    return {"score": answer.score, "na": bool(answer.na), "note": answer.note or ""}


# ---------------------------------------------------------------- completeness, submit, reopen
@dataclass(frozen=True)
class Missing:
    zone: Zone
    room: str
    item: Item | None  # None: a repeating zone with no room added yet


def missing_items(audit: Audit) -> list[Missing]:
    answered = {(a.item_id, a.room) for a in audit.answers if a.is_answered}
    missing = []
    for zone in audit.template.zones:
        rooms = [r.name for r in audit.rooms if r.zone_id == zone.id]
        if zone.repeats and not rooms:
            missing.append(Missing(zone, "", None))
            continue
        for room in rooms:
            missing.extend(Missing(zone, room, item) for item in zone.items
                           if (item.id, room) not in answered)
    return missing


def submit_audit(audit: Audit, user, *, row_version: int | None = None) -> Audit:
    ensure_editable(audit, user)
    missing = missing_items(audit)
    if missing:
        empty = sum(1 for m in missing if m.item is None)  # a repeating zone with no room is not an item
        message = (_("%(n)d items are not scored yet, and %(zones)d repeating zones have no room yet; add a room, "
                     "then score them or mark them N/A.", n=len(missing) - empty, zones=empty) if empty
                   else _("%(n)d items are not scored yet; score them or mark them N/A.", n=len(missing)))
        raise ValidationError(
            message,
            code="incomplete",
            details=[{"zone": m.zone.code, "zone_instance": m.room or None,
                      "item": m.item.code if m.item else None} for m in missing])
    bump_row_version(audit, row_version)
    old = audit.status
    audit.status, audit.submitted_at = "submitted", utcnow()
    log_event("audit.submit", user=user, audit=audit, target=str(audit.uuid),
              old={"status": old}, new={"status": "submitted"})
    db.session.flush()
    _store_compared_rounds(audit)
    return audit


def reopen_audit(audit: Audit, user, reason: str) -> Audit:
    if not policy.can_reopen(user):
        raise PermissionDenied(_("Only reviewers and admins can reopen an audit."))
    reason = clean_text(reason)
    if not reason:
        raise ValidationError(_("Give a reason for reopening."), code="reason_required")
    if len(reason) > NOTE_MAX:
        raise ValidationError(_("The reason is too long (at most %(n)d characters).", n=NOTE_MAX))
    if audit.status != "submitted" or audit.voided:
        raise ConflictError(_("Only a submitted audit can be reopened."), code="not_submitted")
    bump_row_version(audit, None, locked_ok=True)
    audit.status = "reopened"
    log_event("audit.reopen", user=user, audit=audit, target=str(audit.uuid),
              old={"status": "submitted"}, new={"status": "reopened"}, detail=reason)
    db.session.flush()
    _store_compared_rounds(audit)
    return audit


def _store_compared_rounds(audit: Audit) -> None:
    """A consultant's round was submitted, reopened or voided: the site's baseline and final may now be other
    audits, whose sums are stored for the comparisons to read (fivs.round_sums)."""
    if audit.kind == CONSULTANT_AUDIT:
        store_round_sums([audit.site_id])


# ---------------------------------------------------------------- scores
def scored_answers(audit: Audit, answers=None) -> list[scoring.ScoredAnswer]:
    """The audit's answers as scoring input, in checklist order. `answers`: `audit.answers` when
    None, or any rows with item_id, zone_instance, score and na (a query's: no ORM object each)."""
    spec = checklist_spec(audit.template)
    rows = sorted(audit.answers if answers is None else answers, key=lambda a: spec.by_id[a.item_id].position)
    return [spec.scored_answer(a.item_id, a.room, a.score, a.na) for a in rows]


def audit_scores(audit: Audit, answers=None) -> scoring.AuditScores:
    """The audit's scores: the one way the pages, the API and the reports compute an audit's scores."""
    return scoring.audit_scores(scored_answers(audit, answers))


# ---------------------------------------------------------------- acknowledgement (sign-off)
def current_acknowledgement(audit: Audit) -> Acknowledgement | None:
    """The acknowledgement of the audit's present submission (None while it is not submitted, or
    when the submission since a reopen has not been acknowledged yet)."""
    if audit.status != "submitted" or audit.submitted_at is None:
        return None
    submitted = as_utc(audit.submitted_at)  # compared in Python: SQLite hands back naive times
    acks = db.session.scalars(select(Acknowledgement).where(Acknowledgement.audit_id == audit.id)
                              .order_by(Acknowledgement.id.desc()))
    return next((a for a in acks if as_utc(a.submitted_at) == submitted), None)


def acknowledge_audit(audit: Audit, user, comment: str | None) -> Acknowledgement:
    """The site head acknowledges the submitted consultant audit, once per submission; logged."""
    if not policy.can_acknowledge(user, audit):
        raise PermissionDenied(_("Only the site's principal or clinic head can acknowledge its audit."))
    comment = clean_text(comment or "")
    if len(comment) > NOTE_MAX:
        raise ValidationError(_("The comment is too long (at most %(n)d characters).", n=NOTE_MAX),
                              code="too_long", details=[{"field": "comment"}])
    if audit.kind != CONSULTANT_AUDIT:
        raise ConflictError(_("Only a consultant audit is acknowledged."), code="not_consultant")
    if audit.status != "submitted":
        raise ConflictError(_("Only a submitted audit can be acknowledged."), code="not_submitted")
    if current_acknowledgement(audit) is not None:
        raise ConflictError(_("This submission of the audit is already acknowledged."), code="already_acknowledged")
    ack = Acknowledgement(audit=audit, user=user, comment=comment, submitted_at=audit.submitted_at,
                          created_at=utcnow())
    db.session.add(ack)
    log_event("audit.acknowledge", user=user, audit=audit, target=str(audit.uuid),
              new={"comment": comment} if comment else None, detail=comment)
    db.session.flush()
    return ack
