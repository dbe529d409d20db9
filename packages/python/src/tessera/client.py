"""The client's entry point: a connection to a Tessera grid (mirrors the TypeScript SDK's
tessera.ts, and resolves its connection as the ``tessera`` CLI does)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .connection import resolve_connection
from .session import Session
from .sigv4 import sigv4_signer
from .transport import HttpClient, RequestSigner
from .types import SessionInfo


class Tessera:
    """A client of a Tessera grid.

    The connection comes from the arguments, else the environment (TESSERA_URL,
    TESSERA_TOKEN, TESSERA_IAM_REGION, TESSERA_PROFILE), else the CLI's profile file. With
    ``iam_region`` requests are signed with AWS credentials (SigV4) instead of a token;
    ``signer`` signs them some other way.

    Example::

        with Tessera() as tessera:
            with tessera.create_session("squares") as session:
                session.submit(({"x": x} for x in range(1000)), handler="square")
            for r in session.results():
                print(r.index, r.error.message if r.error else r.output)
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        profile: str | None = None,
        iam_region: str | None = None,
        *,
        signer: RequestSigner | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        retry_base: float = 0.2,
    ) -> None:
        if signer is not None:
            if not endpoint:
                raise ValueError("endpoint: required with a signer")
            url = endpoint
        else:
            connection = resolve_connection(endpoint, token, profile, iam_region)
            url, token = connection.endpoint, connection.token
            if connection.iam_region:
                signer = sigv4_signer(connection.iam_region)
        self.endpoint = url
        self._http = HttpClient(url, token, signer, timeout, max_retries, retry_base)

    def __repr__(self) -> str:
        return f"Tessera({self.endpoint!r})"

    def __enter__(self) -> Tessera:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connections the client keeps open (it stays usable: a request reopens one)."""
        self._http.close()

    def create_session(
        self,
        session_id: str,
        config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Session:
        """Creates a session (idempotent: an existing id returns that session).

        An existing id asked for other settings or tags raises TesseraError (409 ``CONFLICT``,
        ``field`` naming the setting, e.g. ``config.pool``): a session's settings never change.

        ``config`` overrides the grid's defaults: pool, priority, maxAttempts, leaseMs,
        chunkMaxTasks, chunkMaxBytes, backoffBaseMs, backoffMaxMs, taskTimeoutMs (snake_case
        spellings such as ``max_attempts`` are taken too).
        """
        body: dict[str, Any] = {"sessionId": session_id}
        if config:
            body["config"] = {_camel(key): value for key, value in config.items()}
        if tags:
            body["tags"] = dict(tags)
        self._http.request("POST", "/sessions", body)
        return Session(self._http, session_id)

    def session(self, session_id: str) -> Session:
        """A handle on an existing session (no call is made)."""
        return Session(self._http, session_id)

    def sessions(self, page_size: int = 50) -> Iterator[SessionInfo]:
        """The caller's sessions, newest first, read page by page as the loop goes."""
        after: str | None = None
        while True:
            page = self._http.request("GET", "/sessions", query={"limit": page_size, "after": after})
            yield from page["sessions"]
            after = page.get("next")
            if not after:
                return


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
