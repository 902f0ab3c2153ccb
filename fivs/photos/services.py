"""Photos of an audit and "after" photos of a corrective action: check and process, store, delete.

Adding a photo is two steps: `prepare_photo` / `prepare_action_photo` check the target and who
asks, and run the pixels through the pipeline (reads only, so a view may run them without a
write transaction, fivs.db.reading); `store_photo` then writes the row and stages its files,
checking the audit again. `attach_photo` / `attach_action_photo` do both at once. The files
follow the transaction (fivs.photos.files).

Services validate, change the session and flush; the request commits once.
"""
from __future__ import annotations

import logging
import time
import uuid as uuid_mod
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fivs.actions.models import CorrectiveAction
from fivs.audits.models import Audit
from fivs.audits.services import add_room, ensure_editable, normalise_room
from fivs.auth import policy
from fivs.checklists.models import Item
from fivs.events.services import log_event
from fivs.extensions import db
from fivs.photos import pipeline
from fivs.photos.files import delete_on_commit, get_storage, stage_on_commit
from fivs.photos.models import DeletedPhoto, Photo
from fivs.photos.storage import VARIANTS, InvalidKeyError, MediaObject
from fivs.services_errors import ConflictError, NotFoundError, PermissionDenied, ServiceError, ValidationError
from fivs.text import clean_text

log = logging.getLogger(__name__)

CAPTION_MAX = 500


class PhotoRefused(ServiceError):
    """The pipeline refused the picture (empty, not an image, damaged, too large...)."""


class PhotoDeleted(ServiceError):
    """410: a photo with this id was deleted; its upload replayed (a tablet's retry) stores nothing."""

    status = 410
    code = "photo_deleted"


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo checked and processed, ready for `store_photo`; `replay`: already stored under its id."""

    user: object
    photo_uuid: uuid_mod.UUID
    audit: Audit | None = None
    action: CorrectiveAction | None = None
    item: Item | None = None
    room: str = ""
    caption: str = ""
    picture: pipeline.IngestResult | None = None
    replay: Photo | None = None


# ---------------------------------------------------------------- prepare
def prepare_photo(audit: Audit, user, data: bytes, *, photo_uuid, item_code: str | None = None,
                  room: str | None = None, caption: str = "") -> PreparedPhoto:
    """A photo of an answer (item + room) or, without an item, of the audit as a whole.

    A replay of a stored id (a tablet's retry) is not processed again; the same id elsewhere is
    a 409; an id deleted since is a 410 (PhotoDeleted)."""
    item, room = _target(audit, item_code, room)
    _ensure_not_deleted(photo_uuid)
    existing = _by_uuid(photo_uuid)
    if existing is not None:
        if (existing.audit_id, existing.item_id, existing.room) != (
                audit.id, item.id if item else None, room):
            raise _id_taken()
        return PreparedPhoto(user, photo_uuid, audit=audit, item=item, room=room, replay=existing)
    ensure_editable(audit, user)
    return PreparedPhoto(user, photo_uuid, audit=audit, item=item, room=room, caption=_caption(caption),
                         picture=_process(data))


def prepare_action_photo(action: CorrectiveAction, user, data: bytes, *, photo_uuid,
                         caption: str = "") -> PreparedPhoto:
    """An "after" photo of a corrective action: whoever may mark the action done may add (and
    remove) photos while it is open, reopened or done; once it is verified the evidence is closed."""
    if not policy.can_mark_action_done(user, action):
        raise PermissionDenied(_not_yours_message())
    _ensure_not_deleted(photo_uuid)
    existing = _by_uuid(photo_uuid)
    if existing is not None:
        if existing.action_id != action.id:
            raise _id_taken()
        return PreparedPhoto(user, photo_uuid, action=action, replay=existing)
    _ensure_action_photos_editable(action, user)
    return PreparedPhoto(user, photo_uuid, action=action, caption=_caption(caption), picture=_process(data))


# ---------------------------------------------------------------- store
def store_photo(prepared: PreparedPhoto) -> tuple[Photo, bool]:
    """Write a prepared photo: (photo, True) for a new one; (existing, False) for a replay, or
    when the same picture is already on the same answer (or action): it is stored once.
    A room not in the audit yet is added, as saving an answer for it would."""
    if prepared.replay is not None:
        return prepared.replay, False
    audit, action, user = prepared.audit, prepared.action, prepared.user
    if audit is not None:
        db.session.refresh(audit, ["status"])  # under the write lock: submitted since it was read?
        ensure_editable(audit, user)
    _ensure_not_deleted(prepared.photo_uuid)  # deleted since it was prepared?
    same = db.session.scalar(select(Photo).where(*_same_place(prepared),
                                                 Photo.sha256 == prepared.picture.sha256).limit(1))
    if same is not None:
        return same, False
    item, room = prepared.item, prepared.room
    if item is not None and item.zone.repeats and not any(
            r.zone_id == item.zone_id and r.name == room for r in audit.rooms):
        add_room(audit, item.zone, room, user)
    photo = _insert(prepared)
    if photo is None:  # the same upload sent twice at once: the other request stored it
        return _by_uuid(prepared.photo_uuid), False
    if audit is not None:
        log_event("photo.add", user=user, audit=audit, target=str(photo.uuid),
                  new={"item": item.code if item else None, "zone_instance": room or None,
                       "sha256": photo.sha256})
    else:
        log_event("photo.add", user=user, site_id=action.site_id, target=action.event_target,
                  new={"photo": str(photo.uuid), "sha256": photo.sha256})
    db.session.flush()
    return photo, True


def attach_photo(audit: Audit, user, data: bytes, **kw) -> tuple[Photo, bool]:
    """`prepare_photo` and `store_photo` at once."""
    return store_photo(prepare_photo(audit, user, data, **kw))


def attach_action_photo(action: CorrectiveAction, user, data: bytes, **kw) -> tuple[Photo, bool]:
    """`prepare_action_photo` and `store_photo` at once."""
    return store_photo(prepare_action_photo(action, user, data, **kw))


def _same_place(prepared: PreparedPhoto) -> tuple:
    if prepared.action is not None:
        return (Photo.action_id == prepared.action.id,)
    return (Photo.audit_id == prepared.audit.id,
            Photo.item_id == (prepared.item.id if prepared.item else None),
            Photo.room == prepared.room)


def _insert(prepared: PreparedPhoto) -> Photo | None:
    """Add the photo's row and stage both derivatives to appear under their keys when the
    transaction commits. None when a concurrent request stored a photo with this id first."""
    audit, action, picture = prepared.audit, prepared.action, prepared.picture
    site = audit.site if audit is not None else action.site
    folder = str(audit.uuid) if audit is not None else f"action-{action.uuid}"
    storage = get_storage()
    keys = {v: storage.key_for(site.code, folder, str(prepared.photo_uuid), v) for v in VARIANTS}
    photo = Photo(uuid=prepared.photo_uuid, sha256=picture.sha256, captured_at=picture.captured_at,
                  width=picture.width, height=picture.height, thumb_width=picture.thumb_width,
                  thumb_height=picture.thumb_height, source_format=picture.source_format,
                  display_key=keys["display"], thumb_key=keys["thumb"], site_id=site.id,
                  audit_id=audit.id if audit is not None else None,
                  action_id=action.id if action is not None else None,
                  item_id=prepared.item.id if prepared.item else None, room=prepared.room,
                  caption=prepared.caption, uploaded_by_id=prepared.user.id)
    try:
        with db.session.begin_nested():
            db.session.add(photo)
            db.session.flush()
    except IntegrityError:
        if _by_uuid(prepared.photo_uuid) is None:
            raise
        return None
    stage_on_commit(picture.display, keys["display"])
    stage_on_commit(picture.thumb, keys["thumb"])
    return photo


# ---------------------------------------------------------------- delete
def delete_photo(photo: Photo, user) -> None:
    """Remove a photo of a draft or reopened audit, or an "after" photo of an action that is not
    verified (by whoever may mark it done); its files go once the deletion commits."""
    if photo.action is not None:
        _ensure_action_photos_editable(photo.action, user)
        log_event("photo.delete", user=user, site_id=photo.site_id, target=photo.action.event_target,
                  old={"photo": str(photo.uuid), "sha256": photo.sha256})
    elif photo.audit is None:
        raise PermissionDenied(_("You may not change this photo."))
    else:
        ensure_editable(photo.audit, user)
        log_event("photo.delete", user=user, audit=photo.audit, target=str(photo.uuid),
                  old={"item": photo.item.code if photo.item else None,
                       "zone_instance": photo.room or None, "sha256": photo.sha256})
    db.session.delete(photo)
    db.session.add(DeletedPhoto(uuid=photo.uuid, deleted_by_id=user.id))
    db.session.flush()
    for key in (photo.display_key, photo.thumb_key, print_key(photo.display_key)):
        delete_on_commit(key)


# ---------------------------------------------------------------- serving
def photo_file(photo: Photo, variant: str) -> MediaObject:
    """The "display" or "thumb" image: its bytes, ETag and content type, read through the backend."""
    if variant not in VARIANTS:
        raise NotFoundError(_("Not found, or not yours to see."))
    key = photo.display_key if variant == "display" else photo.thumb_key
    try:
        return get_storage().fetch(key)
    except (FileNotFoundError, InvalidKeyError):
        log.error("photo %s: %s file missing (%s)", photo.uuid, variant, key)
        raise NotFoundError(_("The image file of this photo is missing.")) from None


def print_key(display_key: str) -> str:
    """Where the print derivative of a display image is cached: beside it, "-print" for "-display"."""
    stem = display_key.removesuffix(".jpg").removesuffix("-display")
    return f"{stem}-print.jpg"


def print_file(photo: Photo) -> bytes:
    """The JPEG bytes of the photo's print derivative (fivs.photos.pipeline.make_print), made from the
    display image the first time a report asks for it and kept beside it (each backend's write is
    atomic: two reports at once both end with one whole file)."""
    storage = get_storage()
    key = print_key(photo.display_key)
    try:
        return storage.read(key)
    except FileNotFoundError:
        pass
    except InvalidKeyError:
        raise NotFoundError(_("The image file of this photo is missing.")) from None
    try:
        data = pipeline.make_print(storage.read(photo.display_key))
    except (FileNotFoundError, InvalidKeyError):
        log.error("photo %s: display file missing (%s)", photo.uuid, photo.display_key)
        raise NotFoundError(_("The image file of this photo is missing.")) from None
    storage.put(key, data, "image/jpeg")
    return data


# ---------------------------------------------------------------- sweep
SWEEP_BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    """What `sweep_orphans` found: photo files no row names (removed unless a dry run), staging files
    purged, and names that are not photo derivatives at all (reported, never touched)."""

    orphans: list[str]
    staged_purged: int
    foreign: list[str]


def sweep_orphans(*, older_than_seconds: float = 3600, remove: bool = True) -> SweepReport:
    """Photo files or objects that no photo row names: left by a process that died between writing an
    upload's objects and its commit (S3 writes before the commit), or by a delete whose after-commit
    removal failed. Files younger than `older_than_seconds` are left alone (their upload may still be
    committing). The keys are checked against the rows in batches, so memory stays flat."""
    storage = get_storage()
    cutoff = time.time() - older_than_seconds
    orphans: list[str] = []
    foreign: list[str] = []
    batch: list[tuple[str, uuid_mod.UUID]] = []

    def check(entries: list[tuple[str, uuid_mod.UUID]]) -> None:
        rows = db.session.execute(select(Photo.display_key, Photo.thumb_key)
                                  .where(Photo.uuid.in_({u for _k, u in entries}))).all()
        named = {k for display, thumb in rows for k in (display, thumb, print_key(display))}
        orphans.extend(key for key, _u in entries if key not in named)

    for key, modified in storage.iter_objects():
        photo_uuid = _photo_uuid_of(key)
        if photo_uuid is None:
            foreign.append(key)
        elif modified < cutoff:
            batch.append((key, photo_uuid))
            if len(batch) >= SWEEP_BATCH:
                check(batch)
                batch = []
    if batch:
        check(batch)
    if remove:
        for key in orphans:
            storage.delete(key)
    purged = storage.purge_staged(older_than_seconds) if remove else 0
    return SweepReport(orphans, purged, foreign)


def _photo_uuid_of(key: str) -> uuid_mod.UUID | None:
    """The photo id in a derivative's key (".../<uuid>-display.jpg"), or None for any other name."""
    name = key.rsplit("/", 1)[-1]
    stem, _sep, variant = name.removesuffix(".jpg").rpartition("-")
    if not name.endswith(".jpg") or variant not in (*VARIANTS, "print"):
        return None
    try:
        return uuid_mod.UUID(stem)
    except ValueError:
        return None


# ---------------------------------------------------------------- checks
def _by_uuid(photo_uuid) -> Photo | None:
    return db.session.scalar(select(Photo).where(Photo.uuid == photo_uuid))


def _ensure_not_deleted(photo_uuid) -> None:
    if db.session.get(DeletedPhoto, photo_uuid) is not None:
        raise PhotoDeleted(_("This photo was deleted; it is not added again."))


def _id_taken() -> ConflictError:
    return ConflictError(_("A photo with this id already exists elsewhere."), code="id_conflict")


def _not_yours_message() -> str:
    return _("Only the site, its consultant or an admin can change the photos of this action.")


def _ensure_action_photos_editable(action: CorrectiveAction, user) -> None:
    if not policy.can_mark_action_done(user, action):
        raise PermissionDenied(_not_yours_message())
    if not policy.action_photos_editable(action):
        raise ConflictError(_("This action is verified: its photos can no longer change."), code="locked")


def _target(audit: Audit, item_code: str | None, room: str | None) -> tuple[Item | None, str]:
    """The item and room label a photo belongs to; (None, "") for a photo of the whole audit."""
    if not item_code:
        return None, ""
    item = next((i for i in audit.template.items if i.code == item_code), None)
    if item is None:
        raise ValidationError(_("Unknown item for this checklist."),
                              details=[{"field": "item", "message": _("Unknown item for this checklist.")}])
    if not item.zone.repeats:
        return item, ""
    label = normalise_room(room)
    if not label:
        message = _("This zone repeats: name the room (zone_instance).")
        raise ValidationError(message, details=[{"field": "zone_instance", "message": message}])
    return item, label


def _caption(caption: str | None) -> str:
    caption = clean_text(caption or "", multiline=False)
    if len(caption) > CAPTION_MAX:
        raise ValidationError(_("The caption is too long (at most %(n)d characters).", n=CAPTION_MAX))
    return caption


def _process(data: bytes) -> pipeline.IngestResult:
    try:
        return pipeline.ingest(data, display_edge=current_app.config["PHOTO_MAX_PX"])
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
