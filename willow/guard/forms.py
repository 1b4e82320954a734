"""The guard page's forms (CSRF on each, Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import IntegerField
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange


class GuardSettingsForm(FlaskForm):
    enabled = BooleanField("Guard on")
    count = IntegerField(
        "Count", validators=[InputRequired(), NumberRange(min=1, max=1_000_000)]
    )
    percent = IntegerField(
        "Percent of active users", validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    window_minutes = IntegerField(
        "Window (minutes)", validators=[InputRequired(), NumberRange(min=1, max=10_080)]
    )


class DecisionForm(FlaskForm):
    """Allow all, Allow selected (the ``change`` checkboxes) or Keep holding: the button
    pressed is the decision."""
