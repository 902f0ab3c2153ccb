"""Photo pages: upload from the zone page (camera or gallery), remove, and serve the images.

The images are served only here and by the API (both through `photo_file`), after the
site-scoped access check: another site's photo is a 404.
"""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from fivs.audits.queries import hidden_audits
from fivs.audits.services import normalise_room
from fivs.auth import policy
from fivs.auth.access import get_audit_or_404, get_photo_or_404
from fivs.comparisons.photos import baseline_photos_for
from fivs.db import reading
from fivs.extensions import db
from fivs.photos.models import Photo
from fivs.photos.queries import photos_for_audit
from fivs.photos.services import delete_photo, photo_file, prepare_photo, store_photo
from fivs.services_errors import ServiceError, ValidationError

photos_bp = Blueprint("photos", __name__)
MAX_AGE = 3600  # an image never changes under its id; private caches may keep it an hour


@photos_bp.post("/audits/<audit_uuid>/photos")
@login_required
def upload(audit_uuid):
    item_code, label = request.form.get("item") or None, normalise_room(request.form.get("zone_instance"))
    file = next((f for f in request.files.getlist("file") if f.filename), None)  # camera or gallery
    try:
        with reading():  # the checks and the pixels hold no write lock (fivs.db)
            audit = get_audit_or_404(audit_uuid)
            back = _back_to(audit, item_code, label)
            if file is None:
                raise ValidationError(_("Choose a photo to upload."))
            prepared = prepare_photo(audit, current_user, file.read(), photo_uuid=uuid.uuid4(),
                                     item_code=item_code, room=label)
        _photo, created = store_photo(prepared)
    except ServiceError as exc:
        db.session.rollback()
        return render_template("photos/refused.html", message=exc.message, back=back), exc.status
    db.session.commit()
    flash(_("Photo added.") if created else _("This photo is already attached here."), "info")
    return redirect(back)


@photos_bp.post("/photos/<photo_uuid>/delete")
@login_required
def delete(photo_uuid):
    photo = get_photo_or_404(photo_uuid)
    back = (url_for("actions.detail", action_uuid=photo.action.uuid, _anchor="photos") if photo.action else
            _back_to(photo.audit, photo.item.code if photo.item else None, photo.room))
    delete_photo(photo, current_user)
    db.session.commit()
    flash(_("Photo removed."), "info")
    return redirect(back)


@photos_bp.get("/photos/<photo_uuid>/<any(display, thumb):variant>")
@login_required
def image(photo_uuid, variant):
    image = photo_file(get_photo_or_404(photo_uuid), variant)  # read through the backend, after the check
    response = send_file(io.BytesIO(image.data), mimetype=image.content_type, etag=image.etag, conditional=True,
                         max_age=MAX_AGE)
    response.cache_control.public = False  # access is per user: no shared cache may keep it
    response.cache_control.private = True
    return response


def _back_to(audit, item_code: str | None, label: str) -> str:
    """The page a photo was added from: the item on its zone page, or the audit summary."""
    if audit is None:
        return url_for("main.home")
    if not item_code:
        return url_for("audits.summary", audit_uuid=audit.uuid, _anchor="photos")
    item = next((i for i in audit.template.items if i.code == item_code), None)
    rooms = {r.name for r in audit.rooms if item and r.zone_id == item.zone_id}
    if item is None or (item.zone.repeats and label not in rooms):
        return url_for("audits.zones", audit_uuid=audit.uuid)
    return url_for("audits.zone", audit_uuid=audit.uuid, zone_code=item.zone.code,
                   room=label if item.zone.repeats else None, _anchor=f"item-{item.code}")


# ---------------------------------------------------------------- for the templates
@dataclass(frozen=True)
class AuditPhotos:
    """What the photo includes show for one audit, loaded once per request."""

    by_answer: dict[tuple[int | None, str], list[Photo]]
    baseline: dict[str, list[Photo]]  # item code -> the site's baseline photos (final audits only)
    editable: bool

    def of(self, item, label: str = "") -> list[Photo]:
        return self.by_answer.get((item.id if item else None, label or ""), [])

    def reference(self, item) -> list[Photo]:
        return self.baseline.get(item.code, [])


@photos_bp.app_template_global()
def audit_photos(audit) -> AuditPhotos:
    """`audit_photos(audit)` in a template: the audit's photos (two queries per request at most)."""
    cache = g.setdefault("audit_photos", {})
    if audit.id not in cache:
        cache[audit.id] = AuditPhotos(
            by_answer=photos_for_audit(audit),
            baseline=baseline_photos_for(audit, hidden_audits(current_user)) if audit.phase == "final" else {},
            editable=not audit.locked and not audit.voided and policy.can_edit_audit(current_user, audit))
    return cache[audit.id]
