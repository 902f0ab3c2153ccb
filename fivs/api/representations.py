"""JSON representations of sites, checklists and audits (the shapes in fivs/api/openapi.py)."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, request, url_for
from sqlalchemy import select

from fivs import scoring
from fivs.audits.models import Answer, Audit, Room
from fivs.audits.queries import answer_rows
from fivs.audits.services import audit_scores, current_acknowledgement
from fivs.checklists.models import ChecklistTemplate
from fivs.checklists.spec import ChecklistSpec, checklist_spec
from fivs.extensions import db
from fivs.photos.models import Photo
from fivs.sites.models import Site
from fivs.timeutil import as_utc


def json_response(data, status: int = 200, headers: dict | None = None):
    """UTF-8 JSON (Vietnamese stays readable and short on the wire)."""
    body = current_app.json.dumps(data, ensure_ascii=False) + "\n"
    return current_app.response_class(body, status=status, headers=headers, mimetype="application/json")


def _time(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def page_dict(page, endpoint: str) -> dict:
    """Where a page of a list stands: its number, size, the total, and the next and previous pages' URLs
    (the request's filters kept; null at either end)."""
    def link(number: int) -> str:
        return url_for(endpoint, **{**request.args.to_dict(), "page": number, "per_page": page.per_page})
    return {"page": page.page, "per_page": page.per_page, "total": page.total,
            "next": link(page.next_num) if page.has_next else None,
            "prev": link(page.prev_num) if page.has_prev else None}


def site_dict(site: Site) -> dict:
    return {"code": site.code, "name": site.name, "kind": site.kind, "province": site.province,
            "commune": site.commune, "former_province": site.former_province,
            "former_district": site.former_district, "district": site.former_district, "address": site.address,
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
            "updated_at": _time(audit.updated_at), "submitted_at": _time(audit.submitted_at),
            "voided": void_dict(audit)}


def void_dict(audit: Audit) -> dict | None:
    """Who voided the audit, when and why (None: it counts)."""
    if audit.voided_at is None:
        return None
    return {"at": _time(audit.voided_at), "reason": audit.void_reason,
            "by": audit.voided_by.username}


def audit_dict(audit: Audit) -> dict:
    """The whole audit: rooms, answers and unrounded percentages from fivs.scoring.

    Built from two narrow queries and the checklist's cached spec.
    """
    spec = checklist_spec(audit.template)
    rooms = db.session.execute(select(Room.zone_id, Room.name)
                               .where(Room.audit_id == audit.id)
                               .order_by(Room.position, Room.id)).all()
    rows = db.session.execute(select(Answer.item_id, Answer.room, Answer.score, Answer.na,
                                     Answer.note, Answer.updated_at)
                              .where(Answer.audit_id == audit.id)).all()
    rows.sort(key=lambda r: (spec.by_id[r.item_id].position, r.room))
    return {
        **audit_summary(audit, spec),
        "zone_instances": [{"zone": spec.zone_codes[r.zone_id], "label": r.name or None} for r in rooms],
        "answers": [_answer_dict(spec, r) for r in rows],
        "scores": scores_dict(audit_scores(audit, rows)),
        "acknowledgement": acknowledgement_dict(current_acknowledgement(audit)),
    }


def acknowledgement_dict(ack) -> dict | None:
    """The site head's acknowledgement of the audit's present submission (None: not acknowledged)."""
    if ack is None:
        return None
    return {"audit": str(ack.audit.uuid), "by": ack.user.username, "name": ack.user.full_name or ack.user.username,
            "comment": ack.comment, "acknowledged_at": _time(ack.created_at),
            "submission": _time(ack.submitted_at)}


def saved_answers_dict(audit: Audit, saved) -> dict:
    """The short answer to a save (Prefer: return=minimal): what a tablet needs to go on, without
    the whole audit on a slow line: the new row version, the answers just saved, and the scores."""
    spec = checklist_spec(audit.template)
    return {"id": str(audit.uuid), "status": audit.status, "row_version": audit.row_version,
            "updated_at": _time(audit.updated_at),
            "answers": [_answer_dict(spec, a) for a in saved],
            "scores": scores_dict(audit_scores(audit, answer_rows(audit.id)))}


def scores_dict(scores: scoring.AuditScores) -> dict:
    return {"by_s": scores.by_s, "by_zone": scores.by_zone, "overall": scores.overall}


def _answer_dict(spec: ChecklistSpec, row) -> dict:
    return {"item": spec.by_id[row.item_id].code, "zone_instance": row.room or None,
            "score": row.score, "na": bool(row.na), "note": row.note or "", "updated_at": _time(row.updated_at)}


def photo_dict(photo: Photo) -> dict:
    """JSON metadata; the image URLs are the API's (they accept a token or the session)."""
    return {
        "id": str(photo.uuid),
        "audit": str(photo.audit.uuid) if photo.audit else None,
        "action": str(photo.action.uuid) if photo.action else None,
        "item": photo.item.code if photo.item else None,
        "zone_instance": photo.room or None,
        "width": photo.width, "height": photo.height,
        "thumb_width": photo.thumb_width, "thumb_height": photo.thumb_height,
        "captured_at": photo.captured_at.isoformat() if photo.captured_at else None,
        "created_at": as_utc(photo.created_at).isoformat(),
        "display_url": url_for("api.photo_image", photo_id=photo.uuid, variant="display"),
        "thumb_url": url_for("api.photo_image", photo_id=photo.uuid, variant="thumb"),
    }
