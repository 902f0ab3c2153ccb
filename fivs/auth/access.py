"""Access rules in one place: role decorators and get_X_or_404 helpers that enforce site scope.

Another site's object is a 404, never a 403, so its existence does not leak.
"""
from __future__ import annotations

import uuid as uuid_mod
from functools import cache, wraps

from flask import abort, g, has_app_context
from flask_login import current_user, login_required
from sqlalchemy import bindparam, event, select

from fivs.auth.models import User, consultant_sites
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


_ASSIGNED_SITE_IDS = select(consultant_sites.c.site_id).where(consultant_sites.c.user_id == bindparam("user_id"))


def assigned_site_ids(user) -> frozenset[int]:
    """A consultant's assigned sites: ids only, read once per request (no Site rows)."""
    memo = g.setdefault("_fivs_assigned_site_ids", {}) if has_app_context() else {}
    if user.id not in memo:
        if "assigned_sites" in user.__dict__:  # already loaded: no query
            memo[user.id] = frozenset(s.id for s in user.assigned_sites)
        else:
            memo[user.id] = frozenset(db.session.scalars(_ASSIGNED_SITE_IDS, {"user_id": user.id}))
    return memo[user.id]


def remember_assigned_site_ids(user, site_ids) -> None:
    """The caller read the consultant's assigned site ids with something else (the API token):
    this request need not read them again."""
    if has_app_context():
        g.setdefault("_fivs_assigned_site_ids", {})[user.id] = frozenset(site_ids)


@event.listens_for(User.assigned_sites, "append")
@event.listens_for(User.assigned_sites, "remove")
@event.listens_for(User.assigned_sites, "bulk_replace")
def _forget_assigned_site_ids(*_args, **_kw) -> None:
    """A change to anyone's assignments drops the request's memo (read again when next needed)."""
    if has_app_context():
        g.pop("_fivs_assigned_site_ids", None)


def visible_site_ids(user) -> set[int] | None:
    """Site ids the user may read; None means every site."""
    if user.role in ALL_SITES_ROLES:
        return None
    if user.role == "consultant":
        return set(assigned_site_ids(user))
    return {user.site_id} if user.site_id else set()


def visible_sites_query(user):
    stmt = select(Site).order_by(Site.kind.desc(), Site.code)
    ids = visible_site_ids(user)
    if ids is not None:
        stmt = stmt.where(Site.id.in_(ids or {-1}))
    return stmt


def can_view_site(user, site: Site) -> bool:
    return can_view_site_id(user, site.id)


def can_view_site_id(user, site_id: int) -> bool:
    ids = visible_site_ids(user)
    return ids is None or site_id in ids


def auditable_site_ids(user) -> set[int] | None:
    """Sites where the user may start an audit (consultant audit or self-assessment)."""
    if user.role == "admin":
        return None
    if user.role == "consultant":
        return set(assigned_site_ids(user))
    if user.role in ("principal", "staff"):
        return {user.site_id} if user.site_id else set()
    return set()


def can_audit_site(user, site: Site) -> bool:
    return can_audit_site_id(user, site.id)


def can_audit_site_id(user, site_id: int) -> bool:
    ids = auditable_site_ids(user)
    return ids is None or site_id in ids


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
    if not can_view_site_id(user, audit.site_id):
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
        return user.role == "consultant" and can_audit_site_id(user, audit.site_id)
    return user.role in ("principal", "staff") and user.site_id == audit.site_id


@cache
def _audit_by_uuid():
    """The audit and its checklist's content hash (for the checklist spec), in one query.
    Built once, so its cache key is memoised (fivs.audits.models imports this module)."""
    from fivs.audits.models import Audit
    from fivs.checklists.models import ChecklistTemplate

    return (select(Audit, ChecklistTemplate.content_hash)
            .join(ChecklistTemplate, ChecklistTemplate.id == Audit.template_id)
            .where(Audit.uuid == bindparam("uuid")))


def remember_audit(audit_uuid: uuid_mod.UUID, audit, content_hash: str | None) -> None:
    """Something else read the audit of this uuid (the API token's query; None: there is none):
    the next get_audit_or_404 for it in this request need not read it again."""
    if has_app_context():
        g._fivs_read_audit = (audit_uuid, audit, content_hash)


def get_audit_or_404(audit_uuid):
    from fivs.checklists.spec import note_content_hash

    audit_uuid = parse_uuid_or_404(audit_uuid)
    read = g.pop("_fivs_read_audit", None) if has_app_context() else None
    if read is not None and read[0] == audit_uuid:
        audit, content_hash = read[1], read[2]
    else:
        row = db.session.execute(_audit_by_uuid(), {"uuid": audit_uuid}).one_or_none()
        audit, content_hash = (row.Audit, row.content_hash) if row is not None else (None, None)
    if audit is None or not can_view_audit(current_user, audit):
        abort(404)
    note_content_hash(audit.template_id, content_hash)
    return audit


def site_scope_required(view):
    """For views taking `code`: loads the site (404 outside the user's scope) as `site`."""

    @login_required
    @wraps(view)
    def wrapped(code, *args, **kwargs):
        return view(get_site_or_404(code), *args, **kwargs)

    return wrapped
