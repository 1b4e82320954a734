"""The request-log filter form: a bookmarkable GET form, also used by the CSV export.

Parameter names are part of the product (admins bookmark and share them): ``from``,
``to``, ``method``, ``resource_type``, ``status``, ``token`` (a token's id), ``client``
(okta, jumpcloud, entra, other), ``q``, and the page cursors ``before``/``after``.
Anything unknown is a form error shown on the page, never a 500.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms import StringField
from wtforms import ValidationError
from wtforms.fields import SelectChoice
from wtforms.validators import Length
from wtforms.validators import Optional

from ..storage.models import utcnow
from .clients import FAMILIES
from .queries import Cursor
from .queries import LogFilter

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
RESOURCE_TYPES = ("User", "Group", "Bulk", "Config", "Schema")
STATUS_CLASSES = ("2xx", "4xx", "5xx")
#: ``from`` presets: relative to now, so a bookmark keeps meaning "the last 24 hours".
PRESETS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
PRESET_LABELS = {"1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days"}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UTC_SUFFIX = re.compile(r"\s*(?:z|utc)$", re.IGNORECASE)
_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


class MomentError(ValueError):
    pass


#: The moments a filter may name. Outside them the page's own arithmetic (the day after a
#: ``to`` date, the chart's 24 hours before it) left datetime's range: ``to=9999-12-31``
#: and ``to=0001-01-01`` were 500s.
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(9999, 1, 1)


def parse_moment(text: str, *, end: bool, now: datetime) -> datetime:
    """A ``from``/``to`` value as naive UTC.

    Accepted: a preset (``1h``, ``24h``, ``7d``: that long before now), a date
    (``2026-01-31``: the start of that day, or for ``to`` the start of the next, so the
    whole day is included), or a date-time to the minute or second, with ``T`` or a
    space and an optional ``Z`` or `` UTC`` (``2026-01-31 14:30 UTC``, as the table shows
    it). Times are UTC, from 1970 to the end of 9998.
    """
    moment = _parse_moment(text.strip(), end=end, now=now)
    if not EARLIEST <= moment <= LATEST:
        raise MomentError(f"{text.strip()!r} is out of range: use a date from 1970 to 9998.")
    return moment


def _parse_moment(typed: str, *, end: bool, now: datetime) -> datetime:
    if typed in PRESETS:
        return now - PRESETS[typed]
    # "2026-01-31 14:30 UTC" is how the table shows a time: copied from it, it is taken.
    text = _UTC_SUFFIX.sub("", typed)
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise MomentError(f"{text!r} is not a valid date.") from None
        moment = datetime(day.year, day.month, day.day)
        return moment + timedelta(days=1) if end and moment < LATEST else moment
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise MomentError(
        f"{typed!r} is not a date (2026-01-31), a date-time (2026-01-31 14:30) "
        "or one of 1h, 24h, 7d."
    )


def _choices(values: tuple[str, ...], blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank), *(SelectChoice(v) for v in values)]


class LogFilterForm(FlaskForm):
    class Meta:
        # A GET form that changes nothing: no CSRF token, so URLs stay bookmarkable.
        csrf = False

    from_ = StringField("From (UTC)", name="from", validators=[Optional(), Length(max=40)])
    to = StringField("To (UTC)", validators=[Optional(), Length(max=40)])
    method = SelectField("Method", choices=_choices(METHODS, "Any method"), default="")
    resource_type = SelectField(
        "Resource type", choices=_choices(RESOURCE_TYPES, "Any type"), default=""
    )
    status = SelectField("Status", choices=_choices(STATUS_CLASSES, "Any status"), default="")
    token = SelectField("Token", choices=[SelectChoice("", "Any token")], default="")
    client = SelectField(
        "Client",
        choices=[SelectChoice("", "Any client")]
        + [SelectChoice(value, label) for value, label in FAMILIES.items()],
        default="",
    )
    q = StringField("Search", validators=[Optional(), Length(max=200)])
    before = StringField(validators=[Optional(), Length(max=64)])
    after = StringField(validators=[Optional(), Length(max=64)])

    def __init__(
        self,
        *args,
        now: datetime | None = None,
        tokens: list[tuple[int, str]] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # The organization's tokens (queries.token_choices), read by the view.
        self.token.choices = [SelectChoice("", "Any token")] + [
            SelectChoice(str(ident), name) for ident, name in tokens or []
        ]
        self.now = now or utcnow()
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.cursor_before: Cursor | None = None
        self.cursor_after: Cursor | None = None

    # Hand-typed URLs: ?method=get&resource_type=user&status=4XX mean the same thing.
    def filter_method(self, value: str | None) -> str | None:
        return value.strip().upper() if value else value

    def filter_resource_type(self, value: str | None) -> str | None:
        if not value:
            return value
        canonical = {t.lower(): t for t in RESOURCE_TYPES}
        return canonical.get(value.strip().lower(), value)

    def filter_status(self, value: str | None) -> str | None:
        return value.strip().lower() if value else value

    def filter_client(self, value: str | None) -> str | None:
        return value.strip().lower() if value else value

    def validate_from_(self, field: StringField) -> None:
        if field.data:
            self.start = self._moment(field.data, end=False)

    def validate_to(self, field: StringField) -> None:
        if field.data:
            self.end = self._moment(field.data, end=True)
            if self.start is not None and self.end <= self.start:
                raise ValidationError("'To' must be after 'From'.")

    def validate_before(self, field: StringField) -> None:
        if field.data:
            self.cursor_before = self._cursor(field.data)

    def validate_after(self, field: StringField) -> None:
        if field.data:
            self.cursor_after = self._cursor(field.data)

    def _moment(self, text: str, *, end: bool) -> datetime:
        try:
            return parse_moment(text, end=end, now=self.now)
        except MomentError as exc:
            raise ValidationError(str(exc)) from None

    @staticmethod
    def _cursor(text: str) -> Cursor:
        try:
            return Cursor.decode(text)
        except ValueError:
            raise ValidationError(
                "This page link is not valid; start again from the first page."
            ) from None

    def to_filter(self, organization_id: int) -> LogFilter:
        """The validated filter (call after ``validate()`` returned True)."""
        status = self.status.data
        return LogFilter(
            organization_id=organization_id,
            start=self.start,
            end=self.end,
            method=self.method.data or None,
            resource_type=self.resource_type.data or None,
            status_class=int(status[0]) if status else None,
            token_id=int(self.token.data) if self.token.data else None,
            client=self.client.data or None,
            q=(self.q.data or "").strip() or None,
        )

    def query_args(self) -> dict[str, str]:
        """The filter as URL parameters (no page cursor): for links that keep the filter."""
        values = {
            "from": self.from_.data,
            "to": self.to.data,
            "method": self.method.data,
            "resource_type": self.resource_type.data,
            "status": self.status.data,
            "token": self.token.data,
            "client": self.client.data,
            "q": self.q.data,
        }
        return {k: v.strip() for k, v in values.items() if v and v.strip()}


def without_empty(args: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The query parameters without the empty ones (``from=&to=&…``, what a GET form
    sends for fields left blank), or None when none is empty: the page redirects such a
    URL to its clean form, so the address bar holds only the filter that applies."""
    kept = [(k, v) for k, v in args if v.strip()]
    return kept if len(kept) < len(args) else None
