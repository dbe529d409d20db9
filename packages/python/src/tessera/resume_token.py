"""Resume tokens of a results stream, in the TypeScript SDK's format (resume-token.ts).

The API's cursor moves a page at a time, but a reader may stop in the middle of a page; the
token says where exactly: the API cursor the page was read with, plus the task indexes of that
chain already handed out (skipped on resume). At a page boundary nothing is skipped and the
token is the API cursor itself.

Format: ``tr1.<indexes>.<api cursor>``, where ``<indexes>`` is unpadded base64url of unsigned
LEB128 varints (the count, then the sorted indexes as deltas from the previous one, the first
from 0) and ``<api cursor>`` is the API's cursor verbatim (empty before the first page). A token
from either SDK resumes a stream in the other.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from .errors import TesseraError

PREFIX = "tr1."
# Task indexes are 0 to 999,999,999,999 (the API's limit).
MAX_INDEX = 999_999_999_999
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_VERSIONED = re.compile(r"^tr\d+\.")


class ResumePoint(NamedTuple):
    """Where a results stream resumes: the API cursor to read with (None: the session's start)
    and the indexes of the chain after it that the reader already received."""

    api_cursor: str | None
    skip: frozenset[int]


def encode_resume_token(api_cursor: str | None, skip: AbstractSet[int]) -> str | None:
    """The token of a resume point: the API cursor alone when nothing is skipped, else a
    ``tr1.`` token; None for the start of a session with nothing skipped."""
    if not skip:
        return api_cursor
    out = bytearray()

    def uint(value: int) -> None:
        while True:
            low = value & 0x7F
            value >>= 7
            out.append(low | 0x80 if value else low)
            if not value:
                return

    uint(len(skip))
    previous = 0
    for index in sorted(skip):
        uint(index - previous)
        previous = index
    encoded = base64.urlsafe_b64encode(bytes(out)).rstrip(b"=").decode("ascii")
    return f"{PREFIX}{encoded}.{api_cursor or ''}"


def decode_resume_token(token: str | None) -> ResumePoint:
    """Parses a token from :func:`encode_resume_token`, or takes an API cursor as it is. A
    malformed ``tr...`` token raises a TesseraError with code BAD_CURSOR naming ``resume_from``."""
    if not token:
        return ResumePoint(None, frozenset())
    if not _VERSIONED.match(token):
        return ResumePoint(token, frozenset())

    def bad(why: str) -> TesseraError:
        return TesseraError(
            0,
            "BAD_CURSOR",
            f"resume_from: not a resume token of this SDK ({why}); start again without one",
            "resume_from",
        )

    if not token.startswith(PREFIX):
        raise bad("unknown version")
    dot = token.find(".", len(PREFIX))
    if dot < 0:
        raise bad("no API cursor part")
    encoded = token[len(PREFIX) : dot]
    # Unpadded base64url never leaves one character over; Node ignores such a tail, and so do we.
    usable = encoded[: len(encoded) - (len(encoded) % 4 == 1)]
    if not _BASE64URL.match(encoded):
        raise bad("the index part is not base64url")
    try:
        data = base64.urlsafe_b64decode(usable + "=" * (-len(usable) % 4))
    except (binascii.Error, ValueError):
        raise bad("the index part is not base64url") from None
    at = 0

    def uint() -> int:
        nonlocal at
        value = 0
        shift = 0
        while True:
            if at >= len(data):
                raise bad("truncated")
            if shift > 42:
                raise bad("a number is too large")
            b = data[at]
            at += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    count = uint()
    # Each index takes at least one byte: a count beyond the bytes left is a forgery, not a set.
    if count == 0 or count > len(data) - at:
        raise bad("bad index count")
    skip = set()
    index = 0
    for i in range(count):
        delta = uint()
        if i > 0 and delta == 0:
            raise bad("repeated index")
        index += delta
        if index > MAX_INDEX:
            raise bad("index out of range")
        skip.add(index)
    if at != len(data):
        raise bad("trailing bytes")
    api_cursor = token[dot + 1 :]
    return ResumePoint(api_cursor or None, frozenset(skip))
