"""HTTP GET with retries and back-off, on the standard library (urllib) only.

Retried: HTTP 429 and 5xx (honouring ``Retry-After`` up to a cap) and transport failures
(connection refused or reset, timeouts). Not retried: other 4xx, which mean the request itself is
wrong (an unknown DOI, a restricted file). Every failure ends in one ``FetchError`` naming the URL.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from .. import __version__
from ..errors import FetchError

USER_AGENT = f"nnlife/{__version__} (+https://github.com/; fetch published)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# a dropped connection shows up as any of these (IncompleteRead and RemoteDisconnected are
# http.client.HTTPException; resets and timeouts are OSError)
TRANSPORT_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request."""

    retries: int = 5  # further attempts after the first
    backoff_s: float = 1.0  # first wait; doubled after each failure
    max_wait_s: float = 60.0  # cap on one wait, Retry-After included
    timeout_s: float = 60.0  # socket timeout per attempt

    def wait(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (0-based failures so far)."""
        if retry_after:
            try:
                return min(self.max_wait_s, max(0.0, float(retry_after)))
            except ValueError:
                pass  # an HTTP date: fall back to the exponential wait
        return min(self.max_wait_s, self.backoff_s * 2**attempt)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def open_url(
    url: str,
    headers: dict | None = None,
    policy: RetryPolicy = RetryPolicy(),
    what: str = "",
    sleep=time.sleep,
):
    """Open ``url`` for reading (GET), retrying as the module says; returns the response.

    ``headers``: extra request headers (e.g. Range). ``what`` names the request in errors.
    Raises FetchError with the status or transport error and the fix.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    last = None
    for attempt in range(policy.retries + 1):
        retry_after = None
        try:
            return urllib.request.urlopen(request, timeout=policy.timeout_s)
        except urllib.error.HTTPError as e:
            if e.code not in RETRY_STATUS:
                body = _error_message(e)
                e.close()
                hint = {
                    404: "check the DOI, the --version and the --server",
                    401: "the file is restricted: it needs an account on the server",
                    403: "the file is restricted: it needs an account on the server",
                }.get(e.code, "check the URL and the server")
                raise FetchError(f"{what or url}: HTTP {e.code} {e.reason}{body} ({url}); {hint}") from None
            retry_after = e.headers.get("Retry-After") if e.headers else None
            e.close()
            last = e
        except TRANSPORT_ERRORS as e:
            last = e
        if attempt < policy.retries:
            sleep(policy.wait(attempt, retry_after))
    raise FetchError(
        f"{what or url}: {_describe(last)} after {policy.retries + 1} attempts ({url}); "
        "the server is unreachable or overloaded: try again later, or pass another "
        "--server (a mirror)"
    )


def _error_message(e: urllib.error.HTTPError) -> str:
    """Dataverse answers errors as {"status": "ERROR", "message": ...}: quote the message."""
    try:
        doc = json.loads(e.read(65536).decode("utf-8", "replace"))
        message = doc.get("message") if isinstance(doc, dict) else None
        return f": {message}" if message else ""
    except (ValueError, OSError):
        return ""


def get_json(url: str, policy: RetryPolicy = RetryPolicy(), what: str = "", sleep=time.sleep):
    """GET ``url`` and parse its JSON body (retried like ``open_url``); FetchError otherwise."""
    for attempt in range(policy.retries + 1):
        with open_url(url, {"Accept": "application/json"}, policy, what, sleep) as response:
            try:
                body = response.read()
            except TRANSPORT_ERRORS as e:  # dropped mid-body: ask again
                if attempt == policy.retries:
                    raise FetchError(
                        f"{what or url}: {_describe(e)} while reading the answer ({url}); try again later"
                    ) from None
                sleep(policy.wait(attempt))
                continue
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise FetchError(
                f"{what or url}: the answer is not JSON ({url}, {len(body)} bytes "
                f"starting {body[:60]!r}); is --server a Dataverse installation?"
            ) from None
    raise AssertionError("unreachable")


__all__ = ["RetryPolicy", "open_url", "get_json", "USER_AGENT", "RETRY_STATUS"]
