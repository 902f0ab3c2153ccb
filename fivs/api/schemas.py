"""Reading API requests: the JSON body, and the fields each endpoint expects.

Shape problems (not JSON, wrong content type, wrong field types) become 400/415/422 here with
one detail per bad field; business rules stay in the services.
"""
from __future__ import annotations

import json
import re
import uuid as uuid_mod
from dataclasses import dataclass
from datetime import date

from flask import request
from flask_babel import gettext as _

from fivs.audits.models import PHASES, STATUSES
from fivs.calendar.board import BOARD_STATES
from fivs.services_errors import ServiceError, ValidationError
from fivs.sites.models import SITE_KINDS
from fivs.sites.queries import MAX_PER_PAGE, PER_PAGE, SiteFilters

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_INT = 2**31 - 1  # the databases' INTEGER


def json_body(*, optional: bool = False) -> dict:
    """The request body as a JSON object (an empty object for an optional, empty body)."""
    raw = request.get_data(cache=True)
    if optional and not raw:
        return {}
    if not request.is_json:
        raise ServiceError(_("Send JSON, with the header Content-Type: application/json."),
                           status=415, code="unsupported_media_type")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ServiceError(_("The body is not valid JSON."), status=400, code="malformed_json",
                           details={"position": getattr(exc, "pos", None)}) from None
    if not isinstance(data, dict):
        raise ValidationError(_("The body must be a JSON object."), details=[])
    return data


class Fields:
    """Reads fields from a mapping, collecting one problem per bad field."""

    def __init__(self, data) -> None:
        self.data = data
        self.problems: list[dict] = []

    def _get(self, name: str, required: bool):
        value = self.data.get(name)
        if value is None and required:
            self.problem(name, _("This field is required."))
        return value

    def problem(self, name: str, message: str) -> None:
        self.problems.append({"field": name, "message": message})

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self._get(name, required)
        if value is not None and not isinstance(value, str):
            self.problem(name, _("Must be text."))
            return None
        return value

    def integer(self, name: str, *, required: bool = True, minimum: int = 1) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_INT:
            self.problem(name, _("Must be a whole number from %(low)d to %(high)d.", low=minimum, high=MAX_INT))
            return None
        return value

    def uuid(self, name: str) -> uuid_mod.UUID | None:
        value = self.text(name)
        try:
            return uuid_mod.UUID(value) if value is not None else None
        except ValueError:
            self.problem(name, _("Must be a UUID, for example 1b4e28ba-2fa1-11d2-883f-0016d3cca427."))
            return None

    def date(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            if _DATE.fullmatch(value):
                return date.fromisoformat(value)
        except ValueError:
            pass
        self.problem(name, _("Must be a date written YYYY-MM-DD."))
        return None

    def choice(self, name: str, choices, *, required: bool = True) -> str | None:
        value = self.text(name, required=required)
        if value is not None and value not in choices:
            self.problem(name, _("Must be one of: %(choices)s.", choices=", ".join(choices)))
            return None
        return value

    def check(self) -> None:
        if self.problems:
            raise ValidationError(_("Some fields are not valid; nothing was changed."),
                                  details=self.problems)


@dataclass(frozen=True)
class AuditCreate:
    id: uuid_mod.UUID
    site: str
    phase: str
    date: date
    checklist: tuple[str, int] | None


def audit_create(data: dict) -> AuditCreate:
    fields = Fields(data)
    audit_id, site = fields.uuid("id"), fields.text("site")
    phase, when = fields.choice("phase", PHASES), fields.date("date")
    checklist = _checklist_ref(fields, data.get("checklist"))
    fields.check()
    return AuditCreate(audit_id, site, phase, when, checklist)


def _checklist_ref(fields: Fields, value) -> tuple[str, int] | None:
    if value is None:
        return None
    ref = Fields(value) if isinstance(value, dict) else None
    key = ref.text("key") if ref else None
    version = ref.integer("version") if ref else None
    if ref is None or ref.problems:
        fields.problem("checklist", _("Must be an object with a key (text) and a version (number)."))
        return None
    return key, version


def _query_integer(fields: Fields, name: str, default: int, high: int) -> int:
    """A whole number from the query string (text there), 1 to `high`; `default` when absent."""
    value = fields.text(name, required=False)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= high:
        fields.problem(name, _("Must be a whole number from %(low)d to %(high)d.", low=1, high=high))
        return default
    return int(value)


def _paging(fields: Fields) -> dict:
    return {"page": _query_integer(fields, "page", 1, MAX_INT),
            "per_page": _query_integer(fields, "per_page", PER_PAGE, MAX_PER_PAGE)}


def _query_args(args) -> Fields:
    return Fields({name: value for name, value in args.items() if value})


def audit_filters(args) -> dict:
    """?site= (a code), the sites' filters of site_filters (q, kind, province, commune: under "sites"), phase,
    status and the page."""
    fields = _query_args(args)
    filters = {"site": fields.text("site", required=False), "sites": _site_filters(fields),
               "phase": fields.choice("phase", PHASES, required=False),
               "status": fields.choice("status", STATUSES, required=False), **_paging(fields)}
    fields.check()
    return filters


def site_filters(args) -> tuple[SiteFilters, dict]:
    """?q= (code or name contains), kind, province, commune, and the page: the filters and the paging."""
    fields = _query_args(args)
    filters, paging = _site_filters(fields), _paging(fields)
    fields.check()
    return filters, paging


def board_filters(args) -> tuple[SiteFilters, str, dict]:
    """The board's filters (site_filters' four and state=late|complete|incomplete) and the page."""
    fields = _query_args(args)
    filters, state, paging = (_site_filters(fields), fields.choice("state", BOARD_STATES, required=False),
                              _paging(fields))
    fields.check()
    return filters, state or "", paging


def _site_filters(fields) -> SiteFilters:
    texts = {name: fields.text(name, required=False) for name in ("q", "province", "commune")}
    return SiteFilters.of(kind=fields.choice("kind", SITE_KINDS, required=False), **texts)


@dataclass(frozen=True)
class AnswersPut:
    row_version: int
    answers: list


def prefers_minimal() -> bool:
    """RFC 7240: `Prefer: return=minimal` asks for a short answer instead of the whole resource."""
    return any(pref.split(";")[0].strip().lower() == "return=minimal"
               for header in request.headers.getlist("Prefer") for pref in header.split(","))


def answers_put(data: dict) -> AnswersPut:
    fields = Fields(data)
    row_version = fields.integer("row_version")
    answers = data.get("answers")
    if not isinstance(answers, list):
        fields.problem("answers", _("Must be a list of answers."))
    fields.check()
    return AnswersPut(row_version, answers)


def submit(data: dict) -> int | None:
    fields = Fields(data)
    row_version = fields.integer("row_version", required=False)
    fields.check()
    return row_version


def acknowledgement(data: dict) -> str:
    """The optional comment of an acknowledgement ("" when none)."""
    fields = Fields(data)
    comment = fields.text("comment", required=False)
    fields.check()
    return comment or ""


def calibration_request(data: dict) -> str | int:
    """The second rater named by username (text) or user id (a whole number)."""
    fields = Fields(data)
    value = data.get("auditor")
    if isinstance(value, int) and not isinstance(value, bool):
        auditor = fields.integer("auditor")
    else:
        auditor = fields.text("auditor")
        if auditor is not None and not auditor.strip():
            fields.problem("auditor", _("This field is required."))
    fields.check()
    return auditor


def reopen(data: dict) -> str:
    """The reason of a reopening or a voiding (required text)."""
    fields = Fields(data)
    reason = fields.text("reason")
    fields.check()
    return reason


@dataclass(frozen=True)
class PhotoUpload:
    id: uuid_mod.UUID
    data: bytes
    item: str | None
    room: str | None


def photo_upload() -> PhotoUpload:
    if request.mimetype != "multipart/form-data":
        raise ServiceError(_("Send the photo as multipart/form-data with a field named file."),
                           status=415, code="unsupported_media_type")
    fields = Fields(request.form)
    photo_id = fields.uuid("id")
    item = fields.text("item", required=False) or None
    room = fields.text("zone_instance", required=False) or None
    upload = request.files.get("file")
    if upload is None:
        fields.problem("file", _("This field is required."))
    fields.check()
    return PhotoUpload(photo_id, upload.read(), item, room)
