"""Console forms. Every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import SearchField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import ValidationError
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from ..console.tokens import SCOPES
from ..storage import models
from ..storage.models import ROLES


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


def _scope_choices() -> list[SelectChoice]:
    return [SelectChoice(scope, label) for scope, label in SCOPES.items()]


class CreateTokenForm(FlaskForm):
    name = StringField(
        "Token Name",
        validators=[DataRequired(), Length(max=200)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    scopes = SelectMultipleField(
        "Permissions",
        choices=_scope_choices,
        validators=[DataRequired("Choose at least one permission.")],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    expires_on = DateField("Expires after (UTC)", validators=[Optional()])

    def validate_expires_on(self, field: DateField) -> None:
        if field.data is not None and field.data < models.utcnow().date():
            raise ValidationError("The expiry date must be today or later.")

    def expires_at(self) -> datetime | None:
        """The token is valid through the whole chosen day (UTC)."""
        if self.expires_on.data is None:
            return None
        return datetime.combine(self.expires_on.data + timedelta(days=1), time.min)


def last_valid_day(expires_at: datetime | None) -> date | None:
    """The day a token expiring at ``expires_at`` works through, when that is a midnight
    (how ``CreateTokenForm.expires_at`` stores "expires after 2026-12-31": 2027-01-01
    00:00); None for any other moment."""
    if expires_at is None or expires_at.time() != time.min:
        return None
    return (expires_at - timedelta(days=1)).date()


class ConfirmForm(FlaskForm):
    """A CSRF token and a submit button: for actions confirmed on their own page."""


class UserFilterForm(FlaskForm):
    """The directory's users search (GET: no CSRF, the URL is shareable)."""

    class Meta:
        csrf = False

    q = SearchField("Search", validators=[Optional(), Length(max=200)])
    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "Active and deactivated"),
            SelectChoice("active", "Active"),
            SelectChoice("deactivated", "Deactivated"),
            SelectChoice("deleted", "Deleted"),
        ],
        default="",
    )


class GroupFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Search", validators=[Optional(), Length(max=200)])


class GroupRoleForm(FlaskForm):
    role = SelectField(
        "Willow role for members",
        choices=[SelectChoice("", "No role"), *(SelectChoice(role) for role in ROLES)],
    )
