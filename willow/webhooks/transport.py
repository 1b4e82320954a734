"""One HTTP delivery: POST the body with its signed headers, keep what came back.

Only the status, the duration and the first 2 KB of the answer are kept (the console's
"response excerpt"); a longer answer is not read further, and its connection is closed
rather than reused. Redirects are never followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from .addresses import AddressRefused
from .addresses import HostUnresolved
from .schedule import TIMEOUT_S

#: Bytes of an answer kept with the attempt.
EXCERPT_BYTES = 2048
USER_AGENT = "Willow-Webhooks/1"


@dataclass(frozen=True)
class Result:
    #: The HTTP status, or None when no answer came (``error`` says why).
    status: int | None
    duration_ms: int
    excerpt: str = ""
    error: str | None = None


def post(
    session: requests.Session,
    url: str,
    body: str,
    headers: dict[str, str],
    *,
    timeout: float = TIMEOUT_S,
) -> Result:
    started = time.perf_counter()
    sent = {"content-type": "application/json", "user-agent": USER_AGENT, **headers}
    try:
        response = session.post(
            url,
            data=body.encode(),
            headers=sent,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        return Result(None, _ms(started), error=f"no answer within {timeout:g} s")
    except (AddressRefused, HostUnresolved) as exc:
        return Result(None, _ms(started), error=str(exc))
    except requests.RequestException as exc:
        return Result(None, _ms(started), error=_connection_error(exc))
    try:
        excerpt = _excerpt(response)
    except requests.RequestException:
        excerpt = ""
    return Result(response.status_code, _ms(started), excerpt)


def _excerpt(response: requests.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    complete = True
    for chunk in response.iter_content(1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > EXCERPT_BYTES:
            complete = False
            break
    if complete:
        response.close()  # read to the end: the connection goes back to the pool
    else:
        # The rest is not wanted: drop the connection instead of reading it.
        response.raw.close()
        response.close()
    data = b"".join(chunks)[:EXCERPT_BYTES]
    return data.decode("utf-8", errors="replace")


def _connection_error(exc: requests.RequestException) -> str:
    text = str(exc)
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "the host name has no address"
    return f"connection failed ({type(exc).__name__})"


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
