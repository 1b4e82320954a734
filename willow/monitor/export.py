"""CSV export of the request log: streamed, spreadsheet-safe, Excel-friendly.

Rows are written in chunks as the database yields them, so memory stays flat however
many rows match. The file starts with a UTF-8 byte-order mark, without which Excel on
Windows reads UTF-8 as the local code page. Cells that a spreadsheet would run as a
formula (starting with = + - @, tab or carriage return) are prefixed with an apostrophe
(OWASP "CSV injection"): a userName like ``=HYPERLINK(...)`` arrives from the IdP, not
from the admin.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import datetime
from typing import Any

BOM = "\ufeff"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "time_utc",
    "request_id",
    "method",
    "path",
    "query",
    "status",
    "resource_type",
    "resource_id",
    "resource_name",
    "operation",
    "duration_ms",
    "token_id",
    "token_name",
    "client_ip",
    "user_agent",
    "error_detail",
    "changes",
    "notes",
    "warnings",
    "request_body",
    "response_body",
    # Last, so the columns before keep their places: the refused requests an entry counts.
    "refused_count",
    # Added later, after it for the same reason.
    "client",
    "response_headers",
)
# Cell types csv.writer renders as they are (None as an empty cell).
_PLAIN = frozenset({int, float})
#: Rows per yielded chunk: large enough to amortise the write, small enough to stream.
CHUNK_ROWS = 500
#: A chunk also ends past this many characters: rows carry bodies of up to
#: WILLOW_LOG_BODY_MAX_BYTES each (twice, request and response), so 500 of the largest
#: made a chunk of over 60 MB, held several times over (text, its UTF-8, the server's
#: output buffer). Measured after a benchmark run: the export's first chunks (list pages
#: and 100,000-member groups, newest first) took the server from 140 to 572 MB for a
#: second, and left it at 202 MB; with this limit (and batches of 200 rows, queries.py)
#: the peak was 217-221 MB, and the export's rate stayed within this machine's spread
#: from run to run (47,000-81,000 rows/s).
CHUNK_CHARS = 256 * 1024


def safe_cell(value: Any) -> Any:
    """A cell value a spreadsheet will show as text, never run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def iter_csv(rows: Iterable[Iterable[Any]], header: Iterable[str] = HEADER) -> Iterator[str]:
    """The CSV text in chunks: BOM and header first, then CHUNK_ROWS rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    pending = 0
    for row in rows:
        # safe_cell inlined for the common types: this loop runs once per exported row.
        writer.writerow(
            [
                ("'" + v if v.startswith(FORMULA_PREFIXES) else v)
                if v.__class__ is str
                else (v if v is None or v.__class__ in _PLAIN else safe_cell(v))
                for v in row
            ]
        )
        pending += 1
        if pending >= CHUNK_ROWS or buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def filename(start: datetime | None, end: datetime | None, now: datetime) -> str:
    """``scim-logs_<from>_to_<to>.csv``, with the dates the export covers (UTC)."""
    first = start.strftime("%Y-%m-%d") if start else "start"
    last = min(end, now) if end else now
    # ``end`` is exclusive: a range ending at midnight covers the day before.
    if end and last == end and end.time() == datetime.min.time():
        last = datetime.fromordinal(end.toordinal() - 1)
    return f"scim-logs_{first}_to_{last.strftime('%Y-%m-%d')}.csv"
