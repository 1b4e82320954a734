"""Forms of the Single sign-on page and the SSO button of the sign-in page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SsoSettingsForm(FlaskForm):
    issuer = StringField(
        "Issuer URL", validators=[DataRequired(), Length(max=1024)], filters=[_strip]
    )
    client_id = StringField(
        "Client ID", validators=[DataRequired(), Length(max=512)], filters=[_strip]
    )
    # Write-only: never rendered back (PasswordField does not echo its value).
    client_secret = PasswordField("Client secret", validators=[Optional(), Length(max=2048)])
    allowed_domains = StringField(
        "Allowed email domains", validators=[Optional(), Length(max=2048)], filters=[_strip]
    )
    require_sso = BooleanField("Require SSO")


class VerifyDomainForm(FlaskForm):
    """The "Verify now" button of one domain."""

    domain = HiddenField(validators=[DataRequired(), Length(max=253)])


class SsoStartForm(FlaskForm):
    email = EmailField("Work email", validators=[Optional(), Length(max=320)], filters=[_strip])
    next = HiddenField()
