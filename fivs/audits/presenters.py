"""Shape an audit for the capture pages: rooms with progress, item rows, history lines.

Pure read-side helpers: no writes, no rules (those live in fivs.audits.services).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from flask_babel import gettext as _

from fivs.audits.forms import note_field, score_field
from fivs.events.queries import ACTION_LABELS
from fivs.labels import kind_label, phase_label, status_label


@dataclass(frozen=True)
class RoomProgress:
    """A room of the audit with how many of its zone's items are answered."""
    zone: object
    room: str
    answered: int
    total: int


@dataclass
class ZoneGroup:
    zone: object
    rooms: list[RoomProgress] = field(default_factory=list)


@dataclass
class ItemRow:
    item: object
    choice: str  # "0".."4", "na" or ""
    note: str
    answer: object | None  # the saved answer (who, when)
    errors: list[str] = field(default_factory=list)
    conflict: bool = False  # after a refused save: the server's answer (`answer`) differs from the input
    base: str = ""  # the server's choice, as the page shows it (the form's base-<item>)


def answer_map(audit) -> dict[tuple[int, str], object]:
    return {(a.item_id, a.room): a for a in audit.answers}


def zone_groups(audit) -> list[ZoneGroup]:
    answered: dict[tuple[int, str], int] = {}
    for a in audit.answers:
        if a.is_answered:
            key = (a.item.zone_id, a.room)
            answered[key] = answered.get(key, 0) + 1
    groups = {zone.id: ZoneGroup(zone) for zone in audit.template.zones}
    for r in audit.rooms:
        groups[r.zone_id].rooms.append(
            RoomProgress(r.zone, r.name, answered.get((r.zone_id, r.name), 0), len(r.zone.items)))
    return list(groups.values())


@dataclass(frozen=True)
class AuditProgress:
    """How far an audit is: answered items over all items of its rooms, the rooms still to finish
    (a repeating zone with no room yet counts as one zone left), and where to go on."""
    answered: int
    total: int
    zones_left: int
    next_room: RoomProgress | None  # the first room with an item left, in checklist order
    empty_zones: tuple  # repeating zones with no room added yet

    @property
    def complete(self) -> bool:
        return self.zones_left == 0


def audit_progress(audit, groups: list[ZoneGroup] | None = None) -> AuditProgress:
    groups = zone_groups(audit) if groups is None else groups
    rooms = [r for g in groups for r in g.rooms]
    empty = tuple(g.zone for g in groups if g.zone.repeats and not g.rooms)
    unfinished = [r for r in rooms if r.answered < r.total]
    return AuditProgress(sum(r.answered for r in rooms), sum(r.total for r in rooms),
                         len(unfinished) + len(empty), unfinished[0] if unfinished else None, empty)


def neighbours(audit, zone, room: str) -> tuple[RoomProgress | None, RoomProgress | None]:
    flat = [r for g in zone_groups(audit) for r in g.rooms]
    index = next(n for n, r in enumerate(flat) if r.zone.id == zone.id and r.room == room)
    return (flat[index - 1] if index else None), (flat[index + 1] if index + 1 < len(flat) else None)


def choice_of(answer) -> str:
    if answer is None:
        return ""
    if answer.na:
        return "na"
    return "" if answer.score is None else str(answer.score)


def item_rows(audit, zone, room: str, formdata=None, problems=(), conflict: bool | set = False) -> list[ItemRow]:
    """One row per item; with `formdata` (a re-rendered POST) the user's inputs win. `conflict`:
    True after a stale save (any input unlike the server's is shown beside it), or the codes of
    the items a colleague changed meanwhile (only those are)."""
    saved = answer_map(audit)
    rows = []
    for item in zone.items:
        answer = saved.get((item.id, room))
        row = ItemRow(item, choice_of(answer), answer.note if answer else "", answer, base=choice_of(answer))
        if formdata is not None:
            row.choice = formdata.get(score_field(item), "")
            row.note = formdata.get(note_field(item), "")
            flagged = item.code in conflict if isinstance(conflict, set) else conflict
            row.conflict = flagged and (row.choice, row.note) != (choice_of(answer), answer.note if answer else "")
        row.errors = [p["message"] for p in problems if p.get("item") == item.code]
        rows.append(row)
    return rows


def missing_groups(missing) -> list[tuple[object, str, list]]:
    """Missing items grouped by room: [(zone, room, [items])] (items empty: no room yet)."""
    return [(zone, room, [m.item for m in group if m.item is not None])
            for (zone, room), group in groupby(missing, key=lambda m: (m.zone, m.room))]


def action_label(action: str) -> str:
    """The event log's own label (one list for the whole app), without the raw code."""
    return str(ACTION_LABELS.get(action, action))


def describe(value) -> str:
    """A logged old/new value in words: an answer state, a status, or plain text."""
    if value is None:
        return "—"
    if isinstance(value, dict) and "score" in value:
        text = _("N/A") if value.get("na") else ("—" if value["score"] is None else str(value["score"]))
        return f"{text} · {value['note']}" if value.get("note") else text
    if isinstance(value, dict) and "status" in value:
        return status_label(value["status"])
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True)
class HistoryLine:
    """One line of an audit's history in words: no payload, no id."""
    at: object
    who: str
    what: str
    subject: str  # the answer ("C1-01 [Lớp 3A]" and its text), the photo's item, the room
    old: str
    new: str
    reason: str


def history_lines(audit, events, lang: str) -> list[HistoryLine]:
    """The audit's events (oldest first) as lines people read: who changed which answer from what
    to what, photos added and removed (with their item), rooms, start, submit, reopen and
    acknowledgement with their reasons or comments."""
    items = {i.code: i for i in audit.template.items}
    zones = {z.code: z for z in audit.template.zones}

    def item_words(code, room=None) -> str:
        item = items.get(code)
        text = f"{code} [{room}]" if room else (code or "")
        return f"{text} · {item.text(lang)}" if item else text

    lines = []
    for e in events:
        old, new, subject = describe(e.old_value), describe(e.new_value), ""
        if e.action == "answer.change":
            code, _sep, room = e.target.partition(" [")
            subject = item_words(code, room.rstrip("]") or None)
        elif e.action in ("photo.add", "photo.delete"):
            value = (e.new_value if e.action == "photo.add" else e.old_value) or {}
            subject = item_words(value.get("item"), value.get("zone_instance")) or _("The audit as a whole")
            old = new = "—"
        elif e.action in ("audit.zone_add", "audit.zone_remove"):
            zone = zones.get(e.target)
            subject = zone.name(lang) if zone else e.target
        elif e.action == "audit.create":
            value = e.new_value or {}
            old, new = "—", " · ".join(filter(None, (phase_label(value.get("phase", "")),
                                                      kind_label(value.get("kind", "")))))
        elif e.action == "audit.acknowledge":
            old = new = "—"
        who = (e.user.full_name or e.user.username) if e.user else (e.username or "—")
        lines.append(HistoryLine(e.at, who, action_label(e.action), subject, old, new, e.detail))
    return lines


LABELS = {"phase_label": phase_label, "kind_label": kind_label, "status_label": status_label}
