from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from fivs.auth import user_admin
from fivs.auth.access import admin_required
from fivs.auth.forms import LoginForm, PasswordChangeForm, UserForm
from fivs.auth.models import User
from fivs.auth.ratelimit import TooManyAttempts, login_blocked, register_failed_login
from fivs.auth.services import change_password, end_sessions, find_user, issue_token, revoke_tokens
from fivs.auth.urls import safe_next
from fivs.db import reading
from fivs.events.services import log_event
from fivs.extensions import db, login_manager
from fivs.services_errors import ServiceError

auth_bp = Blueprint("auth", __name__, url_prefix="/auth")
admin_users_bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _sep, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    with reading():  # a read of its own: the request's writes, if any, come later
        user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


@auth_bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        if login_blocked(form.username.data):
            raise TooManyAttempts(_("Too many failed logins from this device or for this username. "
                                    "Wait a minute and try again."))
        user = find_user(form.username.data)
        if user is None or not user.active or not user.check_password(form.password.data):
            register_failed_login(form.username.data)
            log_event("auth.login_failed", target=(form.username.data or "")[:80])
            db.session.commit()
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a new session on login
        login_user(user)
        log_event("auth.login", user=user, target=user.username)
        db.session.commit()
        return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@auth_bp.post("/logout")
@login_required
def logout():
    user = db.session.get(User, current_user.id)
    end_sessions(user)
    log_event("auth.logout", user=user, target=user.username)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@auth_bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            change_password(current_user, form.new.data)
            db.session.commit()
            login_user(current_user)  # keep this session, end the others
            flash(_("Your password is changed."), "info")
            return redirect(url_for("main.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


# ---------------------------------------------------------------- admin: users
@admin_users_bp.get("/")
@admin_required
def index():
    users = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    return render_template("auth/users.html", users=users)


@admin_users_bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form = user_admin.prepare_form(UserForm(), None)
    if form.validate_on_submit():
        try:
            user = user_admin.create_from_form(form, current_user)
            db.session.commit()
            flash(_("User %(name)s created.", name=user.username), "info")
            return redirect(url_for(".edit", user_id=user.id))
        except ServiceError as exc:
            db.session.rollback()
            form.username.errors.append(exc.message)
    return render_template("auth/user_form.html", form=form, user=None), 422 if form.errors else 200


@admin_users_bp.route("/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = user_admin.prepare_form(UserForm(obj=user), user)
    if form.validate_on_submit():
        try:
            user_admin.update_from_form(user, form, current_user)
            db.session.commit()
            flash(_("Saved."), "info")
            return redirect(url_for(".edit", user_id=user.id))
        except ServiceError as exc:
            db.session.rollback()
            form.role.errors.append(exc.message)
    tokens = user_admin.tokens_of(user)
    return render_template("auth/user_form.html", form=form, user=user, tokens=tokens), 422 if form.errors else 200


@admin_users_bp.post("/<int:user_id>/tokens")
@admin_required
def new_token(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    _row, token = issue_token(user, request.form.get("name", ""), actor=current_user)
    db.session.commit()
    tokens = user_admin.tokens_of(user)
    form = user_admin.prepare_form(UserForm(obj=user), user)
    return render_template("auth/user_form.html", form=form, user=user, tokens=tokens, new_token=token)


@admin_users_bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(user_id: int, token_id: int):
    user = db.session.get(User, user_id) or abort(404)
    revoke_tokens(user, token_id, actor=current_user)
    db.session.commit()
    flash(_("Token revoked."), "info")
    return redirect(url_for(".edit", user_id=user.id))
