from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from fivs.auth import policy
from fivs.auth.access import requires
from fivs.checklists.models import ChecklistTemplate
from fivs.extensions import db

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
    template = db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.key == key, ChecklistTemplate.version == version)) or abort(404)
    return render_template("checklists/detail.html", template=template)
