"""Forms of the Admin → Webhooks pages (CSRF on every POST, Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import StringField
from wtforms import URLField
from wtforms import ValidationError
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length

from .subscriptions import EVENT_TYPES
from .subscriptions import parse_types


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EndpointForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[DataRequired(), Length(max=2048)], filters=[_strip])
    event_types = StringField(
        "Event types",
        validators=[Length(max=1000)],
        filters=[_strip],
        description="Comma list, e.g. user.*, access.changed. Empty: every type.",
    )
    description = StringField("Description", validators=[Length(max=500)], filters=[_strip])

    def validate_event_types(self, field: StringField) -> None:
        try:
            parse_types(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class DeliveryFilterForm(FlaskForm):
    """The endpoint page's delivery filters (GET: no CSRF, the URL can be shared)."""

    class Meta:
        csrf = False

    failed = BooleanField("Failed only")
    type = SelectField(
        "Event type",
        choices=[SelectChoice("", "Any type")]
        + [SelectChoice(t, t) for t in (*EVENT_TYPES, "webhook.test")],
        default="",
    )
