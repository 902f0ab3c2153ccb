"""fivs: 5S audits for the Bắc Giang pilot schools and clinics."""
from __future__ import annotations

import os

from flask import Flask

from fivs.config import load_config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. Only wiring happens here: no schema changes, no network."""
    app = Flask(__name__, instance_path=os.environ.get("FIVS_INSTANCE_PATH") or None,
                instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    load_config(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_hooks(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    from fivs import models  # noqa: F401  (every model registered before Alembic looks)
    from fivs.db import configure_engine_events
    from fivs.extensions import babel, csrf, db, limiter, login_manager, migrate
    from flask_babel import gettext

    from fivs.i18n import LOGIN_MESSAGE, REFRESH_MESSAGE, select_locale
    from fivs.photos.pipeline import register_heif

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.login_message = LOGIN_MESSAGE  # Flask-Login's own messages, in the reader's language
    login_manager.needs_refresh_message = REFRESH_MESSAGE
    login_manager.needs_refresh_message_category = "info"
    login_manager.localize_callback = gettext
    login_manager.session_protection = "basic"
    configure_engine_events(app)
    register_heif()  # HEIC/HEIF photos from iPads


def register_blueprints(app: Flask) -> None:
    from fivs.actions.api import actions_api_bp
    from fivs.agreement.api import agreement_api_bp
    from fivs.actions.views import actions_bp
    from fivs.api.views import api_bp
    from fivs.audits.views import audits_bp
    from fivs.calendar.api import calendar_api_bp
    from fivs.calendar.views import calendar_bp
    from fivs.auth.views import admin_users_bp, auth_bp
    from fivs.checklists.views import checklists_bp
    from fivs.comparisons.api import comparisons_api_bp
    from fivs.comparisons.views import comparisons_bp
    from fivs.events.views import events_bp
    from fivs.main import main_bp
    from fivs.offline.views import offline_bp
    from fivs.photos.views import photos_bp
    from fivs.reports.api import reports_api_bp
    from fivs.sites.views import sites_bp

    for bp in (main_bp, auth_bp, admin_users_bp, sites_bp, checklists_bp, audits_bp, events_bp,
               api_bp, comparisons_bp, comparisons_api_bp, offline_bp,
               actions_bp, actions_api_bp, reports_api_bp, photos_bp, agreement_api_bp, calendar_bp, calendar_api_bp):
        app.register_blueprint(bp)


def register_errorhandlers(app: Flask) -> None:
    from fivs.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from fivs.commands import register

    register(app)


def register_hooks(app: Flask) -> None:
    from fivs.security import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from fivs.templating import register

    register(app)
