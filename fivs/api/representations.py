"""JSON representations of sites, checklists and audits (the shapes in fivs/api/openapi.py)."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select

from fivs import scoring
from fivs.audits.models import Answer, Audit, ZoneInstance
from fivs.checklists.models import ChecklistTemplate
from fivs.checklists.spec import ChecklistSpec, checklist_spec
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.timeutil import as_utc


def json_response(data, status: int = 200, headers: dict | None = None):
    """UTF-8 JSON (Vietnamese stays readable and short on the wire)."""
    body = current_app.json.dumps(data, ensure_ascii=False) + "\n"
    return current_app.response_class(body, status=status, headers=headers, mimetype="application/json")


def _time(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def site_dict(site: Site) -> dict:
    return {"code": site.code, "name": site.name, "kind": site.kind, "district": site.district,
            "commune": site.commune, "province": site.province, "address": site.address,
            "head_name": site.head_name, "active": bool(site.active)}


def checklist_summary(template: ChecklistTemplate) -> dict:
    return {"key": template.key, "version": template.version, "site_kind": template.site_kind,
            "title_vi": template.title_vi, "title_en": template.title_en}


def checklist_dict(template: ChecklistTemplate) -> dict:
    return {
        **checklist_summary(template),
        "scale": [{"level": s["level"], "anchor_vi": s["anchor_vi"], "anchor_en": s["anchor_en"]}
                  for s in template.scale],
        "zones": [{"code": z.code, "name_vi": z.name_vi, "name_en": z.name_en, "repeats": bool(z.repeats),
                   "items": [{"code": i.code, "s": i.s, "text_vi": i.text_vi, "text_en": i.text_en,
                              "guidance_vi": i.guidance_vi, "guidance_en": i.guidance_en,
                              "na_allowed": bool(i.na_allowed)} for i in z.items]}
                  for z in template.zones],
    }


def audit_summary(audit: Audit, spec: ChecklistSpec | None = None) -> dict:
    template = spec or audit.template
    return {"id": str(audit.uuid), "site": audit.site.code,
            "checklist": {"key": template.key, "version": template.version},
            "phase": audit.phase, "kind": audit.kind, "status": audit.status,
            "date": audit.audit_date.isoformat(), "auditor": audit.auditor.username,
            "row_version": audit.row_version, "created_at": _time(audit.created_at),
            "updated_at": _time(audit.updated_at), "submitted_at": _time(audit.submitted_at)}


def audit_dict(audit: Audit) -> dict:
    """The whole audit: rooms, answers and unrounded percentages from fivs.scoring.

    Built from two narrow queries and the checklist's cached spec.
    """
    spec = checklist_spec(audit.template_id)
    rooms = db.session.execute(select(ZoneInstance.zone_id, ZoneInstance.label)
                               .where(ZoneInstance.audit_id == audit.id)
                               .order_by(ZoneInstance.position, ZoneInstance.id)).all()
    rows = _answer_rows(audit.id)
    rows.sort(key=lambda r: (spec.by_id[r.item_id].position, r.zone_instance))
    return {
        **audit_summary(audit, spec),
        "zone_instances": [{"zone": spec.zone_codes[r.zone_id], "label": r.label or None} for r in rooms],
        "answers": [_answer_dict(spec, r) for r in rows],
        "scores": _scores(spec, rows),
    }


def saved_answers_dict(audit: Audit, saved: list[Answer]) -> dict:
    """The short answer to a save (Prefer: return=minimal): what a tablet needs to go on, without
    the whole audit on a slow line: the new row version, the answers just saved, and the scores
    (added by the caller with `answer_scores`, which needs no ORM object: it may run after the commit)."""
    spec = checklist_spec(audit.template_id)
    return {"id": str(audit.uuid), "status": audit.status, "row_version": audit.row_version,
            "updated_at": _time(audit.updated_at),
            "answers": [_answer_dict(spec, a) for a in saved]}


def answer_scores(template_id: int, audit_id: int, scored=None) -> dict:
    """The audit's scores (as in audit_dict), from its answers as (item id, score, N/A): `scored`,
    or read now."""
    if scored is None:
        scored = db.session.execute(_SCORED_COLUMNS, {"audit_id": audit_id}).tuples()
    return _summed_scores(checklist_spec(template_id), scored)


def _answer_rows(audit_id: int) -> list:
    return db.session.execute(select(Answer.item_id, Answer.zone_instance, Answer.score, Answer.na,
                                     Answer.note, Answer.updated_at)
                              .where(Answer.audit_id == audit_id)).all()


def _answer_dict(spec: ChecklistSpec, row) -> dict:
    return {"item": spec.by_id[row.item_id].code, "zone_instance": row.zone_instance or None,
            "score": row.score, "na": bool(row.na), "note": row.note or "", "updated_at": _time(row.updated_at)}


# Three short columns per answer, from the audit's index: no join, no grouping for the database
# to do; the checklist spec (cached) tells each item's S and zone.
_answers = Answer.__table__  # Core columns: no ORM compile step on each save
_SCORED_COLUMNS = (select(_answers.c.item_id, _answers.c.score, _answers.c.na)
                   .where(_answers.c.audit_id == bindparam("audit_id")))


def _summed_scores(spec: ChecklistSpec, scored) -> dict:
    """The audit's scores, its answers summed per S and per zone as they come (each answer adds
    to two places of flat lists: its S and its zone, see ChecklistSpec.sum_slots)."""
    size = len(spec.sum_keys)
    totals, counts, nas, seen = [0] * size, [0] * size, [0] * size, [False] * size
    slots = spec.sum_slots
    for item_id, score, na in scored:
        s_at, zone_at = slots[item_id]
        seen[s_at] = seen[zone_at] = True
        if na:
            nas[s_at] += 1
            nas[zone_at] += 1
        elif score is not None:
            totals[s_at] += score
            totals[zone_at] += score
            counts[s_at] += 1
            counts[zone_at] += 1
    rows = [(kind, key, totals[n], counts[n], nas[n])
            for n, (kind, key) in enumerate(spec.sum_keys) if seen[n]]  # zones in checklist order
    scores = scoring.audit_scores_from_sums(rows)
    return {"by_s": scores.by_s, "by_zone": scores.by_zone, "overall": scores.overall}


def _scores(spec: ChecklistSpec, rows) -> dict:
    scores = scoring.audit_scores(
        scoring.ScoredAnswer(item_code=item.code, s=item.s, zone_code=item.zone_code,
                             zone_instance=r.zone_instance, score=r.score, na=bool(r.na))
        for r in rows for item in (spec.by_id[r.item_id],))
    return {"by_s": scores.by_s, "by_zone": scores.by_zone, "overall": scores.overall}
