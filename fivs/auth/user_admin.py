"""Admin user editing: form wiring kept out of the views."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from fivs.auth.models import ApiToken, User
from fivs.auth.roles import CONSULTANT, SITE_BOUND_ROLES
from fivs.auth.services import MIN_PASSWORD, change_password, create_user, end_sessions
from fivs.events.services import log_event
from fivs.extensions import db
from fivs.services_errors import ValidationError
from fivs.sites.models import Site
from fivs.text import clean_text


def prepare_form(form, user: User | None):
    sites = db.session.scalars(select(Site).order_by(Site.code)).all()
    form.site.choices = [SelectChoice("", "—")] + [SelectChoice(s.code, f"{s.code} · {s.name}") for s in sites]
    form.assigned.choices = [SelectChoice(s.code, f"{s.code} · {s.name}") for s in sites]
    if user is not None and not form.is_submitted():
        form.site.data = user.site.code if user.site else ""
        form.assigned.data = [s.code for s in user.assigned_sites]
    return form


def _site(code: str | None) -> Site | None:
    return db.session.scalar(select(Site).where(Site.code == code)) if code else None


def create_from_form(form, actor) -> User:
    if not form.password.data:
        raise ValidationError(_("A new user needs a password (at least %(n)d characters).", n=MIN_PASSWORD))
    if form.role.data in SITE_BOUND_ROLES and not form.site.data:
        raise ValidationError(_("A principal or staff member belongs to a site: choose one."))
    user = create_user(form.username.data, form.role.data, password=form.password.data,
                       full_name=form.full_name.data or "", site=_site(form.site.data), actor=actor)
    user.active = bool(form.active.data)
    _apply_assignments(user, form.assigned.data)
    return user


def update_from_form(user: User, form, actor) -> None:
    old = {"full_name": user.full_name, "role": user.role, "site": user.site.code if user.site else None,
           "active": user.active, "assigned": [s.code for s in user.assigned_sites]}
    site = _site(form.site.data)
    if form.role.data in SITE_BOUND_ROLES and site is None:
        raise ValidationError(_("A principal or staff member belongs to a site: choose one."))
    user.full_name = clean_text(form.full_name.data or "", multiline=False)
    user.role = form.role.data
    user.site_id = site.id if site and user.role in SITE_BOUND_ROLES else None
    was_active, user.active = user.active, bool(form.active.data)
    _apply_assignments(user, form.assigned.data)
    if form.password.data:
        change_password(user, form.password.data, actor=actor)
    new = {"full_name": user.full_name, "role": user.role,
           "site": site.code if site and user.role in SITE_BOUND_ROLES else None,
           "active": user.active, "assigned": [s.code for s in user.assigned_sites]}
    if old["role"] != new["role"] or old["site"] != new["site"] or (was_active and not user.active):
        end_sessions(user)
    if old != new:
        log_event("user.update", user=actor, target=user.username, old=old, new=new)
    db.session.flush()


def _apply_assignments(user: User, codes: list[str]) -> None:
    if user.role != CONSULTANT:
        user.assigned_sites = []
        return
    user.assigned_sites = list(db.session.scalars(select(Site).where(Site.code.in_(codes or []))))


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc())))
