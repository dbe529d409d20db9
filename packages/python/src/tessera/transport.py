"""The client's transport (mirrors the TypeScript SDK's http.ts): JSON over HTTP with a timeout
per attempt and retries with full-jitter backoff for throttling (429), 5xx and network errors.
Every API operation is idempotent (task ids are the caller's indexes, creating a session that
exists returns it, close and cancel repeat harmlessly), so a retry never does anything twice.
"""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from email.message import Message
from typing import Any, Callable

from .errors import TesseraError

# Signs a request (IAM grids): (method, url, headers, body) -> headers to add.
RequestSigner = Callable[[str, str, Mapping[str, str], bytes], dict[str, str]]

_USER_AGENT = "tessera-python"


def _backoff(attempt: int, base: float, retry_after: float = 0.0) -> float:
    """Full jitter: a random wait up to base * 2^attempt (at most 10 s), or the server's Retry-After."""
    return max(retry_after, random.random() * min(10.0, base * 2.0**attempt))


class HttpClient:
    """A JSON client of the Tessera API, safe to share between threads."""

    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        signer: RequestSigner | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        retry_base: float = 0.2,
    ) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f'endpoint: "{endpoint}" is not an http(s) URL')
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        self._signer = signer
        self._timeout = timeout
        self._max_retries = max_retries
        self._retry_base = retry_base

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str | int | None] | None = None,
        raw_json: bytes | None = None,
    ) -> Any:
        """Calls the API; returns the parsed body of a 2xx, raises TesseraError otherwise.

        ``raw_json`` is a body already serialized (large submit batches, built from parts).
        """
        url = self.endpoint + path
        if query:
            params = {k: str(v) for k, v in query.items() if v is not None}
            if params:
                url += "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        data = raw_json if raw_json is not None else None if body is None else _dumps(body)
        attempt = 0
        while True:
            retry_after = 0.0
            try:
                status, headers, text = self._send(method, url, data)
                parsed = json.loads(text) if text else None
                if 200 <= status < 300:
                    return parsed
                failure = error_from_response(status, parsed)
                retry_after = _seconds(headers.get("retry-after"))
            except ValueError:  # json.JSONDecodeError: a proxy's HTML page, a truncated body
                failure = TesseraError(
                    0, "BAD_RESPONSE", f"{method} {path}: the API answered with something other than JSON"
                )
            except OSError as error:  # URLError, timeouts, connection refused or reset
                failure = _network_failure(f"{method} {path}", self.endpoint, error, self._timeout)
            if not failure.retryable or attempt >= self._max_retries:
                raise failure
            time.sleep(_backoff(attempt, self._retry_base, retry_after))
            attempt += 1

    def _send(self, method: str, url: str, data: bytes | None) -> tuple[int, Message, str]:
        headers = {"accept": "application/json", "user-agent": _USER_AGENT}
        if data is not None:
            headers["content-type"] = "application/json"
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        if self._signer:
            headers.update(self._signer(method, url, dict(headers), data or b""))
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        return _open(request, self._timeout)

    def raw(self, method: str, url: str, data: bytes | None = None) -> bytes:
        """Fetches a presigned link (large payloads and results) with the same retries; a 4xx is
        final. No message shows any part of the link (it carries a signature)."""
        what = f"{method} of a presigned link"
        timeout = self._timeout * 4
        attempt = 0
        while True:
            request = urllib.request.Request(url, data=data, method=method)
            if data is not None:
                request.add_header("content-type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    answer: bytes = response.read()
                    return answer
            except urllib.error.HTTPError as error:
                error.close()
                failure = TesseraError(error.code, f"HTTP_{error.code}", f"{what} failed: HTTP {error.code}")
            except OSError as error:
                host = urllib.parse.urlsplit(url).netloc or "its host"
                failure = _network_failure(what, host, error, timeout)
            if not failure.retryable or attempt >= self._max_retries:
                raise failure
            time.sleep(_backoff(attempt, self._retry_base))
            attempt += 1


def error_from_response(status: int, body: Any) -> TesseraError:
    """The TesseraError of an API error response (``{"error": {code, message, field, requestId}}``)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    return TesseraError(
        status,
        str(error.get("code") or f"HTTP_{status}"),
        str(error.get("message") or f"HTTP {status}"),
        error.get("field"),
        error.get("requestId"),
    )


def _network_failure(what: str, where: str, error: OSError, timeout: float) -> TesseraError:
    """TIMEOUT or NETWORK (status 0, retryable); urllib wraps a connect timeout in a URLError."""
    reason = getattr(error, "reason", error)
    if isinstance(error, socket.timeout) or isinstance(reason, socket.timeout):
        return TesseraError(0, "TIMEOUT", f"{what}: no answer within {timeout:g} s")
    return TesseraError(0, "NETWORK", f"{what}: cannot reach {where} ({reason})")


def _open(request: urllib.request.Request, timeout: float) -> tuple[int, Message, str]:
    """Sends a request; returns status, headers and body text whatever the status."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode("utf-8", "replace")


def _seconds(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _dumps(value: Any) -> bytes:
    """Compact JSON in UTF-8, as JavaScript's JSON.stringify writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
