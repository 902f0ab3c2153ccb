"""The PDF reports under /api/v1, authenticated like the rest of the API (fivs.api.auth).

A site's report, and a submitted audit's record, for whoever may see the site (another site is a
404); the programme report for reviewers and admins (403 for the others). Vietnamese unless ?lang=en.
"""
from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_babel import gettext as _

from fivs.api.auth import api_user, authenticate, challenge
from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.auth.access import get_audit_or_404, get_site_or_404
from fivs.extensions import csrf
from fivs.reports.docx_report import build_programme_docx, build_site_docx
from fivs.reports.exports import content_disposition
from fivs.reports.programme_report import build_programme_report
from fivs.reports.record import build_audit_record
from fivs.reports.site_report import build_site_report
from fivs.services_errors import ConflictError, PermissionDenied, ValidationError
from fivs.timeutil import local_today

reports_api_bp = Blueprint("reports_api", __name__, url_prefix="/api/v1")
csrf.exempt(reports_api_bp)  # read-only GETs; authenticate() checks cookie requests' CSRF
reports_api_bp.before_request(authenticate)
reports_api_bp.after_request(challenge)


@reports_api_bp.get("/sites/<code>/report.pdf")
def site_report(code: str):
    site = get_site_or_404(code)
    lang = report_lang()
    return pdf_response(build_site_report(site, lang, hidden_audits(api_user())), f"{site.code} {site.name} {local_today()}.pdf")


@reports_api_bp.get("/programme/report.pdf")
def programme_report():
    user = api_user()
    if not policy.can_see_programme(user):
        raise PermissionDenied(_("Only reviewers and admins can see the programme report."))
    lang = report_lang()
    return pdf_response(build_programme_report(lang, hidden_audits(user)), f"fivs-programme-{local_today()}.pdf")


@reports_api_bp.get("/sites/<code>/report.docx")
def site_report_docx(code: str):
    site = get_site_or_404(code)
    return docx_response(build_site_docx(site, report_lang(), hidden_audits(api_user())), f"{site.code} {site.name} {local_today()}.docx")


@reports_api_bp.get("/programme/report.docx")
def programme_report_docx():
    user = api_user()
    if not policy.can_see_programme(user):
        raise PermissionDenied(_("Only reviewers and admins can see the programme report."))
    return docx_response(build_programme_docx(report_lang(), hidden_audits(user)), f"fivs-programme-{local_today()}.docx")


@reports_api_bp.get("/audits/<audit_id>/record.pdf")
def audit_record(audit_id: str):
    """The one-page audit record of a submitted audit, for whoever may see the audit."""
    audit = get_audit_or_404(audit_id)
    if audit.status != "submitted":
        raise ConflictError(_("The audit record is made once the audit is submitted."), code="not_submitted")
    lang = report_lang()
    return pdf_response(build_audit_record(audit, lang),
                        f"{audit.site.code} {audit.site.name} {audit.phase} {audit.audit_date}.pdf")


def report_lang() -> str:
    """?lang=vi|en, Vietnamese when absent (whatever the session's language)."""
    lang = request.args.get("lang", "vi")
    if lang not in current_app.config["LANGUAGES"]:
        raise ValidationError(_("The language must be one of: vi, en."), code="bad_lang",
                              details=[{"field": "lang", "allowed": list(current_app.config["LANGUAGES"])}])
    return lang


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_response(body: bytes, filename: str):
    return current_app.response_class(body, mimetype=DOCX, headers={
        "Content-Disposition": content_disposition(filename)})


def pdf_response(body: bytes, filename: str):
    return current_app.response_class(body, mimetype="application/pdf", headers={
        "Content-Disposition": content_disposition(filename).replace("attachment", "inline", 1)})
