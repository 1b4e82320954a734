"""A logged request as a curl command line, to send it again by hand ("Copy as curl").

The secret is never in it: the Authorization header is not stored (redact.py), and the
command reads the token from ``$TOKEN`` instead. The body is the one the log stored,
redacted and perhaps cut; the command says so in the notes beside it, since a replayed
``[REDACTED]`` or a half body is not what the IdP sent.

Quoted for bash (and any POSIX shell): every value in single quotes, a single quote as
``'\\''``; only ``$TOKEN`` is in double quotes, so that the shell expands it.

Pure: the entry's values in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from .redact import REDACTED

#: Request headers worth sending again; the rest are the client's transport (Host,
#: Content-Length, Accept-Encoding, proxies' X-Forwarded-*), which curl sets itself.
REPLAYED_HEADERS = ("Content-Type", "Accept", "If-Match", "If-None-Match", "User-Agent")
_TRUNCATED = re.compile(r"\n…\[truncated by Willow: (\d+) bytes received, first (\d+) stored\]$")
_NOT_STORED = "[body not stored"


@dataclass(frozen=True)
class CurlCommand:
    text: str
    #: What differs from the request as sent (redacted or cut body...), for the page.
    notes: list[str]


def shell_quote(text: str) -> str:
    """``text`` as one bash word, in single quotes."""
    return "'" + text.replace("'", "'\\''") + "'"


def curl_command(
    *,
    base_url: str,
    method: str,
    path: str,
    query_string: str | None,
    request_headers: dict[str, str] | None,
    request_body: str | None,
) -> CurlCommand:
    """The command for one logged request, sent to ``base_url`` (scheme and host)."""
    notes: list[str] = []
    url = base_url.rstrip("/") + quote(path, safe="/:@!$&'()*+,;=-._~")
    if query_string:
        # Stored decoded (to be read); encoded again for the URL.
        url += "?" + quote(query_string, safe="=&/:@!$'()*+,;-._~")
        if REDACTED in query_string:
            notes.append("The query string was redacted in the log: put the hidden values back.")
    parts = ["curl"]
    if method != "GET":
        parts += ["-X", method]
    parts.append(shell_quote(url))
    parts += ["-H", '"Authorization: Bearer $TOKEN"']
    headers = {name.lower(): (name, value) for name, value in (request_headers or {}).items()}
    for wanted in REPLAYED_HEADERS:
        found = headers.get(wanted.lower())
        if found is None:
            continue
        name, value = found
        if REDACTED in value:
            notes.append(f"The {name} header was redacted in the log and is left out.")
            continue
        parts += ["-H", shell_quote(f"{name}: {value}")]
    if request_body:
        if request_body.startswith(_NOT_STORED):
            notes.append(f"The body was not stored ({request_body.strip('[]')}): none is sent.")
        else:
            body = request_body
            cut = _TRUNCATED.search(body)
            if cut is not None:
                body = body[: cut.start()]
                notes.append(
                    f"The body was cut in the log ({cut.group(1)} bytes received, the first "
                    f"{cut.group(2)} stored): this command sends only the stored part."
                )
            if REDACTED in body:
                notes.append(
                    f"Secret values in the body were redacted in the log: {REDACTED} is sent "
                    "in their place unless you put them back."
                )
            parts += ["--data-raw", shell_quote(body)]
    return CurlCommand(" \\\n  ".join(_pairs(parts)), notes)


def _pairs(parts: list[str]) -> list[str]:
    """The words grouped one option per line: ``curl -X PATCH 'url'``, ``-H '…'``..."""
    lines: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i] in ("-H", "--data-raw") and i + 1 < len(parts):
            lines.append(f"{parts[i]} {parts[i + 1]}")
            i += 2
        else:
            if lines and not lines[-1].startswith(("-H", "--data-raw")):
                lines[-1] += " " + parts[i]
            else:
                lines.append(parts[i])
            i += 1
    return lines
