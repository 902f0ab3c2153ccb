from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from fivs.auth.models import ApiToken, User
from fivs.auth.roles import CONSULTANT, ROLES, SITE_BOUND_ROLES
from fivs.events.services import log_event
from fivs.extensions import db
from fivs.services_errors import NotFoundError, ValidationError
from fivs.sites.models import Site
from fivs.text import clean_text
from fivs.timeutil import utcnow

MIN_PASSWORD = 8


def find_user(username: str) -> User | None:
    username = clean_text(username, multiline=False).lower()
    return db.session.scalar(select(User).where(func.lower(User.username) == username))


def get_site_by_code(code: str) -> Site:
    site = db.session.scalar(select(Site).where(Site.code == clean_text(code, multiline=False).upper()))
    if site is None:
        raise NotFoundError(_("No site with code %(code)s.", code=code))
    return site


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(_("The password must have at least %(n)d characters.", n=MIN_PASSWORD))


def create_user(username: str, role: str, *, password: str, full_name: str = "",
                site: Site | None = None, actor=None) -> User:
    username = clean_text(username, multiline=False)
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ValidationError(_("A username is 1–%(n)d characters without spaces.", n=80))
    if role not in ROLES:
        raise ValidationError(_("Unknown role %(role)s; use one of %(roles)s.", role=role, roles=", ".join(ROLES)))
    if role in SITE_BOUND_ROLES and site is None:
        raise ValidationError(_("A %(role)s belongs to a site: give its code.", role=role))
    if find_user(username):
        raise ValidationError(_("The username %(name)s is taken.", name=username))
    check_password_rules(password)
    user = User(username=username, role=role, full_name=clean_text(full_name, multiline=False),
                site_id=site.id if site and role in SITE_BOUND_ROLES else None, active=True,
                session_version=1)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    log_event("user.create", user=actor, target=username, new={"role": role, "site": site.code if site else None})
    return user


def assign_site(user: User, site: Site, actor=None) -> bool:
    if user.role != CONSULTANT:
        raise ValidationError(_("Only consultants are assigned to sites."))
    if site in user.assigned_sites:
        return False
    user.assigned_sites.append(site)
    log_event("user.assign", user=actor, site_id=site.id, target=user.username, new=site.code)
    db.session.flush()
    return True


def end_sessions(user: User) -> None:
    """Every existing session of this user stops working (server-side check on each request)."""
    user.session_version = (user.session_version or 1) + 1


def change_password(user: User, new_password: str, actor=None) -> None:
    check_password_rules(new_password)
    user.set_password(new_password)
    end_sessions(user)
    log_event("user.password", user=actor or user, target=user.username)
    db.session.flush()


# ---------------------------------------------------------------- API tokens
def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str = "", actor=None) -> tuple[ApiToken, str]:
    token = "fivs_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=clean_text(name, multiline=False)[:120],
                   token_hash=hash_token(token))
    db.session.add(row)
    db.session.flush()
    log_event("token.issue", user=actor, target=user.username, new={"token_id": row.id, "name": row.name})
    return row, token


def revoke_tokens(user: User, token_id: int | None = None, actor=None) -> int:
    count = 0
    for row in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                          ApiToken.revoked_at.is_(None))):
        if token_id is None or row.id == token_id:
            row.revoked_at = utcnow()
            count += 1
    log_event("token.revoke", user=actor, target=user.username, new={"revoked": count})
    db.session.flush()
    return count


# Built once, so its cache key is memoised: each request only binds the hash. The user's assigned
# site ids come with the user (a column of its own in the same query).
_TOKEN_USER = (select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at)
               .join(ApiToken, ApiToken.user_id == User.id)
               .where(ApiToken.token_hash == bindparam("token_hash")))


def token_user(token: str) -> tuple[User, int, datetime | None] | None:
    """(user, token id, token last used at) for an unrevoked token of an active user (one query)."""
    row = db.session.execute(_TOKEN_USER, {"token_hash": hash_token(token)}).one_or_none()
    if row is None or row.revoked_at is not None or not row.User.active:
        return None
    return row.User, row.id, row.last_used_at
