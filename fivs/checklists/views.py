"""Checklist pages: every reader sees the versions and downloads them (XLSX, YAML); admins upload a
revised workbook, see its problems or its differences and zone pages, and publish it."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from fivs.auth import policy
from fivs.auth.access import admin_required, requires
from fivs.checklists import services
from fivs.checklists.forms import PublishForm, UploadForm
from fivs.checklists.models import ChecklistTemplate
from fivs.checklists.xlsx import MAX_BYTES
from fivs.extensions import db
from fivs.services_errors import ValidationError

checklists_bp = Blueprint("checklists", __name__, url_prefix="/checklists")


@checklists_bp.get("/")
@requires(policy.can_read_checklists)
def index():
    templates = db.session.scalars(select(ChecklistTemplate)
                                   .order_by(ChecklistTemplate.key, ChecklistTemplate.version)).all()
    return render_template("checklists/index.html", templates=templates)


@checklists_bp.get("/<key>/<int:version>")
@requires(policy.can_read_checklists)
def detail(key: str, version: int):
    template = services.get_version_or_404(key, version)
    return render_template("checklists/detail.html", template=template,
                           newest=services.newest_version(key), publication=services.publication_of(template))


def _download(key: str, version: int, file_format: str):
    template = services.get_version_or_404(key, version)
    body = services.export_version(template, file_format)
    return current_app.response_class(body, mimetype=services.FORMATS[file_format], headers={
        "Content-Disposition": f'attachment; filename="{services.export_filename(template, file_format)}"'})


@checklists_bp.get("/<key>/<int:version>.xlsx")
@requires(policy.can_read_checklists)
def download_xlsx(key: str, version: int):
    return _download(key, version, "xlsx")


@checklists_bp.get("/<key>/<int:version>.yaml")
@requires(policy.can_read_checklists)
def download_yaml(key: str, version: int):
    return _download(key, version, "yaml")


@checklists_bp.route("/<key>/upload", methods=["GET", "POST"])
@admin_required
def upload(key: str):
    current = services.get_newest_or_404(key)
    form = UploadForm()
    refusal, problems = None, []
    if form.validate_on_submit():
        try:
            staged = services.stage_upload(key, form.file.data.filename, form.file.data.read(MAX_BYTES + 1),
                                           current_user)
        except ValidationError as exc:
            refusal, problems = exc, services.describe(getattr(exc, "problems", []))
        else:
            db.session.commit()
            return redirect(url_for(".review", key=key, upload_id=staged.id))
    status = refusal.status if refusal else 422 if form.errors else 200
    return render_template("checklists/upload.html", current=current, form=form, refusal=refusal,
                           problems=problems, uploads=services.uploads_of(key)), status


@checklists_bp.get("/<key>/uploads/<int:upload_id>")
@admin_required
def review(key: str, upload_id: int):
    review = services.review_upload(services.get_upload_or_404(key, upload_id))
    form = PublishForm(base_version=review.current.version)
    return render_template("checklists/review.html", review=review, form=form)


@checklists_bp.get("/<key>/uploads/<int:upload_id>/zones/<zone_code>")
@admin_required
def preview(key: str, upload_id: int, zone_code: str):
    review = services.review_upload(services.get_upload_or_404(key, upload_id))
    zone = review.zone(zone_code) or abort(404)
    return render_template("checklists/preview.html", review=review, zone=zone)


@checklists_bp.post("/<key>/uploads/<int:upload_id>/publish")
@admin_required
def publish(key: str, upload_id: int):
    upload = services.get_upload_or_404(key, upload_id)
    form = PublishForm()
    if not form.validate_on_submit():
        raise ValidationError(" ".join(str(e) for errors in form.errors.values() for e in errors))
    template = services.publish_upload(upload, form.base_version.data, current_user)
    db.session.commit()
    flash(_("Published as version %(version)d. New audits use it; audits already started keep their version.",
            version=template.version), "info")
    return redirect(url_for(".detail", key=template.key, version=template.version))
