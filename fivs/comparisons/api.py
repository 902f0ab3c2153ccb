"""JSON endpoints of the comparisons and the exports, under /api/v1.

Authentication is the API's own (fivs.api.auth: bearer token or session cookie); errors are
the app's JSON error shape. Another site is a 404; the programme is for reviewers and admins.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _

from fivs.api.auth import api_user, authenticate, challenge
from fivs.api.representations import json_response
from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.auth.access import get_site_or_404
from fivs.comparisons.services import programme_comparison, site_comparison
from fivs.extensions import csrf
from fivs.reports import exports
from fivs.reports.api import report_lang
from fivs.services_errors import PermissionDenied, ValidationError
from fivs.timeutil import local_today

comparisons_api_bp = Blueprint("comparisons_api", __name__, url_prefix="/api/v1")
csrf.exempt(comparisons_api_bp)  # read-only GETs; authenticate() checks cookie requests' CSRF
comparisons_api_bp.before_request(authenticate)

EXPORTS = {"answers": exports.answer_rows, "scores": exports.score_rows, "actions": exports.action_rows}
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


comparisons_api_bp.after_request(challenge)


@comparisons_api_bp.get("/sites/<code>/comparison")
def site(code: str):
    return json_response(site_comparison(get_site_or_404(code), hidden_audits(api_user())))


@comparisons_api_bp.get("/programme/comparison")
def programme():
    user = api_user()
    if not policy.can_see_programme(user):
        raise PermissionDenied(_("Only reviewers and admins can see the programme comparison."))
    return json_response(programme_comparison(request.args.get("kind", "all"), hidden=hidden_audits(user),
                                              province=request.args.get("province") or None,
                                              group_by=request.args.get("group_by")))


@comparisons_api_bp.get("/exports/<what>.<fmt>")
def export(what: str, fmt: str):
    if what not in EXPORTS or fmt not in exports.FORMATS:
        abort(404)
    user = api_user()
    if not policy.can_export(user):
        raise PermissionDenied(_("Exports are for reviewers, principals and consultants."))
    site_ids, hidden = policy.visible_site_ids(user), hidden_audits(user)
    if fmt == "csv":  # for machines: codes, every audit whatever its status (but the hidden ones)
        body = exports.to_csv(*EXPORTS[what](site_ids, hidden))
    else:  # for people: the whole workbook, opened on the sheet asked for
        lang = report_lang()
        with force_locale(lang):
            body = exports.people_workbook(site_ids, lang=lang, include_drafts=_include_drafts(), active=what,
                                           hidden=hidden)
    filename = f"fivs-{what}-{_scope_name(user)}-{local_today().isoformat()}.{fmt}"
    return current_app.response_class(body, mimetype=MIMETYPES[fmt], headers={
        "Content-Disposition": exports.content_disposition(filename)})


def _include_drafts() -> bool:
    """?include=drafts adds draft and reopened audits to the workbook (submitted ones only otherwise)."""
    include = request.args.get("include", "")
    if include not in ("", "drafts"):
        raise ValidationError(_("include must be: drafts."), code="bad_include",
                              details=[{"field": "include", "allowed": ["drafts"]}])
    return include == "drafts"


def _scope_name(user) -> str:
    """The site's name for a principal (Vietnamese kept), else a word for the scope."""
    if policy.is_site_head(user) and user.site is not None:
        return f"{user.site.code} {user.site.name}"
    return "all" if policy.sees_all_sites(user) else "assigned"
