from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectChoice, StringField
from wtforms.validators import EqualTo, Length, Optional

from fivs.auth.models import ROLES
from fivs.labels import role_label
from fivs.auth.services import MIN_PASSWORD
from fivs.formfields import ChoiceField, ChoicesField, FlaskForm, at_most, clean, required


def _long_enough() -> Length:
    return Length(min=MIN_PASSWORD, message=_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD))


def _no_such_site(code, _allowed) -> str:
    return _("No site with code %(code)s.", code=code)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[required(), at_most(80)])
    password = PasswordField(_l("Password"), validators=[required(), at_most(200)])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[required()])
    new = PasswordField(_l("New password"), validators=[required(), _long_enough(), at_most(200)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[required(), EqualTo("new", message=_l("The passwords differ."))])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), filters=[clean], validators=[required(), at_most(80)])
    full_name = StringField(_l("Full name"), filters=[clean], validators=[required(), at_most(200)])
    role = ChoiceField(_l("Role"), choices=[])  # the roles' names in the reader's language: see __init__
    site = ChoiceField(_l("Site (principal, staff)"), choices=[], refusal=_no_such_site)  # "" for none
    assigned = ChoicesField(_l("Assigned sites (consultant)"), choices=[], coerce=str, refusal=_no_such_site)
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("New password"), validators=[Optional(), _long_enough(), at_most(200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice(role, role_label(role)) for role in ROLES]
