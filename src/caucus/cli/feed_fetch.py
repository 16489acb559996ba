"""Reading a caucus site's feed over HTTP for ``caucus verify-release URL``, with one precise line for
every way it can fail: which URL, and what went wrong (connection refused, host not found, no answer in
time, HTTP status with the feed's own error code and message, not a caucus feed). Never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

#: seconds one request may take
TIMEOUT = 30
#: the most of an error's text quoted in a message
QUOTED = 200


class FetchFailed(Exception):
    """A URL could not be read; the message is one line saying which URL and why."""


@functools.cache
def _client() -> httpx.Client:
    """One client for the command's requests (a release has thousands of files)."""
    import httpx  # noqa: PLC0415

    return httpx.Client(timeout=TIMEOUT)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= QUOTED else line[: QUOTED - 1] + "…"


def _transport_problem(exc: Exception) -> str:
    """What a request that got no HTTP answer ran into."""
    import httpx  # noqa: PLC0415

    text = str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {TIMEOUT} s ({type(exc).__name__})"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"not a URL caucus can read ({_one_line(text)}); give http(s)://host of the caucus site"
    if "Connection refused" in text:
        return "connection refused (nothing listens at that address and port)"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host not found (the name does not resolve)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_one_line(text) or type(exc).__name__}"
    return f"{type(exc).__name__}: {_one_line(text)}" if text else type(exc).__name__


def _status_problem(response: httpx.Response) -> str:
    """What a non-2xx answer says: its status, and the feed's error code and message when it is the feed's
    JSON error shape (else: not a caucus feed)."""
    status = f"HTTP {response.status_code}"
    if response.is_redirect:
        return f"{status}, a redirect to {response.headers.get('location', '?')} (give that address instead)"
    error: Any = None
    with contextlib.suppress(ValueError, AttributeError):
        error = json.loads(response.content).get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return f"{status} {error['code']}: {_one_line(str(error.get('message', '')))}"
    return f"{status} (not a caucus feed: the answer is not the feed's JSON error)"


def feed_get(url: str) -> bytes:
    """The body of ``url``; :class:`FetchFailed` (one line) for no answer or any status but 2xx."""
    import httpx  # noqa: PLC0415

    try:
        response = _client().get(url)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        raise FetchFailed(f"GET {url}: {_transport_problem(exc)}") from None
    if not response.is_success:
        raise FetchFailed(f"GET {url}: {_status_problem(response)}")
    return response.content


def probe_feed(base: str) -> int:
    """The latest release number ``base``'s feed announces (``/feed/v1/latest.json``); :class:`FetchFailed`
    when the site cannot be read or does not answer as a caucus feed."""
    url = f"{base.rstrip('/')}/feed/v1/latest.json"
    body = feed_get(url)
    try:
        latest = json.loads(body)
    except ValueError:
        kind = "HTML" if body.lstrip()[:1] == b"<" else "not JSON"
        raise FetchFailed(f"GET {url}: not a caucus feed (the answer is {kind}, not the feed's latest.json); "
                          "give http(s)://host of the caucus site") from None
    number = latest.get("release") if isinstance(latest, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise FetchFailed(f"GET {url}: not a caucus feed (JSON without a release number, the feed's "
                          "latest.json has {\"release\": n, ...}); give http(s)://host of the caucus site")
    return number
