"""JSON representations of sites, checklists and audits (the shapes in fivs/api/openapi.py)."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fivs.audits.models import Answer, Audit
from fivs.audits.services import audit_scores
from fivs.checklists.models import ChecklistTemplate, Item
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


def audit_summary(audit: Audit) -> dict:
    return {"id": str(audit.uuid), "site": audit.site.code,
            "checklist": {"key": audit.template.key, "version": audit.template.version},
            "phase": audit.phase, "kind": audit.kind, "status": audit.status,
            "date": audit.audit_date.isoformat(), "auditor": audit.auditor.username,
            "row_version": audit.row_version, "created_at": _time(audit.created_at),
            "updated_at": _time(audit.updated_at), "submitted_at": _time(audit.submitted_at)}


def audit_dict(audit: Audit) -> dict:
    """The whole audit: rooms, answers and unrounded percentages from fivs.scoring."""
    _checklist = _load_checklist(audit)  # held: the session's identity map keeps only referenced objects
    scores = audit_scores(audit)
    return {
        **audit_summary(audit),
        "zone_instances": [{"zone": zi.zone.code, "label": zi.label or None} for zi in audit.zone_instances],
        "answers": [_answer_dict(a) for a in sorted(audit.answers, key=lambda a: (a.item.position,
                                                                                   a.zone_instance))],
        "scores": {"by_s": scores.by_s, "by_zone": scores.by_zone, "overall": scores.overall},
    }


def _load_checklist(audit: Audit) -> list[Item]:
    """Two queries load every item and zone, so answers and rooms find theirs in the session
    (as long as the caller holds the list: the identity map does not keep objects alive)."""
    return db.session.scalars(select(Item).where(Item.template_id == audit.template_id)
                              .options(selectinload(Item.zone))).all()


def _answer_dict(answer: Answer) -> dict:
    return {"item": answer.item.code, "zone_instance": answer.zone_instance or None,
            "score": answer.score, "na": bool(answer.na), "note": answer.note or "",
            "updated_at": _time(answer.updated_at)}
