"""Photos of an audit and "after" photos of a corrective action: attach, delete, serve, and the
baseline photos beside a final audit.

Files follow the database transaction, whoever commits it (an HTML view, the API, a command):
`attach_photo` writes both derivatives to staging files and adds the row; the session hooks at
the end of this module move the staged files to their keys once the transaction COMMITS and
discard them when it rolls back or is closed. `delete_photo` removes the files after the commit.
So a failed upload leaves neither a file nor a row, and a refused delete keeps both.

Services validate, change the session and flush; the request commits once.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from flask import abort, current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from fivs.actions import services as actions
from fivs.actions.models import CorrectiveAction
from fivs.audits.models import Audit
from fivs.audits.services import add_zone_instance, ensure_editable, log_event, normalise_label
from fivs.auth.access import can_view_audit, parse_uuid_or_404, visible_site_ids
from fivs.checklists.models import Item, Zone
from fivs.comparisons.queries import audits
from fivs.comparisons.services import pick_round
from fivs.db import begin_writes, in_read_phase
from fivs.extensions import db
from fivs.photos import pipeline
from fivs.photos.models import Photo
from fivs.photos.storage import VARIANTS, FileStorage, InvalidKeyError, StagedFile
from fivs.services_errors import (ConflictError, NotFoundError, PermissionDenied, ServiceError,
                                  ValidationError)
from fivs.text import clean_text
from fivs.timeutil import as_utc

log = logging.getLogger(__name__)

CAPTION_MAX = 500
_STORAGE = "fivs.photo_storage"
_PENDING = "fivs.photos.pending"


def get_storage() -> FileStorage:
    """The app's media storage (one per app)."""
    storage = current_app.extensions.get(_STORAGE)
    if storage is None:
        storage = current_app.extensions[_STORAGE] = FileStorage(current_app.config["MEDIA_ROOT"])
    return storage


# ---------------------------------------------------------------- attach
def attach_photo(audit: Audit, user, data: bytes, *, photo_uuid, item_code: str | None = None,
                 zone_instance: str | None = None, caption: str = "") -> tuple[Photo, bool]:
    """Attach a photo to an answer (item + room) or, without an item, to the audit as a whole.

    Idempotent on `photo_uuid`: a replay returns (existing, False). The same picture already on
    the same answer is stored once: (that photo, False). Returns (photo, True) for a new one.
    A room not in the audit yet is added, as saving an answer for it would.
    """
    item, label = _target(audit, item_code, zone_instance)
    existing = _by_uuid(photo_uuid)
    if existing is not None:
        return _replayed(existing, audit, item, label), False
    ensure_editable(audit, user)
    caption = _caption(caption)
    result = _ingest(data)
    if in_read_phase():  # the pixels are done: now write, and check the audit again under the lock
        begin_writes()
        db.session.refresh(audit, ["status"])
        ensure_editable(audit, user)
    same = db.session.scalar(select(Photo).where(
        Photo.audit_id == audit.id, Photo.item_id == (item.id if item else None),
        Photo.zone_instance == label, Photo.sha256 == result.sha256).limit(1))
    if same is not None:
        return same, False
    if item is not None and item.zone.repeats and not any(
            zi.zone_id == item.zone_id and zi.label == label for zi in audit.zone_instances):
        add_zone_instance(audit, item.zone, label, user)

    photo = _store(result, photo_uuid, audit.site.code, str(audit.uuid), audit=audit, site_id=audit.site_id,
                   item_id=item.id if item else None, item=item, zone_instance=label, caption=caption,
                   uploaded_by_id=user.id)
    if photo is None:  # the same upload sent twice at once: the other request stored it
        return _replayed(_by_uuid(photo_uuid), audit, item, label), False
    log_event("photo.add", user=user, audit=audit, target=str(photo.uuid),
              new={"item": item.code if item else None, "zone_instance": label or None,
                   "sha256": result.sha256})
    db.session.flush()
    return photo, True


def attach_action_photo(action: CorrectiveAction, user, data: bytes, *, photo_uuid,
                        caption: str = "") -> tuple[Photo, bool]:
    """An "after" photo of a corrective action: the same pipeline, storage and files-follow-the-
    commit as an audit's photos, stored under the action's site (key "<site>/action-<uuid>/...").

    Whoever may mark the action done may add (and remove) photos while it is open, reopened or
    done; once it is verified the evidence is closed. Idempotent on `photo_uuid` like
    `attach_photo`, and the same picture twice on one action is stored once: (that photo, False).
    """
    if not actions.can_mark_done(user, action):
        raise PermissionDenied(_not_yours_message())
    existing = _by_uuid(photo_uuid)
    if existing is not None:
        return _replayed_on_action(existing, action), False
    _ensure_action_photos_editable(action, user)
    caption = _caption(caption)
    result = _ingest(data)
    same = db.session.scalar(select(Photo).where(Photo.action_id == action.id, Photo.sha256 == result.sha256)
                             .limit(1))
    if same is not None:
        return same, False
    photo = _store(result, photo_uuid, action.site.code, f"action-{action.uuid}", action_id=action.id,
                   site_id=action.site_id, caption=caption, uploaded_by_id=user.id)
    if photo is None:
        return _replayed_on_action(_by_uuid(photo_uuid), action), False
    log_event("photo.add", user=user, site_id=action.site_id, target=actions.target(action),
              new={"photo": str(photo.uuid), "sha256": result.sha256})
    db.session.flush()
    return photo, True


def _store(result: pipeline.IngestResult, photo_uuid, site_code: str, folder: str, **fields) -> Photo | None:
    """Add the photo's row and stage both derivatives to appear under their keys when the
    transaction commits. None when a concurrent request stored a photo with this id first."""
    storage = get_storage()
    keys = {v: storage.key_for(site_code, folder, str(photo_uuid), v) for v in VARIANTS}
    photo = Photo(uuid=photo_uuid, sha256=result.sha256, captured_at=result.captured_at,
                  width=result.width, height=result.height, thumb_width=result.thumb_width,
                  thumb_height=result.thumb_height, source_format=result.source_format,
                  display_key=keys["display"], thumb_key=keys["thumb"], **fields)
    try:
        with db.session.begin_nested():
            db.session.add(photo)
            db.session.flush()
    except IntegrityError:
        if _by_uuid(photo_uuid) is None:
            raise
        return None
    _after_commit(_Move(storage, storage.stage(result.display), keys["display"]))
    _after_commit(_Move(storage, storage.stage(result.thumb), keys["thumb"]))
    return photo


def _by_uuid(photo_uuid) -> Photo | None:
    return db.session.scalar(select(Photo).where(Photo.uuid == photo_uuid))


def _replayed(existing: Photo, audit: Audit, item: Item | None, label: str) -> Photo:
    if (existing.audit_id, existing.item_id, existing.zone_instance) != (
            audit.id, item.id if item else None, label):
        raise ConflictError(_("A photo with this id already exists elsewhere."), code="id_conflict")
    return existing


def _not_yours_message() -> str:
    return _("Only the site, its consultant or an admin can change the photos of this action.")


def _ensure_action_photos_editable(action: CorrectiveAction, user) -> None:
    """Whoever may mark the action done, while it is open, reopened or done (not once verified)."""
    if not actions.can_mark_done(user, action):
        raise PermissionDenied(_not_yours_message())
    if action.status not in (*actions.OPEN_STATUSES, "done"):
        raise ConflictError(_("This action is verified: its photos can no longer change."), code="locked")


def _replayed_on_action(existing: Photo, action: CorrectiveAction) -> Photo:
    if existing.action_id != action.id:
        raise ConflictError(_("A photo with this id already exists elsewhere."), code="id_conflict")
    return existing


def _target(audit: Audit, item_code: str | None, zone_instance: str | None) -> tuple[Item | None, str]:
    """The item and room label a photo belongs to; (None, "") for a photo of the whole audit."""
    if not item_code:
        return None, ""
    item = next((i for i in audit.template.items if i.code == item_code), None)
    if item is None:
        raise ValidationError(_("Unknown item for this checklist."),
                              details=[{"field": "item", "message": _("Unknown item for this checklist.")}])
    if not item.zone.repeats:
        return item, ""
    label = normalise_label(zone_instance)
    if not label:
        message = _("This zone repeats: name the room (zone_instance).")
        raise ValidationError(message, details=[{"field": "zone_instance", "message": message}])
    return item, label


def _caption(caption: str | None) -> str:
    caption = clean_text(caption or "", multiline=False)
    if len(caption) > CAPTION_MAX:
        raise ValidationError(_("The caption is too long (at most %(n)d characters).", n=CAPTION_MAX))
    return caption


class PhotoRefused(ServiceError):
    """The pipeline refused the picture (empty, not an image, damaged, too large...)."""


def _ingest(data: bytes) -> pipeline.IngestResult:
    try:
        return pipeline.ingest(data)
    except pipeline.PhotoError as exc:
        raise PhotoRefused(_photo_message(exc), status=exc.status, code=exc.code) from exc


def _photo_message(exc: pipeline.PhotoError) -> str:
    """The pipeline's refusal in the reader's language."""
    params = exc.params
    if exc.code == "unsupported_type" and params.get("image_format"):
        return _("%(format)s images are not accepted. Please upload a JPEG, PNG, WebP or HEIC photo.",
                 format=params["image_format"])
    if exc.code == "too_many_pixels" and "width" in params:
        return _("The image is too large (%(width)dx%(height)d pixels): photos may have at most 50 megapixels.",
                 width=params["width"], height=params["height"])
    messages = {
        "empty_file": _("The uploaded file is empty."),
        "not_an_image": _("The uploaded file is not an image."),
        "unsupported_type": _("This type of image is not accepted. Please upload a JPEG, PNG, WebP or HEIC photo."),
        "corrupt_image": _("The image is damaged or incomplete and cannot be read."),
        "too_many_pixels": _("The image is too large: photos may have at most 50 megapixels."),
    }
    return messages.get(exc.code, _("The photo could not be processed."))


# ---------------------------------------------------------------- delete
def delete_photo(photo: Photo, user) -> None:
    """Remove a photo of a draft or reopened audit, or an "after" photo of an action that is not
    verified (by whoever may mark it done); its files go once the deletion commits."""
    if photo.action is not None:
        _ensure_action_photos_editable(photo.action, user)
        log_event("photo.delete", user=user, site_id=photo.site_id, target=actions.target(photo.action),
                  old={"photo": str(photo.uuid), "sha256": photo.sha256})
    elif photo.audit is None:
        raise PermissionDenied(_("You may not change this photo."))
    else:
        ensure_editable(photo.audit, user)
        log_event("photo.delete", user=user, audit=photo.audit, target=str(photo.uuid),
                  old={"item": photo.item.code if photo.item else None,
                       "zone_instance": photo.zone_instance or None, "sha256": photo.sha256})
    db.session.delete(photo)
    db.session.flush()
    storage = get_storage()
    for key in (photo.display_key, photo.thumb_key):
        _after_commit(_Delete(storage, key))


# ---------------------------------------------------------------- reading
def get_photo_or_404(photo_uuid) -> Photo:
    """The photo, if the current user may see its site (another site's photo: 404)."""
    photo = _by_uuid(parse_uuid_or_404(photo_uuid))
    if photo is None:
        abort(404)
    if photo.audit is not None:
        visible = can_view_audit(current_user, photo.audit)
    else:
        ids = visible_site_ids(current_user)
        visible = ids is None or photo.site_id in ids
    if not visible:
        abort(404)
    return photo


def photo_file(photo: Photo, variant: str) -> tuple[Path, str]:
    """(file path, ETag) of the "display" or "thumb" image."""
    if variant not in VARIANTS:
        raise NotFoundError(_("Not found, or not yours to see."))
    key = photo.display_key if variant == "display" else photo.thumb_key
    storage = get_storage()
    try:
        return storage.path(key), storage.etag(key)
    except (FileNotFoundError, InvalidKeyError):
        log.error("photo %s: %s file missing (%s)", photo.uuid, variant, key)
        raise NotFoundError(_("The image file of this photo is missing.")) from None


def photo_dict(photo: Photo) -> dict:
    """JSON metadata; the image URLs are the API's (they accept a token or the session)."""
    return {
        "id": str(photo.uuid),
        "audit": str(photo.audit.uuid) if photo.audit else None,
        "action": str(photo.action.uuid) if photo.action else None,
        "item": photo.item.code if photo.item else None,
        "zone_instance": photo.zone_instance or None,
        "width": photo.width, "height": photo.height,
        "thumb_width": photo.thumb_width, "thumb_height": photo.thumb_height,
        "captured_at": photo.captured_at.isoformat() if photo.captured_at else None,
        "created_at": as_utc(photo.created_at).isoformat(),
        "display_url": url_for("api.photo_image", photo_id=photo.uuid, variant="display"),
        "thumb_url": url_for("api.photo_image", photo_id=photo.uuid, variant="thumb"),
    }


def photos_for_audit(audit: Audit) -> dict[tuple[int | None, str], list[Photo]]:
    """Every photo of the audit in ONE query: {(item_id, room label): [photos, oldest first]};
    photos of the audit as a whole are under (None, "")."""
    photos = db.session.scalars(select(Photo).where(Photo.audit_id == audit.id)
                                .order_by(Photo.created_at, Photo.id))
    grouped: dict[tuple[int | None, str], list[Photo]] = defaultdict(list)
    for photo in photos:
        grouped[(photo.item_id, photo.zone_instance)].append(photo)
    return dict(grouped)


def photos_of_actions(action_ids) -> dict[int, list[Photo]]:
    """{action id: ["after" photos, oldest first]} of several actions in one query."""
    grouped: dict[int, list[Photo]] = defaultdict(list)
    if action_ids:
        for photo in db.session.scalars(select(Photo).where(Photo.action_id.in_(set(action_ids)))
                                        .order_by(Photo.created_at, Photo.id)):
            grouped[photo.action_id].append(photo)
    return dict(grouped)


def finding_photos(action: CorrectiveAction) -> list[Photo]:
    """The photos of the answer an action was raised from (its "before"); [] without one."""
    if action.audit_id is None or action.item_id is None:
        return []
    return list(db.session.scalars(select(Photo).where(
        Photo.audit_id == action.audit_id, Photo.item_id == action.item_id,
        Photo.zone_instance == action.zone_instance).order_by(Photo.created_at, Photo.id)))


# ---------------------------------------------------------------- baseline and final
class BeforeAfter(NamedTuple):
    item: Item  # the final audit's item
    baseline: list[Photo]
    final: list[Photo]


def _rounds(site_id: int) -> dict[str, int | None]:
    """Audit ids of the site's baseline and final, chosen as the comparisons choose them."""
    rows = audits({site_id}, active_only=False, consultant_only=True)
    return {phase: getattr(pick_round(rows, phase), "id", None) for phase in ("baseline", "final")}


def _item_photos(audit_id: int) -> dict[str, list[Photo]]:
    """{item code: [photos]} of one audit's answers, in checklist order (one query)."""
    rows = db.session.execute(
        select(Photo, Item).join(Item, Photo.item_id == Item.id).join(Zone, Item.zone_id == Zone.id)
        .where(Photo.audit_id == audit_id)
        .order_by(Zone.position, Item.position, Photo.zone_instance, Photo.created_at, Photo.id))
    grouped: dict[str, list[Photo]] = defaultdict(list)
    for photo, item in rows:
        grouped[item.code].append(photo)
    return dict(grouped)


def before_after_pairs(site) -> list[BeforeAfter]:
    """Items photographed in both the site's baseline and its final audit (latest submitted
    consultant audits), in checklist order, matched by item code."""
    rounds = _rounds(site.id)
    if rounds["baseline"] is None or rounds["final"] is None:
        return []
    baseline, final = _item_photos(rounds["baseline"]), _item_photos(rounds["final"])
    return [BeforeAfter(photos[0].item, baseline[code], photos)
            for code, photos in final.items() if code in baseline]


def baseline_photos_for(audit: Audit) -> dict[str, list[Photo]]:
    """{item code: [photos]} of the site's latest submitted baseline consultant audit: the
    reference to re-shoot when scoring a later audit ({} when there is none)."""
    baseline_id = _rounds(audit.site_id)["baseline"]
    if baseline_id is None or baseline_id == audit.id:
        return {}
    return _item_photos(baseline_id)


# ---------------------------------------------------------------- files follow the transaction
@dataclass(frozen=True)
class _Move:
    """A staged file that becomes visible under `key` when the transaction commits."""

    storage: FileStorage
    staged: StagedFile
    key: str

    def commit(self) -> None:
        self.storage.commit(self.staged, self.key)

    def rollback(self) -> None:
        self.storage.discard(self.staged)


@dataclass(frozen=True)
class _Delete:
    """A file removed when the transaction commits (kept when it rolls back)."""

    storage: FileStorage
    key: str

    def commit(self) -> None:
        self.storage.delete(self.key)

    def rollback(self) -> None:
        pass


def _after_commit(op: _Move | _Delete) -> None:
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, op))


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _files_on_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: nothing is durable yet
        return
    for _transaction, op in session.info.pop(_PENDING, []):
        try:
            op.commit()
        except OSError:  # the rows are committed; say loudly which file could not follow
            log.exception("photo file operation failed after commit: %r", op)


@event.listens_for(Session, "after_soft_rollback")
def _files_on_savepoint_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    kept = []
    for transaction, op in pending:
        if _inside(transaction, previous_transaction):
            op.rollback()
        else:
            kept.append((transaction, op))
    session.info[_PENDING] = kept


@event.listens_for(Session, "after_transaction_end")
def _files_on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # ended without a commit (rolled back or closed): undo the rest
        for _transaction, op in session.info.pop(_PENDING, []):
            op.rollback()
