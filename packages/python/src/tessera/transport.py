"""The client's transport (mirrors the TypeScript SDK's http.ts): JSON over HTTP with a timeout
per attempt and retries with full-jitter backoff for throttling (429), 5xx and network errors.
Every API operation is idempotent (task ids are the caller's indexes, creating a session that
exists returns it, close and cancel repeat harmlessly), so a retry never does anything twice.

API requests reuse kept-open connections (``http.client``, a pool of idle ones shared by the
threads of a client): a million tasks are thousands of requests, and a TLS handshake for each
would dominate. When a proxy is
configured in the environment (``HTTPS_PROXY`` and friends), requests go through ``urllib``,
which honours it, one connection each. Presigned links always go through ``urllib``.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
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
        self._split = parsed
        scheme = "https" if parsed.scheme == "https" else "http"
        self._pooled = not urllib.request.getproxies().get(scheme) or urllib.request.proxy_bypass(parsed.hostname or "")
        # Connections open and not in use; a request takes the latest (LIFO keeps few warm).
        self._idle: list[http.client.HTTPConnection] = []
        self._idle_lock = threading.Lock()

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
        if not self._pooled:
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            return _open(request, self._timeout)
        parts = urllib.parse.urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        with self._idle_lock:
            conn = self._idle.pop() if self._idle else None
        reused = conn is not None
        while True:
            if conn is None:
                kind = http.client.HTTPSConnection if self._split.scheme == "https" else http.client.HTTPConnection
                conn = kind(self._split.netloc, timeout=self._timeout)
            try:
                conn.request(method, target, body=data, headers=headers)
                response = conn.getresponse()
                text = response.read().decode("utf-8")
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                conn = None
                # A kept connection the server closed while idle fails at once: open a new one
                # right away (the request is idempotent) rather than waiting out a backoff.
                if reused and isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
                    reused = False
                    continue
                if isinstance(error, http.client.HTTPException):
                    raise ConnectionError(f"bad HTTP answer ({error!r})") from error
                raise
            if response.will_close:
                conn.close()
            else:
                with self._idle_lock:
                    self._idle.append(conn)
            return response.status, response.headers, text

    def close(self) -> None:
        """Closes the connections kept open; the client stays usable (a request opens a new one)."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __del__(self) -> None:
        # A client dropped without close() leaves no socket to the garbage collector.
        for conn in getattr(self, "_idle", []):
            conn.close()

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
