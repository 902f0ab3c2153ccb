"""/api/v1: thin JSON views over the same services as the HTML pages.

Each view loads (site-scoped: another site's object is a 404), reads its input with
fivs.api.schemas, calls a service, commits once and answers with a representation.
Errors are the app's JSON error shape (fivs/errors.py).
"""
from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fivs.api import schemas
from fivs.api.auth import api_user, authenticate, challenge
from fivs.api.conflicts import current_state_on_conflict
from fivs.api.openapi import openapi_document
from fivs.api.representations import (
    acknowledgement_dict,
    audit_dict,
    audit_summary,
    checklist_dict,
    checklist_summary,
    json_response,
    page_dict,
    photo_dict,
    saved_answers_dict,
    site_dict,
)
from fivs.audits.models import Audit
from fivs.audits.queries import hidden_audits, without_hidden
from fivs.audits.services import (acknowledge_audit, reopen_audit, save_answers, start_audit, start_calibration,
                                  submit_audit, void_audit)
from fivs.auth import policy
from fivs.auth.access import get_audit_or_404, get_photo_or_404, get_site_or_404, visible_sites_query
from fivs.auth.models import User
from fivs.auth.services import find_user
from fivs.checklists.models import ChecklistTemplate
from fivs.db import commit_then_read, reading
from fivs.errors import error_response
from fivs.extensions import csrf, db
from fivs.photos import services as photos
from fivs.photos.pipeline import PhotoError
from fivs.services_errors import PermissionDenied, ValidationError
from fivs.sites.models import Site
from fivs.sites.queries import SiteFilters, filtered_sites, site_page

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)  # bearer requests need no CSRF; cookie requests are checked in authenticate()
PUBLIC_ENDPOINTS = {"api.openapi"}


api_bp.after_request(challenge)


@api_bp.before_request
def _authenticate():
    if request.endpoint not in PUBLIC_ENDPOINTS:
        authenticate()


@api_bp.get("/openapi.json")
def openapi():
    return json_response(openapi_document())


# ---------------------------------------------------------------- sites and checklists
@api_bp.get("/sites")
def list_sites():
    filters, paging = schemas.site_filters(request.args)
    page = site_page(visible_sites_query(api_user()), filters, paging["page"], paging["per_page"])
    return json_response({"sites": [site_dict(s) for s in page.items], **page_dict(page, ".list_sites")})


@api_bp.get("/sites/<code>")
def get_site(code: str):
    return json_response(site_dict(get_site_or_404(code)))


@api_bp.get("/checklists")
def list_checklists():
    templates = db.session.scalars(select(ChecklistTemplate)
                                   .order_by(ChecklistTemplate.key, ChecklistTemplate.version)).all()
    return json_response({"checklists": [checklist_summary(t) for t in templates]})


@api_bp.get("/checklists/<key>/<int:version>")
def get_checklist(key: str, version: int):
    return json_response(checklist_dict(_checklist(key, version) or abort(404)))


def _checklist(key: str, version: int) -> ChecklistTemplate | None:
    if version > schemas.MAX_INT:
        return None
    return db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.key == key, ChecklistTemplate.version == version))


# ---------------------------------------------------------------- audits
@api_bp.post("/audits")
def create_audit():
    """Idempotent on the client's UUID: 201 first, 200 for the same content again, 409 otherwise."""
    body = schemas.audit_create(schemas.json_body())
    user, site = api_user(), get_site_or_404(body.site)
    if not policy.can_audit_site(user, site.id):
        raise PermissionDenied(_("You may not start an audit at this site."))
    template = _checklist(*body.checklist) if body.checklist else None
    if body.checklist and template is None:
        raise ValidationError(_("Some fields are not valid; nothing was changed."), details=[
            {"field": "checklist", "message": _("No checklist with this key and version.")}])
    audit, created = start_audit(user, site, body.phase, body.date, kind=policy.audit_kind_for(user),
                                 audit_uuid=body.id, template=template)
    db.session.commit()
    return json_response(audit_dict(audit), 201 if created else 200,
                         {"Location": url_for(".get_audit", audit_id=audit.uuid)})


@api_bp.get("/audits")
def list_audits():
    filters = schemas.audit_filters(request.args)
    stmt = (select(Audit).options(selectinload(Audit.site), selectinload(Audit.template),
                                  selectinload(Audit.auditor))
            .order_by(Audit.audit_date.desc(), Audit.id.desc()))
    site_ids = policy.visible_site_ids(api_user())
    if site_ids is not None:
        stmt = stmt.where(Audit.site_id.in_(site_ids or {-1}))
    stmt = without_hidden(stmt, hidden_audits(api_user()))
    if filters["site"]:
        stmt = stmt.where(Audit.site_id == get_site_or_404(filters["site"]).id)
    for name in ("phase", "status"):
        if filters[name]:
            stmt = stmt.where(getattr(Audit, name) == filters[name])
    if filters["sites"].any:
        stmt = stmt.where(Audit.site_id.in_(filtered_sites(select(Site.id), filters["sites"])))
    page = db.paginate(stmt, page=filters["page"], per_page=filters["per_page"], error_out=False)
    return json_response({"audits": [audit_summary(a) for a in page.items], **page_dict(page, ".list_audits")})


@api_bp.get("/audits/<audit_id>")
def get_audit(audit_id: str):
    return json_response(audit_dict(get_audit_or_404(audit_id)))


@api_bp.put("/audits/<audit_id>/answers")
def put_answers(audit_id: str):
    with reading():  # the checks before the writes hold no write lock (fivs.db)
        audit = get_audit_or_404(audit_id)
    body = schemas.answers_put(schemas.json_body())
    with current_state_on_conflict(audit, "audit", audit_dict):
        saved = save_answers(audit, api_user(), body.answers, row_version=body.row_version)
    if not schemas.prefers_minimal():
        state = audit_dict(audit)
        db.session.commit()
        return json_response(state, headers={"Vary": "Prefer"})
    # The scores are read after the commit: the save's writes hold nobody back meanwhile.
    state = commit_then_read(lambda: saved_answers_dict(audit, saved))
    return json_response(state, headers={"Vary": "Prefer", "Preference-Applied": "return=minimal"})


@api_bp.post("/audits/<audit_id>/submit")
def submit(audit_id: str):
    audit = get_audit_or_404(audit_id)
    row_version = schemas.submit(schemas.json_body(optional=True))
    with current_state_on_conflict(audit, "audit", audit_dict):
        submit_audit(audit, api_user(), row_version=row_version)
    db.session.commit()
    return json_response(audit_dict(audit))


@api_bp.post("/audits/<audit_id>/reopen")
def reopen(audit_id: str):
    audit = get_audit_or_404(audit_id)
    reason = schemas.reopen(schemas.json_body())
    with current_state_on_conflict(audit, "audit", audit_dict):
        reopen_audit(audit, api_user(), reason)
    db.session.commit()
    return json_response(audit_dict(audit))


@api_bp.post("/audits/<audit_id>/calibration")
def request_calibration(audit_id: str):
    """A reviewer or admin asks a second consultant to score the audit's site and round (201)."""
    audit = get_audit_or_404(audit_id)
    user = api_user()
    if not policy.can_request_calibration(user):
        raise PermissionDenied(_("Only reviewers and admins can ask for a second rater."))
    auditor = schemas.calibration_request(schemas.json_body())
    rater = db.session.get(User, auditor) if isinstance(auditor, int) else find_user(auditor)
    if rater is None:
        raise ValidationError(_("Some fields are not valid; nothing was changed."), details=[
            {"field": "auditor", "message": _("No user with this username or id.")}])
    second = start_calibration(user, audit, rater)
    db.session.commit()
    return json_response(audit_dict(second), 201, {"Location": url_for(".get_audit", audit_id=second.uuid)})


@api_bp.post("/audits/<audit_id>/void")
def void(audit_id: str):
    """A reviewer voids an audit with a reason: it stays readable and counts nowhere."""
    audit = get_audit_or_404(audit_id)
    if not policy.can_void(api_user()):
        raise PermissionDenied(_("Only reviewers and admins can void an audit."))
    reason = schemas.reopen(schemas.json_body())
    void_audit(audit, api_user(), reason)
    db.session.commit()
    return json_response(audit_dict(audit))


@api_bp.post("/audits/<audit_id>/acknowledgement")
def acknowledge(audit_id: str):
    audit = get_audit_or_404(audit_id)
    comment = schemas.acknowledgement(schemas.json_body(optional=True))
    ack = acknowledge_audit(audit, api_user(), comment)
    db.session.commit()
    return json_response(acknowledgement_dict(ack), status=201)


# ---------------------------------------------------------------- photos
@api_bp.post("/audits/<audit_id>/photos")
def upload_photo(audit_id: str):
    """Idempotent on the photo's UUID: 201 first, 200 for a replay."""
    with reading():  # the checks and the pixels hold no write lock (fivs.db)
        audit = get_audit_or_404(audit_id)
        upload = schemas.photo_upload()
        prepared = photos.prepare_photo(audit, api_user(), upload.data, photo_uuid=upload.id,
                                        item_code=upload.item, room=upload.room)
    photo, created = photos.store_photo(prepared)
    db.session.commit()
    return json_response(photo_dict(photo), 201 if created else 200,
                         {"Location": url_for(".get_photo", photo_id=photo.uuid)})


@api_bp.get("/photos/<photo_id>")
def get_photo(photo_id: str):
    return json_response(photo_dict(get_photo_or_404(photo_id)))


@api_bp.delete("/photos/<photo_id>")
def delete_photo(photo_id: str):
    photos.delete_photo(get_photo_or_404(photo_id), api_user())
    db.session.commit()
    response = current_app.response_class(status=204)
    response.headers.remove("Content-Type")  # no body, so no (HTML) content type
    return response


@api_bp.get("/photos/<photo_id>/display", defaults={"variant": "display"})
@api_bp.get("/photos/<photo_id>/thumb", defaults={"variant": "thumb"})
def photo_image(photo_id: str, variant: str):
    image = photos.photo_file(get_photo_or_404(photo_id), variant)  # read through the backend, after the check
    response = send_file(io.BytesIO(image.data), mimetype=image.content_type, etag=image.etag, conditional=True)
    # Access is checked on every request: browsers revalidate (ETag, 304); shared caches keep nothing.
    response.cache_control.public = False
    response.cache_control.private = response.cache_control.no_cache = True
    return response


@api_bp.errorhandler(PhotoError)
def _photo_refused(exc: PhotoError):
    return error_response(exc.status, exc.message, code=exc.code)
