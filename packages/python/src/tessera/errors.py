"""Errors of the Tessera client."""

from __future__ import annotations


class TesseraError(Exception):
    """The API answered with an error, or could not be reached.

    ``status`` is the HTTP status (0 when no response came: network error, timeout, or a
    mistake the client caught itself); ``code`` the API's stable code (VALIDATION, NOT_FOUND,
    CONFLICT, ...) or NETWORK / TIMEOUT / BAD_RESPONSE; ``field`` the request field at fault.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.request_id = request_id

    @property
    def retryable(self) -> bool:
        """True when trying again later may succeed (throttling, 5xx, network)."""
        return self.status == 0 or self.status == 429 or self.status >= 500

    def __repr__(self) -> str:
        fields = f"status={self.status}, code={self.code!r}, message={self.message!r}, field={self.field!r}"
        return f"TesseraError({fields})"


class UsageError(ValueError):
    """A mistake in how the client was configured: no endpoint, no credentials, a bad profile file."""
