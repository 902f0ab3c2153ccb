from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    cast,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from fivs.auth.roles import ROLES, SITE_BOUND_ROLES  # noqa: F401  (re-exported for the forms)
from fivs.extensions import db
from fivs.sites.models import Site
from fivs.timeutil import utcnow

consultant_sites = Table(
    "consultant_sites",
    db.Model.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'reviewer', 'consultant', 'principal', 'staff')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout-everywhere, password change and deactivation: old sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    site: Mapped[Site | None] = relationship(foreign_keys=[site_id])
    assigned_sites: Mapped[list[Site]] = relationship(
        secondary=consultant_sites, order_by=Site.code
    )
    # A consultant's assigned site ids ("3,7,12"), read in the same query as the user: checking the
    # site of what a request touches needs no query of its own.
    _assigned_site_ids: Mapped[str | None] = column_property(
        select(func.aggregate_strings(cast(consultant_sites.c.site_id, String), ","))
        .where(consultant_sites.c.user_id == id).correlate_except(consultant_sites).scalar_subquery())

    @property
    def assigned_site_ids(self) -> frozenset[int]:
        return frozenset(int(n) for n in (self._assigned_site_ids or "").split(",") if n)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # Flask-Login: the session stores "id:version"; a bumped version logs the session out.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


@event.listens_for(User.assigned_sites, "append")
@event.listens_for(User.assigned_sites, "remove")
@event.listens_for(User.assigned_sites, "bulk_replace")
def _assignments_changed(target: User, *_args, **_kw) -> None:
    """The ids read with the user are read again (after the change is flushed) when next needed."""
    state = inspect(target)
    if state.persistent:
        state.session.expire(target, ["_assigned_site_ids"])
