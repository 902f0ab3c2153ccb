"""Access at the edge of a request: decorators for views, and get_X_or_404 helpers that load an
object only within the current user's scope. The rules themselves are named in fivs.auth.policy.

Another site's object is a 404, never a 403, so its existence does not leak.
"""
from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from fivs.actions.models import CorrectiveAction
from fivs.audits.models import CALIBRATION, Audit
from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.extensions import db
from fivs.photos.models import Photo
from fivs.sites.models import Site
from fivs.text import has_control_chars


def requires(allowed: Callable[[object], bool]):
    """Logged in, and `allowed(current_user)` (a predicate of fivs.auth.policy): 403 otherwise."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not allowed(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = requires(policy.is_admin)


def visible_sites_query(user):
    """The sites the user may read, schools first, then by code."""
    stmt = select(Site).order_by(Site.kind.desc(), Site.code)
    ids = policy.visible_site_ids(user)
    if ids is not None:
        stmt = stmt.where(Site.id.in_(ids or {-1}))
    return stmt


def get_site_or_404(code: str) -> Site:
    """The site of `code` if the user may see it, else 404 (a code with a control character, NUL included,
    names no site: it is not sent to a database that refuses it)."""
    if has_control_chars(code):
        abort(404)
    site = db.session.scalar(select(Site).where(Site.code == code))
    if site is None or not policy.sees_site(current_user, site.id):
        abort(404)
    return site


def site_scope_required(view):
    """For views taking `code`: loads the site (404 outside the user's scope) as `site`."""

    @login_required
    @wraps(view)
    def wrapped(code, *args, **kwargs):
        return view(get_site_or_404(code), *args, **kwargs)

    return wrapped


def parse_uuid_or_404(value) -> uuid_mod.UUID:
    try:
        return value if isinstance(value, uuid_mod.UUID) else uuid_mod.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        abort(404)


# The audit with its checklist template (the checklist's cached spec is keyed on the template's
# content hash): one query.
_AUDIT_BY_UUID = select(Audit).options(joinedload(Audit.template)).where(Audit.uuid == bindparam("uuid"))


_CALIBRATIONS_OF = select(Audit).where(Audit.calibrates_id == bindparam("audit_id"))


def calibration_pairs(audit: Audit) -> list[tuple[Audit, Audit]]:
    """The (consultant audit, calibration audit) pairs `audit` belongs to (at most one query)."""
    if audit.kind == CALIBRATION:
        return [(audit.calibrates, audit)]
    return [(audit, second) for second in db.session.scalars(_CALIBRATIONS_OF, {"audit_id": audit.id})]


def get_audit_or_404(audit_uuid) -> Audit:
    audit = db.session.scalar(_AUDIT_BY_UUID, {"uuid": parse_uuid_or_404(audit_uuid)})
    if audit is None:
        abort(404)
    hidden = (policy.hidden_audit_ids(current_user, calibration_pairs(audit))
              if policy.may_be_kept_blind(current_user, audit) else frozenset())
    if not policy.can_view_audit(current_user, audit, hidden):
        abort(404)
    return audit


def get_action_or_404(action_uuid) -> CorrectiveAction:
    action = db.session.scalar(select(CorrectiveAction).where(
        CorrectiveAction.uuid == parse_uuid_or_404(action_uuid)))
    if action is None or not policy.sees_site(current_user, action.site_id):
        abort(404)
    if action.audit_id is not None and action.audit_id in hidden_audits(current_user):
        abort(404)  # raised on the other side of the reader's unfinished calibration pair
    return action


def get_photo_or_404(photo_uuid) -> Photo:
    """A photo of an audit or of an action, if the current user may see its site (and its audit:
    not the other side of an unfinished calibration pair, fivs.auth.policy.hidden_audit_ids)."""
    photo = db.session.scalar(select(Photo).where(Photo.uuid == parse_uuid_or_404(photo_uuid)))
    if photo is None or not policy.sees_site(current_user, photo.site_id):
        abort(404)
    if photo.audit_id is not None and photo.audit_id in hidden_audits(current_user):
        abort(404)
    return photo
