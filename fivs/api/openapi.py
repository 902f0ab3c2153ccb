"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Tests keep it honest: every /api/v1 route must be described here, every real response in the
API tests is validated against the response schemas below, and schemathesis fuzzes every
operation against it.
"""
from __future__ import annotations

import copy

from fivs.audits.models import KINDS, PHASES, STATUSES
from fivs.scoring import S_KEYS
from fivs.sites.models import PLACES, SITE_KINDS
from fivs.sites.queries import MAX_PER_PAGE, PER_PAGE


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict, *, required=None) -> dict:
    return {"type": "object", "required": list(properties if required is None else required),
            "properties": properties}


TEXT = {"type": "string"}
UUID = {"type": "string", "format": "uuid"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
PERCENT = _nullable({"type": "number", "minimum": 0, "maximum": 100})
POSITIVE = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
CHANGE = _nullable({"type": "number", "minimum": -100, "maximum": 100,
                    "description": "Percentage points, final minus baseline, over matched items."})

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
FRACTION_SIGNED = {"type": "number", "minimum": -1, "maximum": 1}
POINTS = {"type": "number", "minimum": -4, "maximum": 4}

SITE_PLACE = {
    "province": {**_nullable(TEXT), "description": "The province now (after the 2025 reform)."},
    "commune": {**_nullable(TEXT), "description": "The commune now; null when not known."},
    "former_province": {**_nullable(TEXT), "description": "The province before 2025, where recorded."},
    "former_district": {**_nullable(TEXT), "description": "The district before 2025 (districts were abolished), "
                                                          "where recorded, e.g. the 2023 pilot's."},
    "district": {**_nullable(TEXT), "description": "Deprecated: the same as former_district (its key before 2025)."},
}

# Lists are paged on the server: ?page= and ?per_page=, and where the page stands in the response.
PAGE = {
    "page": {**POSITIVE, "description": "This page's number (1 is the first); past the last page the list is empty."},
    "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    "total": {"type": "integer", "minimum": 0, "description": "Items matching the filters, on every page."},
    "next": {**_nullable(TEXT), "description": "URL of the next page (the same filters); null on the last."},
    "prev": {**_nullable(TEXT), "description": "URL of the previous page; null on the first."},
}

SCHEMAS = {
    "Error": _object({"error": _object({
        "code": {"type": "string", "description": "Machine-readable, e.g. validation_error, stale_row_version."},
        "message": {"type": "string", "description": "A sentence for people, in the request's language."},
        "details": {"description": "Depends on the error: field problems, unscored items, the current audit..."},
    })}),
    "FieldProblem": _object({"field": _nullable(TEXT), "message": TEXT}),
    "Site": _object({
        "code": TEXT, "name": TEXT, "kind": {"enum": list(SITE_KINDS)}, **SITE_PLACE,
        "address": _nullable(TEXT), "head_name": _nullable(TEXT), "active": {"type": "boolean"},
    }),
    "SiteList": _object({"sites": {"type": "array", "items": _ref("Site")}, **PAGE}),
    "ChecklistSummary": _object({
        "key": TEXT, "version": {"type": "integer"}, "site_kind": {"enum": list(SITE_KINDS)},
        "title_vi": TEXT, "title_en": TEXT,
    }),
    "ChecklistList": _object({"checklists": {"type": "array", "items": _ref("ChecklistSummary")}}),
    "ScaleLevel": _object({"level": {"type": "integer", "minimum": 0, "maximum": 4},
                           "anchor_vi": TEXT, "anchor_en": TEXT}),
    "ChecklistItem": _object({
        "code": TEXT, "s": {"enum": list(S_KEYS)}, "text_vi": TEXT, "text_en": TEXT,
        "guidance_vi": TEXT, "guidance_en": TEXT, "na_allowed": {"type": "boolean"},
    }),
    "ChecklistZone": _object({
        "code": TEXT, "name_vi": TEXT, "name_en": TEXT,
        "repeats": {"type": "boolean", "description": "Audited once per room (its name is the zone_instance of answers and photos)."},
        "items": {"type": "array", "items": _ref("ChecklistItem")},
    }),
    "Checklist": {"allOf": [_ref("ChecklistSummary"), _object({
        "scale": {"type": "array", "items": _ref("ScaleLevel"), "minItems": 5, "maxItems": 5},
        "zones": {"type": "array", "items": _ref("ChecklistZone")},
    })]},
    "ChecklistRef": _object({"key": TEXT, "version": POSITIVE}),
    "AuditCreate": _object({
        "id": {**UUID, "description": "Made on the device; a retry with the same id never duplicates."},
        "site": {**TEXT, "description": "Site code."},
        "phase": {"enum": list(PHASES)},
        "date": DATE,
        "checklist": {**_ref("ChecklistRef"),
                      "description": "Optional: by default the current checklist for the site's kind."},
    }, required=["id", "site", "phase", "date"]),
    "AuditSummary": _object({
        "id": UUID, "site": TEXT, "checklist": _ref("ChecklistRef"),
        "phase": {"enum": list(PHASES)}, "kind": {"enum": list(KINDS)},
        "status": {"enum": list(STATUSES)}, "date": DATE, "auditor": TEXT,
        "row_version": {**POSITIVE, "description": "Send it back with changes; a stale one is a 409."},
        "created_at": DATETIME, "updated_at": DATETIME, "submitted_at": _nullable(DATETIME),
        "voided": _nullable(_ref("Void")),
    }),
    "Void": {**_object({
        "at": DATETIME, "reason": TEXT, "by": {**TEXT, "description": "The reviewer's username."},
    }), "description": "Set when a reviewer voided the audit: it stays readable but counts in no comparison, "
                       "report or agreement figure, and its site and round may start again."},
    "AuditList": _object({"audits": {"type": "array", "items": _ref("AuditSummary")}, **PAGE}),
    "ZoneInstance": _object({"zone": TEXT, "label": _nullable({**TEXT, "description": "A room, e.g. Lớp 3A."})}),
    "Answer": _object({
        "item": TEXT, "zone_instance": _nullable(TEXT),
        "score": _nullable({"type": "integer", "minimum": 0, "maximum": 4}),
        "na": {"type": "boolean"}, "note": TEXT, "updated_at": DATETIME,
    }),
    "Scores": _object({
        "by_s": {**_object({s: PERCENT for s in S_KEYS}), "additionalProperties": False},
        "by_zone": {"type": "object", "additionalProperties": PERCENT},
        "overall": {**PERCENT, "description": "Mean of the five S; null when an S has no scored item."},
    }, required=["by_s", "by_zone", "overall"]),
    "Audit": {"allOf": [_ref("AuditSummary"), _object({
        "zone_instances": {"type": "array", "items": _ref("ZoneInstance")},
        "answers": {"type": "array", "items": _ref("Answer")},
        "scores": {**_ref("Scores"), "description": "Unrounded percentages (0-100) from fivs.scoring."},
        "acknowledgement": {**_nullable(_ref("Acknowledgement")),
                            "description": "The site head's acknowledgement of this submission (null: none yet)."},
    })]},
    "AnswersSaved": _object({
        "id": UUID, "status": {"enum": list(STATUSES)},
        "row_version": {**POSITIVE, "description": "Send it back with the next change."},
        "updated_at": DATETIME,
        "answers": {"type": "array", "items": _ref("Answer"), "description": "The answers just saved."},
        "scores": {**_ref("Scores"), "description": "The audit's unrounded percentages after this save."},
    }),
    "AnswerInput": _object({
        "item": TEXT,
        "zone_instance": {**_nullable(TEXT), "description": "The room label; required for repeating zones."},
        "score": _nullable({"type": "integer", "minimum": 0, "maximum": 4}),
        "na": {"type": "boolean", "default": False},
        "note": {**_nullable(TEXT), "description": "null or absent: keep the saved note."},
        "base": {**_nullable(_ref("AnswerState")),
                 "description": "The answer as this client last saw it (null: none yet). When every answer "
                                "of a request has its base and row_version is stale, the save still goes "
                                "ahead if each answer is still its base (a colleague changed other answers); "
                                "otherwise 409 answer_changed, nothing saved."},
    }, required=["item"]),
    "AnswerState": _object({
        "score": _nullable({"type": "integer", "minimum": 0, "maximum": 4}),
        "na": {"type": "boolean", "default": False},
        "note": {**_nullable(TEXT), "description": "null or absent: notes are not compared."},
    }, required=[]),
    "AnswerChanged": _object({
        "item": TEXT, "zone_instance": _nullable(TEXT),
        "yours": _ref("AnswerState"), "theirs": _ref("AnswerState"),
    }),
    "AnswersPut": _object({
        "row_version": POSITIVE,
        "answers": {"type": "array", "items": _ref("AnswerInput"), "minItems": 1},
    }),
    "SubmitRequest": _object({"row_version": POSITIVE}, required=[]),
    "ReopenRequest": _object({"reason": TEXT}),
    "CalibrationRequest": _object({"auditor": {
        "anyOf": [{**TEXT, "minLength": 1}, POSITIVE],
        "description": "The second rater: an active consultant assigned to the audit's site, other than its "
                       "auditor, by username or user id."}}),
    "VoidRequest": _object({"reason": TEXT}),
    "AcknowledgementRequest": _object({"comment": {**TEXT, "description": "Optional; it may disagree."}},
                                      required=[]),
    "Acknowledgement": _object({
        "audit": UUID, "by": {**TEXT, "description": "The principal's or clinic head's username."},
        "name": TEXT, "comment": TEXT, "acknowledged_at": DATETIME,
        "submission": {**DATETIME, "description": "The submission acknowledged (the audit's submitted_at); "
                                                  "after a reopen and a new submit a new acknowledgement is needed."},
    }),
    "Photo": _object({
        "id": UUID, "audit": _nullable(UUID), "item": _nullable(TEXT), "zone_instance": _nullable(TEXT),
        "action": {**_nullable(UUID), "description": "The corrective action of an \"after\" photo."},
        "width": {"type": "integer"}, "height": {"type": "integer"},
        "thumb_width": {"type": "integer"}, "thumb_height": {"type": "integer"},
        "captured_at": _nullable(TEXT), "created_at": DATETIME,
        "display_url": TEXT, "thumb_url": TEXT,
    }),
    "PhotoUpload": {"type": "object", "required": ["file", "id"], "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "JPEG, PNG, WebP or HEIC; only resized, metadata-free copies are kept."},
        "id": {**UUID, "description": "Made on the device; a retry with the same id stores one photo."},
        "item": {**TEXT, "description": "Item code; absent for a photo of the whole audit."},
        "zone_instance": {**TEXT, "description": "Room label, for an item of a repeating zone."},
    }},
    "RoundScores": _object({
        "audit_id": UUID, "date": DATE, "overall": PERCENT,
        "by_s": {**_object({s: PERCENT for s in S_KEYS}), "additionalProperties": False},
        "by_zone": {"type": "object", "additionalProperties": PERCENT},
    }),
    "SiteComparison": _object({
        "site": _object({"code": TEXT, "name": TEXT, "kind": {"enum": list(SITE_KINDS)}, **SITE_PLACE}),
        "baseline": _nullable(_ref("RoundScores")),
        "final": _nullable(_ref("RoundScores")),
        "self_assessments": {"type": "array", "items": {"allOf": [
            _ref("RoundScores"), _object({"phase": {"enum": list(PHASES)}})]}},
        "change": _nullable(_object({
            "overall": CHANGE,
            "by_s": {**_object({s: CHANGE for s in S_KEYS}), "additionalProperties": False},
        })),
        "excluded_items": {"type": "array", "items": TEXT,
                           "description": "Item codes not scored in both audits (left out of the change)."},
        "checklist_versions": _object({"baseline": _nullable({"type": "integer"}),
                                       "final": _nullable({"type": "integer"})}),
        "versions_differ": {"type": "boolean", "description": "Baseline and final pinned different checklist "
                            "versions: items are matched by code; an item in only one is excluded."},
    }),
    "MetricStats": _object({
        "n": {"type": "integer", "minimum": 0, "description": "Sites with both rounds."},
        "baseline_mean": PERCENT, "final_mean": PERCENT, "mean_change": CHANGE,
        "ci95": _nullable({"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}),
        "improved": {"type": "integer"}, "unchanged": {"type": "integer"}, "declined": {"type": "integer"},
        "cohens_dz": _nullable({"type": "number"}),
        "wilcoxon_w_plus": {"type": "number"},
        "wilcoxon_p": {"type": "number", "minimum": 0, "maximum": 1},
        "rank_biserial": _nullable({"type": "number", "minimum": -1, "maximum": 1}),
    }),
    "ProgrammeComparison": _object({
        "sites_included": {"type": "array", "items": TEXT},
        "sites_missing": {"type": "array", "items": _object({
            "code": TEXT, "missing": {"type": "array", "items": {"enum": ["baseline", "final"]}}})},
        "overall": _ref("MetricStats"),
        "by_s": {**_object({s: _ref("MetricStats") for s in S_KEYS}), "additionalProperties": False},
        "group_by": {"enum": list(PLACES), "description": "With ?group_by= only: the place grouped by."},
        "groups": {"type": "array", "description": "With ?group_by= only: one entry per place, in order "
                   "(sites whose place is not recorded last).", "items": _object({
                       "place": {**_nullable(TEXT), "description": "The province, commune or former district."},
                       "n_sites": {"type": "integer", "minimum": 0},
                       "n_included": {"type": "integer", "minimum": 0, "description": "Sites with both rounds."},
                       "overall": _ref("MetricStats"),
                       "by_s": {**_object({s: _ref("MetricStats") for s in S_KEYS}), "additionalProperties": False},
                   })},
    }, required=["sites_included", "sites_missing", "overall", "by_s"]),
    "RoundWindow": _object({
        "id": POSITIVE, "phase": {"enum": ["baseline", "periodic", "final"]},
        "year": {"type": "integer", "minimum": 2020, "maximum": 2100, "description": "The programme year."},
        "opens": DATE, "closes": {**DATE, "description": "The last day of the round (included)."},
        "closed": {"type": "boolean", "description": "The window closed before today (the sites' day)."},
    }),
    "ProgrammeCalendar": _object({"today": DATE, "windows": {"type": "array", "items": _ref("RoundWindow")}}),
    "BoardRound": _object({
        "phase": {"enum": ["baseline", "periodic", "final"]},
        "year": _nullable({"type": "integer"}), "opens": _nullable(DATE), "closes": _nullable(DATE),
        "state": {"enum": ["not_started", "in_progress", "submitted"],
                  "description": "Of the site's consultant audits that count for this window."},
        "late": {"type": "boolean", "description": "The window has closed without a submitted consultant audit."},
        "audit_id": _nullable(UUID), "audit_date": _nullable(DATE),
    }),
    "ProgrammeBoard": _object({
        "sites": {"type": "integer", "minimum": 0},
        "completed_both_rounds": {"type": "integer", "minimum": 0,
                                  "description": "Sites with a submitted baseline and final (the programme's n)."},
        "mean_change": {**CHANGE, "description": "Mean overall change, as on the programme page."},
        "late_rounds": {"type": "integer", "minimum": 0},
        "rounds": {"type": "array", "items": _object({"phase": {"enum": ["baseline", "periodic", "final"]},
                                                      "year": _nullable({"type": "integer"})})},
        "rows": {"type": "array", "items": _object({
            "site": _object({"code": TEXT, "name": TEXT, "kind": {"enum": list(SITE_KINDS)},
                             "district": _nullable(TEXT)}),
            "rounds": {"type": "array", "items": _ref("BoardRound")},
            "late": {"type": "boolean"}, "change": CHANGE,
            "actions": _object({"open": {"type": "integer", "minimum": 0},
                                "overdue": {"type": "integer", "minimum": 0}}),
        })},
        **PAGE,
    }),
    "Agreement": _object({
        "n_items": {"type": "integer", "minimum": 0, "description": "Items both raters scored (each room its own item)."},
        "kappa_quadratic": _nullable({**FRACTION_SIGNED,
                                      "description": "Quadratic-weighted Cohen's kappa; null with fewer than 10 "
                                                     "items or when a rater used one level only."}),
        "kappa_ci": _nullable({"type": "array", "items": FRACTION_SIGNED, "minItems": 2, "maxItems": 2,
                               "description": "95 % percentile bootstrap over items (fixed seed)."}),
        "kappa_missing": _nullable({"enum": ["too_few_items", "one_level"],
                                    "description": "Why kappa_quadratic is null."}),
        "exact_agreement": _nullable(FRACTION),
        "within_one": _nullable({**FRACTION, "description": "Share of items within one level."}),
        "mean_difference": _nullable({**POINTS, "description": "audit - other, points on the 0-4 scale."}),
    }),
    "AgreementPair": {"allOf": [_ref("Agreement"), _object({
        "kind": {"enum": ["self", "calibration"]}, "site": TEXT, "phase": {"enum": list(PHASES)},
        "audit": {**UUID, "description": "The self-assessment or the calibration audit."},
        "other": {**UUID, "description": "The consultant audit it is compared with."},
        "audit_rater": TEXT, "other_rater": TEXT,
        "by_s": {**_object({s: _ref("Agreement") for s in S_KEYS}), "additionalProperties": False},
    })]},
    "SiteAgreement": _object({"pairs": {"type": "array", "items": _ref("AgreementPair"),
                                        "description": "Calibration pairs only for reviewers and admins."}}),
    "RaterDrift": _object({
        "rater": TEXT,
        "calibration_pairs": {"type": "integer", "minimum": 0}, "calibration": _ref("Agreement"),
        "self_pairs": {"type": "integer", "minimum": 0}, "versus_self": _ref("Agreement"),
    }),
    "ProgrammeAgreement": _object({
        "rounds": _object({phase: _object({"pooled": _ref("Agreement"),
                                           "pairs": {"type": "array", "items": _ref("AgreementPair")}})
                           for phase in PHASES}),
        "bias_change": {"allOf": [_ref("MetricStats"), _object({
            "sites": {"type": "array", "items": TEXT},
            "shrank": _nullable({"type": "boolean", "description": "null: the paired test shows no change."}),
            "sentence": TEXT,
        })], "description": "Absolute mean difference self - consultant per site, baseline versus final."},
        "calibration_pairs": {"type": "array", "items": _ref("AgreementPair")},
        "rater_drift": {"type": "array", "items": _ref("RaterDrift"),
                        "description": "Each consultant's score minus the other rater's."},
    }, required=["rounds", "bias_change", "calibration_pairs"]),
    "AuditConflict": _object({"error": _object({
        "code": TEXT, "message": TEXT,
        "details": _object({"row_version": {"type": "integer"}, "audit": _ref("Audit"),
                            "answers": {"type": "array", "items": _ref("AnswerChanged"),
                                        "description": "answer_changed: each answer changed meanwhile."}},
                           required=["row_version", "audit"]),
    })}),
}

_ERRORS = {
    400: "Malformed JSON, or (cookie sessions) a missing or wrong X-CSRFToken header.",
    401: "No, a wrong or a revoked API token, and no session.",
    403: "Your role may not do this.",
    404: "Not found, or another site's (never revealed).",
    409: "Conflicts with the current state.",
    413: "The request body is too large.",
    410: "A photo with this id was deleted (photo_deleted): a replayed upload stores nothing. Drop it from "
         "the queue: the deletion stands.",
    415: "Wrong Content-Type.",
    422: "Well-formed but not valid; details lists each problem. Nothing was saved.",
    429: "Too many wrong API tokens from this client within a minute (a valid token is still let in). "
         "Try again after Retry-After seconds.",
    503: "The photo store (the media folder or the S3 bucket) cannot be reached just now (storage_unavailable): "
         "nothing of this request was saved. Send it again after Retry-After seconds.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer", "minimum": 1}}}


def _error(status: int, description: str | None = None, schema: str = "Error") -> dict:
    return {"description": description or _ERRORS[status],
            **({"headers": RETRY_AFTER} if status in (429, 503) else {}),
            "content": {"application/json": {"schema": _ref(schema)}}}


def _ok(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _json_body(schema: str, example: dict, *, required: bool = True) -> dict:
    return {"required": required,
            "content": {"application/json": {"schema": _ref(schema), "example": example}}}


def _responses(ok: dict, *errors: int, **special) -> dict:
    responses = {**ok}
    for status in sorted({401, 429, *errors}):  # every operation takes a token: 401 and 429
        responses[str(status)] = special.get(f"e{status}") or _error(status)
    return responses


def _path_param(name: str, schema: dict, description: str, example) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description,
            "example": example}


def _query_param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PAGING = [_query_param("page", {**POSITIVE, "default": 1}, "Which page (1 is the first)."),
          _query_param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": PER_PAGE},
                       "Items per page.")]

# Examples name a pilot site, the shipped school checklist and one audit and photo id.
EXAMPLE_SITE = "TH-SONDONG"
EXAMPLE_AUDIT_ID = "5b0f6f0e-7d0a-4c6e-9a51-2f3b8c1d4e70"
EXAMPLE_PHOTO_ID = "9c3d2e1f-4a5b-4c6d-8e7f-a0b1c2d3e4f5"
AUDIT_ID = _path_param("audit_id", UUID, "The audit's id (UUID).", EXAMPLE_AUDIT_ID)
SITE_CODE = _path_param("code", TEXT, "Site code.", EXAMPLE_SITE)
PREFER = {"name": "Prefer", "in": "header", "required": False,
          "schema": {"type": "string", "enum": ["return=minimal", "return=representation"]},
          "description": "RFC 7240. return=minimal: answer with AnswersSaved instead of the whole audit "
                         "(what the app's tablets send: a few hundred bytes per save instead of every answer)."}
CONFLICT_WITH_STATE = _error(409, "Stale row_version, an answer changed meanwhile (answer_changed), locked "
                                  "(submitted) audit, or not in a state for this; "
                                  "details holds the audit as it is now.", "AuditConflict")

PATHS = {
    "/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This document.", "security": [], "tags": ["meta"],
        "responses": {"200": {"description": "The OpenAPI document.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }},
    "/sites": {"get": {
        "operationId": "listSites", "summary": "The sites you may see, schools first, then by code; one page.",
        "tags": ["sites"],
        "parameters": [_query_param("q", TEXT, "Only sites whose code or name contains this (case-insensitive "
                                               "for Latin letters)."),
                       _query_param("kind", {"enum": list(SITE_KINDS)}, "Only this kind."),
                       _query_param("province", TEXT, "Only this province (now; exact)."),
                       _query_param("commune", TEXT, "Only this commune (now; exact)."),
                       *PAGING],
        "responses": _responses({"200": _ok("SiteList", "A page of the visible sites.")}, 422),
    }},
    "/sites/{code}": {"get": {
        "operationId": "getSite", "summary": "One site.", "tags": ["sites"],
        "parameters": [SITE_CODE],
        "responses": _responses({"200": _ok("Site", "The site.")}, 404),
    }},
    "/checklists": {"get": {
        "operationId": "listChecklists", "summary": "Every loaded checklist version.", "tags": ["checklists"],
        "responses": _responses({"200": _ok("ChecklistList", "Checklists.")}),
    }},
    "/checklists/{key}/{version}": {"get": {
        "operationId": "getChecklist", "summary": "Zones, items and the scale, in Vietnamese and English.",
        "tags": ["checklists"],
        "parameters": [_path_param("key", TEXT, "The checklist's key.", "school-5s"),
                       _path_param("version", {"type": "integer", "minimum": 0}, "Its version.", 1)],
        "responses": _responses({"200": _ok("Checklist", "The checklist.")}, 404),
    }},
    "/audits": {
        "get": {
            "operationId": "listAudits", "summary": "Audits of the sites you may see, newest first.",
            "tags": ["audits"],
            "parameters": [_query_param("site", TEXT, "Only this site (code)."),
                           _query_param("q", TEXT, "Only audits of sites whose code or name contains this."),
                           _query_param("kind", {"enum": list(SITE_KINDS)}, "Only audits of sites of this kind."),
                           _query_param("province", TEXT, "Only audits of sites in this province (now; exact)."),
                           _query_param("commune", TEXT, "Only audits of sites in this commune (now; exact)."),
                           _query_param("phase", {"enum": list(PHASES)}, "Only this phase."),
                           _query_param("status", {"enum": list(STATUSES)}, "Only this status."),
                           *PAGING],
            "responses": _responses({"200": _ok("AuditList", "A page of audits (without answers).")}, 404, 422),
        },
        "post": {
            "operationId": "createAudit", "tags": ["audits"],
            "summary": "Start an audit; idempotent on its id. The kind follows your role.",
            "requestBody": _json_body("AuditCreate", {
                "id": "0d5e7c1a-2b3f-4e6a-8c9d-1f2e3a4b5c6d", "site": EXAMPLE_SITE, "phase": "baseline",
                "date": "2023-05-10", "checklist": {"key": "school-5s", "version": 1}}),
            "responses": _responses({
                "201": _ok("Audit", "Created."),
                "200": _ok("Audit", "Already created with the same content (a replay)."),
            }, 400, 403, 404, 409, 413, 415, 422,
                e409=_error(409, "The id is taken by an audit with different content (id_conflict), or the site "
                                 "already has a consultant audit of this round that is not voided (audit_exists; "
                                 "details.audit_id is its id).")),
        },
    },
    "/audits/{audit_id}": {"get": {
        "operationId": "getAudit", "summary": "An audit with its rooms, answers and percentages.",
        "tags": ["audits"], "parameters": [AUDIT_ID],
        "responses": _responses({"200": _ok("Audit", "The audit.")}, 404),
    }},
    "/audits/{audit_id}/answers": {"put": {
        "operationId": "putAnswers", "tags": ["audits"],
        "summary": "Upsert answers, all or nothing, if row_version is current.",
        "parameters": [AUDIT_ID, PREFER], "requestBody": _json_body("AnswersPut", {"row_version": 1, "answers": [
            {"item": "CLS-S1-01", "zone_instance": "Lớp 3A", "score": 3, "na": False,
             "note": "Bàn ghế xếp gọn, còn sách cũ trên bệ cửa sổ."}]}),
        "responses": _responses({"200": {
            "description": "Saved: the audit with its new row_version; with Prefer: return=minimal only "
                           "the new row_version, the saved answers and the scores (AnswersSaved).",
            "content": {"application/json": {"schema": {"anyOf": [_ref("Audit"), _ref("AnswersSaved")]}}}}},
                                400, 403, 404, 409, 413, 415, 422, e409=CONFLICT_WITH_STATE),
    }},
    "/audits/{audit_id}/submit": {"post": {
        "operationId": "submitAudit", "tags": ["audits"],
        "summary": "Submit (lock) a complete audit; 422 lists unscored items.",
        "parameters": [AUDIT_ID], "requestBody": _json_body("SubmitRequest", {"row_version": 2}, required=False),
        "responses": _responses({"200": _ok("Audit", "Submitted.")},
                                400, 403, 404, 409, 413, 415, 422, e409=CONFLICT_WITH_STATE),
    }},
    "/audits/{audit_id}/reopen": {"post": {
        "operationId": "reopenAudit", "tags": ["audits"],
        "summary": "Reopen a submitted audit (reviewers and admins), giving a reason.",
        "parameters": [AUDIT_ID],
        "requestBody": _json_body("ReopenRequest", {"reason": "Chấm lại khu vệ sinh sau khi sửa chữa."}),
        "responses": _responses({"200": _ok("Audit", "Reopened.")},
                                400, 403, 404, 409, 413, 415, 422, e409=CONFLICT_WITH_STATE),
    }},
    "/audits/{audit_id}/calibration": {"post": {
        "operationId": "requestCalibration", "tags": ["audits"],
        "summary": "Ask a second consultant to score a consultant audit's site and round independently "
                   "(reviewers and admins; the same rules as the summary page's form). The new draft "
                   "calibration audit (kind calibration, calibrates: this audit) is returned; neither rater "
                   "sees the other's audit until both are submitted, and it never enters the score comparison.",
        "parameters": [AUDIT_ID],
        "requestBody": _json_body("CalibrationRequest", {"auditor": "tran.binh"}),
        "responses": _responses({"201": _ok("Audit", "The calibration audit, a draft of the second rater.")},
                                400, 403, 404, 409, 413, 415, 422,
                                e409=_error(409, "This consultant is already the second rater of this audit "
                                                 "(code calibration_exists).")),
    }},
    "/audits/{audit_id}/void": {"post": {
        "operationId": "voidAudit", "tags": ["audits"],
        "summary": "Void an audit (reviewers and admins), giving a reason: it stays readable, counts in no "
                   "comparison, report or agreement figure, and a new audit of its site and round may start.",
        "parameters": [AUDIT_ID],
        "requestBody": _json_body("VoidRequest", {"reason": "Chấm nhầm trường; chấm lại đợt đầu."}),
        "responses": _responses({"200": _ok("Audit", "Voided.")},
                                400, 403, 404, 409, 413, 415, 422,
                                e409=_error(409, "Already voided (already_voided).")),
    }},
    "/audits/{audit_id}/acknowledgement": {"post": {
        "operationId": "acknowledgeAudit", "tags": ["audits"],
        "summary": "The site's principal or clinic head acknowledges the submitted consultant audit (its "
                   "sign-off), with an optional comment that may disagree; once per submission.",
        "parameters": [AUDIT_ID],
        "requestBody": _json_body("AcknowledgementRequest",
                                  {"comment": "Nhà trường đã nhận biên bản; khu vệ sinh đang được sửa."}, required=False),
        "responses": _responses({"201": _ok("Acknowledgement", "Acknowledged.")},
                                400, 403, 404, 409, 413, 415, 422),
    }},
    "/audits/{audit_id}/record.pdf": {"get": {
        "operationId": "getAuditRecord", "tags": ["reports"],
        "summary": "The audit record (biên bản đánh giá) of a submitted audit: one A4 page with the scores, "
                   "the main findings and the signature blocks.",
        "parameters": [AUDIT_ID, {"name": "lang", "in": "query", "required": False,
                                  "schema": {"enum": ["vi", "en"], "default": "vi"}, "description": "The record's language."}],
        "responses": _responses({"200": {"description": "The PDF (A4; Content-Disposition: inline).", "content": {
            "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}}}}}, 404, 409, 422),
    }},
}

PDF = {"description": "The PDF (A4; Content-Disposition: inline).",
       "content": {"application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}}}}
DOCX = {"description": "The Word document (Content-Disposition: attachment).", "content": {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {"schema": {
        "type": "string",
        "contentMediaType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}}}}
REPORT_LANG = _query_param("lang", {"enum": ["vi", "en"], "default": "vi"}, "The report's language.")
PHOTO_ID = _path_param("photo_id", UUID, "The photo's id (UUID).", EXAMPLE_PHOTO_ID)
IMAGE = {"description": "The JPEG (no metadata). Send If-None-Match with the ETag to get a 304.",
         "content": {"image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}}}}

PATHS.update({
    "/audits/{audit_id}/photos": {"post": {
        "operationId": "uploadPhoto", "tags": ["photos"],
        "summary": "Attach a photo to an audit (or one of its answers); idempotent on its id.",
        "parameters": [AUDIT_ID],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _ref("PhotoUpload")}}},
        "responses": _responses({"201": _ok("Photo", "Stored."),
                                 "200": _ok("Photo", "Already stored with this id (a replay).")},
                                403, 404, 409, 410, 413, 415, 422, 503),
    }},
    "/photos/{photo_id}": {
        "get": {"operationId": "getPhoto", "tags": ["photos"], "summary": "A photo's metadata.",
                "parameters": [PHOTO_ID],
                "responses": _responses({"200": _ok("Photo", "The photo.")}, 404)},
        "delete": {"operationId": "deletePhoto", "tags": ["photos"], "summary": "Remove a photo.",
                   "parameters": [PHOTO_ID],
                   "responses": _responses({"204": {"description": "Removed."}}, 400, 403, 404, 409)},
    },
    "/photos/{photo_id}/display": {"get": {
        "operationId": "getPhotoDisplay", "tags": ["photos"], "summary": "The display image (long edge ≤ FIVS_PHOTO_MAX_PX, default 1600 px).",
        "parameters": [PHOTO_ID],
        "responses": _responses({"200": IMAGE, "304": {"description": "Not modified."}}, 404, 503),
    }},
    "/photos/{photo_id}/thumb": {"get": {
        "operationId": "getPhotoThumb", "tags": ["photos"], "summary": "The thumbnail (≤ 320 px).",
        "parameters": [PHOTO_ID],
        "responses": _responses({"200": IMAGE, "304": {"description": "Not modified."}}, 404, 503),
    }},
    # fivs/comparisons/api.py (figures from fivs.scoring, unrounded)
    "/sites/{code}/comparison": {"get": {
        "operationId": "getSiteComparison", "tags": ["comparisons"],
        "summary": "Baseline versus final of a site, with the change over matched items.",
        "parameters": [SITE_CODE],
        "responses": _responses({"200": _ok("SiteComparison", "The comparison.")}, 404),
    }},
    "/programme/comparison": {"get": {
        "operationId": "getProgrammeComparison", "tags": ["comparisons"],
        "summary": "Programme statistics over the sites with both rounds (reviewers and admins).",
        "parameters": [_query_param("kind", {"enum": ["all", "school", "clinic"], "default": "all"},
                                    "Which sites."),
                       _query_param("province", TEXT, "Only the sites of this province (now; exact)."),
                       _query_param("group_by", {"enum": list(PLACES)},
                                    "Also the statistics of each province, commune or former district "
                                    "(groups); another value is a 422 bad_group_by.")],
        "responses": _responses({"200": _ok("ProgrammeComparison", "The statistics.")}, 403, 422),
    }},
    # fivs/calendar/api.py
    "/programme/calendar": {"get": {
        "operationId": "getProgrammeCalendar", "tags": ["calendar"],
        "summary": "The programme calendar: each round's window per programme year (everyone logged in).",
        "responses": _responses({"200": _ok("ProgrammeCalendar", "The windows, by year and round.")}),
    }},
    "/programme/board": {"get": {
        "operationId": "getProgrammeBoard", "tags": ["calendar"],
        "summary": "Every site's rounds against the calendar (state, date, late), its open and overdue "
                   "corrective actions, and the programme's headline figures over every site (reviewers and "
                   "admins); one page of rows, narrowed as the site list and by state.",
        "parameters": [_query_param("q", TEXT, "Only sites whose code or name contains this."),
                       _query_param("kind", {"enum": list(SITE_KINDS)}, "Only this kind."),
                       _query_param("province", TEXT, "Only this province (now; exact)."),
                       _query_param("commune", TEXT, "Only this commune (now; exact)."),
                       _query_param("state", {"enum": ["late", "complete", "incomplete"]},
                                    "Only the sites with a late round, with both rounds submitted, or without."),
                       *PAGING],
        "responses": _responses({"200": _ok("ProgrammeBoard", "The board.")}, 403, 422),
    }},
    # fivs/agreement/api.py (figures from fivs.stats, unrounded)
    "/sites/{code}/agreement": {"get": {
        "operationId": "getSiteAgreement", "tags": ["agreement"],
        "summary": "Do the raters agree? The site's self-assessment (and, for reviewers and admins, "
                   "calibration) pairs.",
        "parameters": [SITE_CODE, _query_param("phase", {"enum": list(PHASES)},
                                               "One round; every round when absent.")],
        "responses": _responses({"200": _ok("SiteAgreement", "The pairs.")}, 404, 422),
    }},
    "/programme/agreement": {"get": {
        "operationId": "getProgrammeAgreement", "tags": ["agreement"],
        "summary": "Rater agreement across the sites, the change of self-rating bias and per-rater drift "
                   "(reviewers and admins).",
        "parameters": [_query_param("kind", {"enum": ["all", "school", "clinic"], "default": "all"},
                                    "Which sites.")],
        "responses": _responses({"200": _ok("ProgrammeAgreement", "The figures.")}, 403, 422),
    }},
    # fivs/reports/api.py
    "/sites/{code}/report.pdf": {"get": {
        "operationId": "getSiteReport", "tags": ["reports"],
        "summary": "The site's A4 report (baseline versus final, zones, weakest items, photos).",
        "parameters": [SITE_CODE, REPORT_LANG],
        "responses": _responses({"200": PDF}, 404, 422, 503),
    }},
    "/programme/report.pdf": {"get": {
        "operationId": "getProgrammeReport", "tags": ["reports"],
        "summary": "The programme's A4 report with a summary page per site (reviewers and admins).",
        "parameters": [REPORT_LANG],
        "responses": _responses({"200": PDF}, 403, 422, 503),
    }},
    "/sites/{code}/report.docx": {"get": {
        "operationId": "getSiteReportDocx", "tags": ["reports"],
        "summary": "The site report as an editable Word document (same figures as the PDF).",
        "parameters": [SITE_CODE, REPORT_LANG],
        "responses": _responses({"200": DOCX}, 404, 422, 503),
    }},
    "/programme/report.docx": {"get": {
        "operationId": "getProgrammeReportDocx", "tags": ["reports"],
        "summary": "The programme report as an editable Word document: the summary, tables and the per-S chart "
                   "(reviewers and admins).",
        "parameters": [REPORT_LANG],
        "responses": _responses({"200": DOCX}, 403, 422, 503),
    }},
    "/exports/{what}.{fmt}": {"get": {
        "operationId": "export", "tags": ["exports"],
        "summary": "One row per answer (answers), per audit (scores) or per corrective action (actions), "
                   "of the sites you may see.",
        "parameters": [_path_param("what", {"enum": ["answers", "scores", "actions"]}, "What to export.",
                                   "answers"),
                       _path_param("fmt", {"enum": ["csv", "xlsx"]},
                                   "CSV for machines (codes, every audit, UTF-8 with BOM) or an Excel workbook for "
                                   "people (sheets Overview, Details, Actions, Methods, Column codes, opened on the "
                                   "sheet of `what`).", "csv"),
                       {**REPORT_LANG, "description": "The workbook's language (XLSX only); Vietnamese when absent."},
                       _query_param("include", {"enum": ["drafts"]},
                                    "XLSX only: add draft and reopened audits (only submitted ones otherwise).")],
        "responses": _responses({"200": {"description": "The file (Content-Disposition: attachment).", "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "contentMediaType":
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
        }}}, 403, 404, 422),
    }},
})

# fivs/actions/api.py (corrective actions)
ACTION_STATUS = {"enum": ["open", "done", "verified", "reopened"]}
PRIORITY = {"enum": ["low", "medium", "high"]}
SCHEMAS.update({
    "Action": _object({
        "id": UUID, "site": TEXT, "audit": _nullable(UUID), "item": _nullable(TEXT),
        "zone_instance": _nullable(TEXT), "title": TEXT, "responsible": TEXT, "due_date": _nullable(DATE),
        "priority": PRIORITY, "status": ACTION_STATUS,
        "overdue": {"type": "boolean", "description": "Open or reopened and due before today in Vietnam."},
        "done_note": TEXT, "row_version": POSITIVE, "created_by": _nullable(TEXT), "created_at": DATETIME,
        "done_at": _nullable(DATETIME), "verified_at": _nullable(DATETIME),
        "photos": {"type": "array", "items": _ref("Photo"), "description": "\"After\" photos, oldest first."},
    }),
    "ActionPhotoUpload": {"type": "object", "required": ["file", "id"], "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "JPEG, PNG, WebP or HEIC; only resized, metadata-free copies are kept."},
        "id": {**UUID, "description": "Made on the device; a retry with the same id stores one photo."},
    }},
    "ActionList": _object({"actions": {"type": "array", "items": _ref("Action")}}),
    "ActionCreate": _object({
        "id": {**UUID, "description": "Optional, made on the device; a retry with the same id never duplicates."},
        "title": TEXT, "responsible": TEXT, "due_date": DATE, "priority": {**PRIORITY, "default": "medium"},
        "audit": {**UUID, "description": "The audit of the finding (needed with item)."},
        "item": {**TEXT, "description": "Item code of the finding."},
        "zone_instance": {**TEXT, "description": "Room label, for an item of a repeating zone."},
    }, required=["title", "due_date"]),
    "ActionPatch": _object({
        "status": {"enum": ["done", "verified", "reopened"],
                   "description": "done needs a note (the site); verified and reopened (with a reason) are for "
                                  "the consultant, reviewers and admins."},
        "note": TEXT, "reason": TEXT,
        "row_version": {**POSITIVE, "description": "Required with edits; a stale one is a 409."},
        "title": TEXT, "responsible": TEXT, "due_date": DATE, "priority": PRIORITY,
    }, required=[]),
    "ActionConflict": _object({"error": _object({
        "code": TEXT, "message": TEXT,
        "details": _object({"row_version": {"type": "integer"}, "action": _ref("Action")}),
    })}),
})
ACTION_ID = _path_param("action_id", UUID, "The action's id (UUID).", "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")
ACTION_CONFLICT = _error(409, "Stale row_version, or not in a state for this change; details holds the action "
                              "as it is now.", "ActionConflict")
PATHS.update({
    "/sites/{code}/actions": {
        "get": {"operationId": "listActions", "tags": ["actions"],
                "summary": "A site's corrective actions, overdue first.", "parameters": [SITE_CODE],
                "responses": _responses({"200": _ok("ActionList", "The actions.")}, 404)},
        "post": {"operationId": "createAction", "tags": ["actions"],
                 "summary": "Raise a corrective action, optionally from an answer; idempotent on its id.",
                 "parameters": [SITE_CODE],
                 "requestBody": _json_body("ActionCreate", {
                     "title": "Dọn sách cũ trên bệ cửa sổ", "responsible": "Cô Nguyễn Thị Hoà",
                     "due_date": "2023-06-01", "priority": "high", "audit": EXAMPLE_AUDIT_ID,
                     "item": "CLS-S1-01", "zone_instance": "Lớp 3A"}),
                 "responses": _responses({"201": _ok("Action", "Raised."),
                                          "200": _ok("Action", "Already raised with this id (a replay).")},
                                         400, 403, 404, 409, 413, 415, 422,
                                         e409=_error(409, "The id is taken by another action."))},
    },
    "/actions/{action_id}": {
        "get": {"operationId": "getAction", "tags": ["actions"], "summary": "One corrective action.",
                "parameters": [ACTION_ID], "responses": _responses({"200": _ok("Action", "The action.")}, 404)},
        "patch": {"operationId": "patchAction", "tags": ["actions"],
                  "summary": "Change the status (done with a note, verified, reopened with a reason) "
                             "or edit fields with row_version.",
                  "parameters": [ACTION_ID],
                  "requestBody": _json_body("ActionPatch", {"status": "done",
                                                            "note": "Đã dọn sạch, sách xếp vào tủ."}),
                  "responses": _responses({"200": _ok("Action", "Changed.")},
                                          400, 403, 404, 409, 413, 415, 422, e409=ACTION_CONFLICT)},
    },
    "/actions/{action_id}/photos": {"post": {
        "operationId": "uploadActionPhoto", "tags": ["actions", "photos"],
        "summary": "Add an \"after\" photo of the work (whoever may mark the action done; not once verified); "
                   "idempotent on its id. Send the photos first, then PATCH the status to done: a refused "
                   "photo (415, 422) stores nothing and changes nothing.",
        "parameters": [ACTION_ID],
        "requestBody": {"required": True,
                        "content": {"multipart/form-data": {"schema": _ref("ActionPhotoUpload")}}},
        "responses": _responses({"201": _ok("Photo", "Stored."),
                                 "200": _ok("Photo", "Already stored with this id (a replay).")},
                                400, 403, 404, 409, 410, 413, 415, 422,
                                e409=_error(409, "The action is verified, or the id is taken by another "
                                                 "photo.")),
    }},
})

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "fivs API",
        "version": "1",
        "description": (
            "5S audits for the Bắc Giang pilot schools and clinics. JSON in UTF-8.\n\n"
            "Authentication: `Authorization: Bearer <token>` (a token from `flask users token USERNAME` "
            "or the admin's user page), or the app's session cookie; with the cookie, requests that change "
            "something also need the page's CSRF token in the `X-CSRFToken` header.\n\n"
            "The same roles and site scopes apply as in the web app; another site's objects are 404.\n\n"
            "Audits and photos carry an id made on the device, so a retry never creates a duplicate. "
            "Changes to answers send the audit's `row_version`; a stale one is a 409 carrying the current audit.\n\n"
            "Lists of sites and audits come a page at a time (`?page=`, `?per_page=` up to 100, default 50): "
            "the response says `page`, `per_page`, `total` and the `next` and `prev` pages' URLs.\n\n"
            "Every error is `{\"error\": {\"code\", \"message\", \"details\"}}`; messages are in Vietnamese "
            "unless `?lang=en`."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    "tags": [{"name": n} for n in ("sites", "checklists", "audits", "photos", "comparisons", "agreement", "exports", "actions", "reports", "calendar", "meta")],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "The web app's session; unsafe methods need X-CSRFToken."},
        },
    },
}


def openapi_document() -> dict:
    return copy.deepcopy(DOCUMENT)
