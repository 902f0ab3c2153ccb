"""Access rules in one place: role decorators and get_X_or_404 helpers that enforce site scope.

Another site's object is a 404, never a 403, so its existence does not leak.
"""
from __future__ import annotations

import uuid as uuid_mod
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from fivs.extensions import db
from fivs.sites.models import Site

ALL_SITES_ROLES = ("admin", "reviewer")


def roles_required(*roles: str):
    """Logged in, and one of `roles` (403 otherwise)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = roles_required("admin")


def visible_site_ids(user) -> set[int] | None:
    """Site ids the user may read; None means every site."""
    if user.role in ALL_SITES_ROLES:
        return None
    if user.role == "consultant":
        return {s.id for s in user.assigned_sites}
    return {user.site_id} if user.site_id else set()


def visible_sites_query(user):
    stmt = select(Site).order_by(Site.kind.desc(), Site.code)
    ids = visible_site_ids(user)
    if ids is not None:
        stmt = stmt.where(Site.id.in_(ids or {-1}))
    return stmt


def can_view_site(user, site: Site) -> bool:
    ids = visible_site_ids(user)
    return ids is None or site.id in ids


def auditable_site_ids(user) -> set[int] | None:
    """Sites where the user may start an audit (consultant audit or self-assessment)."""
    if user.role == "admin":
        return None
    if user.role == "consultant":
        return {s.id for s in user.assigned_sites}
    if user.role in ("principal", "staff"):
        return {user.site_id} if user.site_id else set()
    return set()


def can_audit_site(user, site: Site) -> bool:
    ids = auditable_site_ids(user)
    return ids is None or site.id in ids


def audit_kind_for(user) -> str:
    return "self" if user.role in ("principal", "staff") else "consultant"


def get_site_or_404(code: str) -> Site:
    site = db.session.scalar(select(Site).where(Site.code == code))
    if site is None or not can_view_site(current_user, site):
        abort(404)
    return site


def parse_uuid_or_404(value) -> uuid_mod.UUID:
    try:
        return value if isinstance(value, uuid_mod.UUID) else uuid_mod.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        abort(404)


def can_view_audit(user, audit) -> bool:
    if not can_view_site(user, audit.site):
        return False
    # Staff see their own self-assessments and the site's consultant audits.
    return True


def can_edit_audit(user, audit) -> bool:
    """May change answers (the audit must also be editable: see services)."""
    if user.role == "admin":
        return True
    if user.role == "reviewer":
        return audit.status == "reopened"
    if audit.kind == "consultant":
        return user.role == "consultant" and can_audit_site(user, audit.site)
    return user.role in ("principal", "staff") and user.site_id == audit.site_id


def get_audit_or_404(audit_uuid):
    from fivs.audits.models import Audit

    audit = db.session.scalar(select(Audit).where(Audit.uuid == parse_uuid_or_404(audit_uuid)))
    if audit is None or not can_view_audit(current_user, audit):
        abort(404)
    return audit


def site_scope_required(view):
    """For views taking `code`: loads the site (404 outside the user's scope) as `site`."""

    @login_required
    @wraps(view)
    def wrapped(code, *args, **kwargs):
        return view(get_site_or_404(code), *args, **kwargs)

    return wrapped
