"""A session's results as an iterator (mirrors the TypeScript SDK's result-stream.ts): follows
the API's cursor, backs off while nothing is new, drops repeats, fetches large results from
their links, and knows exactly where its reader stands (``resume_token``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import TesseraError
from .index_set import IndexSet
from .resume_token import decode_resume_token, encode_resume_token
from .transport import HttpClient


@dataclass(frozen=True)
class TaskError:
    """Why a task has no output: its last attempt's error (``code``: HANDLER_ERROR, TIMEOUT,
    CANCELLED, ...), or RESULT_UNAVAILABLE for a succeeded task whose output could not be fetched."""

    code: str
    message: str


@dataclass(frozen=True)
class TaskResult:
    """One finished task. ``error`` is set exactly when there is no output, so ``if r.error``
    separates failed and cancelled tasks (and succeeded ones whose large result could not be
    downloaded, ``error.code == "RESULT_UNAVAILABLE"``) from the others; ``status`` stays the
    task's own (SUCCEEDED, FAILED or CANCELLED)."""

    task_id: str
    index: int
    status: str
    attempt: int
    output: Any = None
    error: TaskError | None = None


class ResultStream(Iterator[TaskResult]):
    """The results of a session, each task once, as they complete.

    Ends when the API reports the session settled (closed or cancelled, and every result
    delivered); on an open session it goes on until the loop breaks. ``resume_token`` resumes
    exactly after the last result handed out: pass it as ``results(resume_from=...)``.
    """

    def __init__(
        self,
        http: HttpClient,
        path: str,
        resume_from: str | None = None,
        page_size: int = 1000,
        min_poll: float = 0.1,
        max_poll: float = 5.0,
        failures_only: bool = False,
    ) -> None:
        point = decode_resume_token(resume_from)
        self._http = http
        self._path = path
        self._page_size = page_size
        self._min_poll = min_poll
        self._max_poll = max_poll
        self._failures_only = failures_only
        self._delivered = IndexSet()
        # The API cursor the current page was read with (the previous page's).
        self._base: str | None = point.api_cursor
        # Indexes handed out before this stream (from the token) and not yet met again.
        self._carried = set(point.skip)
        # Task indexes of the current page, and how many of them the reader has gone past.
        self._page: list[int] = []
        self._passed = 0
        # The current page; positions in it of results the reader has not had, and the next one.
        self._current: dict[str, Any] | None = None
        self._fresh: list[int] = []
        self._next_fresh = 0
        self._delay = min_poll
        self._ended = False

    @property
    def resume_token(self) -> str | None:
        """Where a new stream resumes to repeat and lose nothing: the API's cursor between pages,
        else a ``tr1.`` token (the TypeScript SDK's format); None before anything was handed out."""
        skip = set(self._carried)
        skip.update(self._page[: self._passed])
        return encode_resume_token(self._base, skip)

    @property
    def delivered(self) -> int:
        """Results handed out so far (with ``failures_only``, the succeeded ones passed over too)."""
        return len(self._delivered)

    def __iter__(self) -> ResultStream:
        return self

    def __next__(self) -> TaskResult:
        while True:
            if self._ended:
                raise StopIteration
            if self._next_fresh >= len(self._fresh):
                self._read_page()
                continue
            at = self._fresh[self._next_fresh]
            wire = self._current["results"][at]  # type: ignore[index]
            index = self._page[at]
            if self._failures_only and wire["status"] == "SUCCEEDED":
                self._hand_out(at, index)
                continue
            result = self._result(wire, index)
            self._hand_out(at, index)
            return result

    def _hand_out(self, at: int, index: int) -> None:
        """The result at ``at`` is the reader's: past it the token skips it; past the page's last
        fresh one, the page's cursor."""
        self._delivered.add(index)
        self._next_fresh += 1
        if self._next_fresh == len(self._fresh):
            self._finish_page(self._current["cursor"])  # type: ignore[index]
        else:
            self._passed = at + 1

    def _read_page(self) -> None:
        """Reads the page after the current one (at once after a page with results, else after a
        backoff); ends the stream after a page that said settled."""
        previous = self._current
        if previous is not None:
            # Only the API knows when no more can come (a submit in flight at a close may still
            # land tasks): the stream ends on its word alone.
            if previous["settled"]:
                self._ended = True
                return
            if previous["results"]:
                self._delay = self._min_poll
            else:
                time.sleep(self._delay)
                self._delay = min(self._max_poll, self._delay * 2)
        body: dict[str, Any] = {"limit": self._page_size}
        if self._base:
            body["cursor"] = self._base
        # POST: the cursor of a large session in progress does not fit a URL.
        page = self._http.request("POST", f"{self._path}/results", body)
        indexes = [int(wire["taskId"]) for wire in page["results"]]
        # Positions of what the reader has not had: the API may repeat a result in rare cases,
        # and a resumed stream skips what its token says was handed out.
        fresh = []
        in_page = set()
        for at, index in enumerate(indexes):
            if index in self._delivered or index in self._carried or index in in_page:
                continue
            in_page.add(index)
            fresh.append(at)
        self._current = page
        self._page = indexes
        self._passed = 0
        self._fresh = fresh
        self._next_fresh = 0
        if not fresh:
            self._finish_page(page["cursor"])

    def _finish_page(self, cursor: str) -> None:
        """The reader has gone past the whole page: the next read starts after it."""
        self._carried.difference_update(self._page)
        self._base = cursor
        self._page = []
        self._passed = 0

    def _result(self, wire: dict[str, Any], index: int) -> TaskResult:
        task_id, status, attempt = wire["taskId"], wire["status"], wire["attempt"]
        error = wire.get("error")
        if status != "SUCCEEDED":
            error = error or {"code": "UNKNOWN", "message": "no error recorded"}
            return TaskResult(
                task_id, index, status, attempt, error=TaskError(error["code"], error["message"])
            )
        if "result" not in wire and "resultUrl" in wire:
            return self._download(wire, index)
        # The API found the result lost (its spilled blob is gone): the task's error says so.
        if error and "result" not in wire:
            return TaskResult(
                task_id, index, status, attempt, error=TaskError("RESULT_UNAVAILABLE", error["message"])
            )
        return TaskResult(task_id, index, status, attempt, output=_parse(wire.get("result")))

    def _download(self, wire: dict[str, Any], index: int) -> TaskResult:
        """A large output from its link; a link that fails for good is RESULT_UNAVAILABLE (one
        lost blob must not end the stream: later results are still to come)."""
        task_id, attempt = wire["taskId"], wire["attempt"]
        try:
            text = self._http.raw("GET", wire["resultUrl"]).decode("utf-8")
        except TesseraError as error:
            message = f"the task succeeded but its result could not be downloaded ({error})"
            return TaskResult(
                task_id, index, "SUCCEEDED", attempt, error=TaskError("RESULT_UNAVAILABLE", message)
            )
        return TaskResult(task_id, index, "SUCCEEDED", attempt, output=_parse(text))


def _parse(text: str | None) -> Any:
    """An output parsed from JSON; the raw text when it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
