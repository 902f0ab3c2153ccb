"""Checklist versions from the admin pages: export, upload a revised workbook, review, publish.

An upload is kept as a draft (its XLSX bytes and who uploaded it) once it has no problem; publishing
it adds the checklist's next version and records who published it. No version is ever changed in
place: audits keep the version they pinned, new audits take the newest (fivs.audits.services).
Services flush; the request commits.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fivs.checklists import xlsx
from fivs.checklists.content import N_, ChecklistError, ParsedTemplate, Problem, template_content, with_hash
from fivs.checklists.diff import Diff, diff
from fivs.checklists.loader import dump_yaml, load_template
from fivs.checklists.models import ChecklistTemplate, ChecklistUpload
from fivs.events.services import log_event
from fivs.extensions import db
from fivs.services_errors import ConflictError, NotFoundError, ValidationError
from fivs.text import clean_text
from fivs.timeutil import utcnow

FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "yaml": "application/yaml"}
TOO_LARGE = {N_("The file is too large: a checklist workbook is at most %(kb)d KB."),
             N_("The workbook is too large once unpacked (at most %(mb)d MB).")}


class UploadRefused(ValidationError):
    """The workbook has problems (listed by sheet and row); nothing was stored."""

    code = "checklist_problems"

    def __init__(self, problems: list[Problem]):
        too_large = any(p.msgid in TOO_LARGE for p in problems)
        super().__init__(_("The workbook has problems: nothing was saved. Correct them and upload it again."),
                         status=413 if too_large else 422,
                         details=[{"sheet": p.sheet, "row": p.line, "message": p.message} for p in problems])
        self.problems = problems


def describe(problems: list[Problem]) -> list[dict]:
    """Problems for a page: sheet, row and the message in the reader's language."""
    return [{"sheet": p.sheet, "row": p.line, "message": p.localized(_)} for p in problems]


# ---------------------------------------------------------------- reading versions
def find_version(key: str, version: int) -> ChecklistTemplate | None:
    return db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.key == key, ChecklistTemplate.version == version))


def newest_version(key: str) -> ChecklistTemplate | None:
    return db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.key == key)
                             .order_by(ChecklistTemplate.version.desc()).limit(1))


def get_version_or_404(key: str, version: int) -> ChecklistTemplate:
    template = find_version(key, version)
    if template is None:
        raise NotFoundError(_("Not found, or not yours to see."))
    return template


def get_newest_or_404(key: str) -> ChecklistTemplate:
    template = newest_version(key)
    if template is None:
        raise NotFoundError(_("Not found, or not yours to see."))
    return template


def get_upload_or_404(key: str, upload_id: int) -> ChecklistUpload:
    upload = db.session.get(ChecklistUpload, upload_id)
    if upload is None or upload.key != key:
        raise NotFoundError(_("Not found, or not yours to see."))
    return upload


def uploads_of(key: str) -> list[ChecklistUpload]:
    """The checklist's uploads, newest first (without their bytes)."""
    return list(db.session.scalars(select(ChecklistUpload).where(ChecklistUpload.key == key)
                                   .order_by(ChecklistUpload.uploaded_at.desc(), ChecklistUpload.id.desc())))


def publication_of(template: ChecklistTemplate) -> ChecklistUpload | None:
    """The upload a version was published from (None for a version loaded from a file)."""
    return db.session.scalar(select(ChecklistUpload).where(ChecklistUpload.template_id == template.id))


def export_version(template: ChecklistTemplate, file_format: str) -> bytes:
    """The version as an XLSX workbook or a YAML file (utf-8)."""
    content = template_content(template)
    if file_format == "xlsx":
        return xlsx.write_workbook(content)
    return dump_yaml(content).encode("utf-8")


def export_filename(template: ChecklistTemplate, file_format: str) -> str:
    return f"{template.key}.v{template.version}.{file_format}"


# ---------------------------------------------------------------- upload
def _check_against(parsed: ParsedTemplate, current: ChecklistTemplate, fname: str) -> list[Problem]:
    """What an upload for `current`'s checklist may not change: its key and its kind of site."""
    problems = []
    if parsed.key != current.key:
        problems.append(Problem.of(fname, "settings", 2, N_("This workbook is for the checklist “%(found)s”, "
                                                            "not “%(expected)s”."),
                                   found=parsed.key, expected=current.key))
    if parsed.site_kind != current.site_kind:
        problems.append(Problem.of(fname, "settings", 2, N_("The kind must stay “%(kind)s”: a checklist for "
                                                            "another kind of site needs a key of its own."),
                                   kind=current.site_kind))
    return problems


def read_upload(data: bytes, fname: str, current: ChecklistTemplate) -> ParsedTemplate:
    """The workbook's content, checked as a revision of `current`; UploadRefused lists every problem."""
    try:
        parsed = xlsx.parse_workbook(data, fname)
    except ChecklistError as exc:
        raise UploadRefused(exc.problems) from exc
    problems = _check_against(parsed, current, fname)
    if problems:
        raise UploadRefused(problems)
    return parsed


def _clean_filename(filename: str | None) -> str:
    name = clean_text(filename or "", multiline=False).replace("\\", "/").rsplit("/", 1)[-1]
    return name[:200] or "checklist.xlsx"


def stage_upload(key: str, filename: str | None, data: bytes, user) -> ChecklistUpload:
    """Check a workbook as the next version of checklist `key` and keep it as a draft."""
    current = get_newest_or_404(key)
    fname = _clean_filename(filename)
    parsed = read_upload(data, fname, current)
    if parsed.same_content(template_content(current)):
        raise ValidationError(_("This workbook is the same as version %(version)d: there is nothing to publish.",
                                version=current.version), code="no_changes")
    upload = ChecklistUpload(key=key, filename=fname, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                             xlsx=data, uploaded_by_id=user.id, uploaded_at=utcnow())
    db.session.add(upload)
    db.session.flush()
    return upload


# ---------------------------------------------------------------- review and publish
@dataclass(frozen=True)
class Review:
    upload: ChecklistUpload
    content: ParsedTemplate  # the upload's content (its own version number as written in the sheet)
    current: ChecklistTemplate  # the diff is against it: the newest version (a published upload: the one before)
    before: ParsedTemplate  # the content of `current`
    diff: Diff

    @property
    def next_version(self) -> int:
        return self.current.version + 1

    def zone(self, code: str) -> dict | None:
        return next((z for z in self.content.zones if z["code"] == code), None)

    def zone_name(self, code: str, lang: str) -> str:
        """A zone's name in the upload, else in the version it is compared with."""
        zone = self.zone(code) or next((z for z in self.before.zones if z["code"] == code), None)
        return zone["name"][lang] if zone else code


def review_upload(upload: ChecklistUpload) -> Review:
    """The upload (read again from its stored bytes) against the checklist's newest version, or,
    once published, against the version it followed."""
    current = (find_version(upload.key, upload.template.version - 1) if upload.published else None) \
        or get_newest_or_404(upload.key)
    content = read_upload(upload.xlsx, upload.filename, current)
    before = template_content(current)
    return Review(upload=upload, content=content, current=current, before=before, diff=diff(before, content))


def publish_upload(upload: ChecklistUpload, base_version: int | None, user) -> ChecklistTemplate:
    """Publish the upload as the next version. `base_version` is the version its diff was read
    against: if another version was published since, the admin must look at the diff again."""
    if upload.published:
        raise ConflictError(_("This workbook is already published, as version %(version)d.",
                              version=upload.template.version), code="already_published")
    review = review_upload(upload)
    if base_version != review.current.version:
        raise ConflictError(_("Version %(version)d was published meanwhile: look at the differences again "
                              "before publishing.", version=review.current.version), code="stale_review")
    if review.diff.empty:
        raise ValidationError(_("This workbook is the same as version %(version)d: there is nothing to publish.",
                                version=review.current.version), code="no_changes")
    content = review.content
    content.version, content.source_file = review.next_version, upload.filename
    with_hash(content)
    try:
        with db.session.begin_nested():
            template = load_template(content).template
    except (IntegrityError, ChecklistError) as exc:  # the same version number, published a moment ago
        raise ConflictError(_("Another version of this checklist was published meanwhile: look at the "
                              "differences again before publishing."), code="stale_review") from exc
    upload.template, upload.published_by_id, upload.published_at = template, user.id, utcnow()
    log_event("checklist.publish", user=user, target=f"{template.key} v{template.version}",
              old={"version": review.current.version},
              new={"version": template.version, "file": upload.filename,
                   **{k: v for k, v in review.diff.counts().items() if v}})
    db.session.flush()
    return template
