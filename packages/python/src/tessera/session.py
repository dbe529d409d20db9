"""A session seen from the client (mirrors the TypeScript SDK's session.ts): submit tasks from
any iterable in batches with bounded memory, stream their results, wait, cancel."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, cast
from urllib.parse import quote

from .errors import TesseraError
from .results import ResultStream
from .transport import HttpClient
from .types import CancelSessionResponse, SessionInfo, SessionStatus, TaskInfo

INLINE_PAYLOAD_BYTES = 256 * 1024
"""Payloads above this size (serialized) go to S3 through an upload link, not in the request."""

# Most bytes of one submit request body (the API takes up to about 6 MB).
_MAX_BATCH_BYTES = 4 * 1024 * 1024
# `{"index":123456789012,"payload":}` and a comma.
_TASK_OVERHEAD_BYTES = 40


@dataclass(frozen=True)
class SubmitSummary:
    """What a submit did. ``next_index``: every task from the first sent up to this index
    (excluded) was accepted by the API, so an interrupted submit resumes there
    (``resume_from``); batches answer out of order, so later tasks may be stored too (a resume
    finds them ``existing``)."""

    submitted: int
    created: int
    existing: int
    next_index: int


class Session:
    """A handle on one session. Methods call the API; the handle holds no state of it.

    As a context manager it closes the session on a normal exit (its results then know when
    they end); after an exception it stays open, so an interrupted submit can be resumed.
    """

    def __init__(self, http: HttpClient, session_id: str) -> None:
        self.id = session_id
        self._http = http
        self._path = f"/sessions/{quote(session_id, safe='')}"

    def __repr__(self) -> str:
        return f"Session({self.id!r})"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()

    def status(self) -> SessionStatus:
        """The session with its task counts, progress, ``settled`` and cost so far."""
        return cast("SessionStatus", self._http.request("GET", self._path))

    def close(self) -> SessionInfo:
        """Accepts no more tasks; the submitted ones finish."""
        return cast("SessionInfo", self._http.request("POST", f"{self._path}/close"))

    def cancel(self) -> CancelSessionResponse:
        """Cancels the session: queued tasks never start, running ones are aborted, finished
        results stay."""
        return cast("CancelSessionResponse", self._http.request("POST", f"{self._path}/cancel"))

    def task(self, index: int | str) -> TaskInfo:
        """One task, by index."""
        return cast("TaskInfo", self._http.request("GET", f"{self._path}/tasks/{index}"))

    def cancel_task(self, index: int | str) -> TaskInfo:
        """Cancels one task (a finished one keeps its result)."""
        return cast("TaskInfo", self._http.request("POST", f"{self._path}/tasks/{index}/cancel"))

    def submit(
        self,
        tasks: Iterable[Any],
        handler: str | None = None,
        timeout_ms: int | None = None,
        start_index: int = 0,
        resume_from: int | None = None,
        batch_size: int = 1000,
        concurrency: int = 4,
        close: bool = False,
        progress: Callable[[SubmitSummary], None] | None = None,
    ) -> SubmitSummary:
        """Submits tasks: each item of ``tasks`` (any iterable, read lazily) is a JSON-serializable
        payload for ``handler``.

        Tasks are numbered from ``start_index`` in the order given, so their ids are
        deterministic: a retried request, or a whole new call with the same tasks, never
        creates a task twice or loses one. ``batch_size`` tasks (at most 10,000) go per request,
        with at most ``concurrency`` requests in flight on a thread pool; the source is read no
        faster than they complete, so memory stays bounded. Payloads over 256 KiB go through
        upload links. ``resume_from`` skips (reads but does not send) tasks below it: pass the
        ``next_index`` of an interrupted call's last ``progress`` summary. ``close`` closes the
        session once everything is submitted. ``progress`` is called (in the calling thread)
        after each answered batch. Raises the first failed batch's TesseraError once the
        requests in flight have finished.
        """
        batch_size = min(10_000, max(1, batch_size))
        concurrency = max(1, concurrency)
        index = start_index
        first_sent = max(start_index, resume_from if resume_from is not None else start_index)
        summary = SubmitSummary(0, 0, 0, first_sent)
        # Answered batches beyond a gap (an earlier batch still in flight): start -> end index.
        answered: dict[int, int] = {}
        # Requests in flight: their batch's first index and task count.
        in_flight: dict[Future[dict[str, Any]], tuple[int, int]] = {}
        failure: list[BaseException] = []
        batch: list[str] = []
        batch_start = first_sent
        batch_bytes = 0

        def settle(done: Iterable[Future[dict[str, Any]]]) -> None:
            nonlocal summary
            for future in done:
                start, count = in_flight.pop(future)
                try:
                    response = future.result()
                except BaseException as error:  # noqa: BLE001 - the first is raised after the drain
                    failure.append(error)
                    continue
                answered[start] = start + count
                next_index = summary.next_index
                while next_index in answered:
                    next_index = answered.pop(next_index)
                summary = SubmitSummary(
                    summary.submitted + count,
                    summary.created + response["created"],
                    summary.existing + response["existing"],
                    next_index,
                )
                if progress:
                    progress(summary)

        def send(pool: ThreadPoolExecutor) -> None:
            future = pool.submit(self._send_batch, ",".join(batch), handler, timeout_ms)
            in_flight[future] = (batch_start, len(batch))
            batch.clear()

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tessera-submit") as pool:
            try:
                for item in tasks:
                    if failure:
                        break
                    at = index
                    index += 1
                    if at < first_sent:
                        continue
                    payload = _payload(item, at)
                    escaped = json.dumps(payload, ensure_ascii=False)
                    size = len(escaped.encode("utf-8")) + _TASK_OVERHEAD_BYTES
                    if len(batch) >= batch_size or (batch and batch_bytes + size > _MAX_BATCH_BYTES):
                        send(pool)
                        batch_start, batch_bytes = at, 0
                        # Backpressure: read no further while `concurrency` requests are in flight.
                        while len(in_flight) >= concurrency:
                            settle(wait(in_flight, return_when=FIRST_COMPLETED).done)
                    if size > INLINE_PAYLOAD_BYTES:
                        batch.append(f'{{"index":{at},"payloadRef":{json.dumps(self._upload(payload))}}}')
                    else:
                        batch.append(f'{{"index":{at},"payload":{escaped}}}')
                        batch_bytes += size
                if batch and not failure:
                    send(pool)
            finally:
                # Whatever ended the loop, no request is left running behind the caller's back.
                while in_flight:
                    settle(wait(in_flight).done)
        if failure:
            raise failure[0]
        if close:
            self.close()
        return summary

    def _send_batch(self, tasks: str, handler: str | None, timeout_ms: int | None) -> dict[str, Any]:
        """Sends one batch: its tasks' JSON texts go into the body as they are."""
        head: dict[str, Any] = {}
        if handler:
            head["handler"] = handler
        if timeout_ms is not None:
            head["timeoutMs"] = timeout_ms
        opening = json.dumps(head, separators=(",", ":"))[:-1] + ("," if head else "") + '"tasks":['
        body = (opening + tasks + "]}").encode("utf-8")
        return cast("dict[str, Any]", self._http.request("POST", f"{self._path}/tasks", raw_json=body))

    def _upload(self, payload: str) -> str:
        """Puts a large payload behind an upload link; returns the ref a task points to."""
        response = self._http.request("POST", f"{self._path}/uploads", {"count": 1})
        uploads = response.get("uploads") if isinstance(response, dict) else None
        if not uploads:
            raise TesseraError(0, "BAD_RESPONSE", "the API handed out no upload link")
        self._http.raw("PUT", uploads[0]["url"], payload.encode("utf-8"))
        return str(uploads[0]["ref"])

    def results(
        self,
        resume_from: str | None = None,
        page_size: int = 1000,
        min_poll: float = 0.1,
        max_poll: float = 5.0,
        failures_only: bool = False,
    ) -> ResultStream:
        """Streams the results as tasks finish, each task once, with polls backing off (from
        ``min_poll`` to ``max_poll`` seconds) while nothing is new. Ends once the API reports
        the session settled; on an open session it goes on until the loop breaks. Outputs are
        parsed from JSON (the raw text when not JSON); large ones are fetched from their links.
        ``resume_from`` takes a previous stream's ``resume_token`` (of either SDK) and starts
        exactly after its last result; ``failures_only`` yields only failed and cancelled tasks.
        """
        return ResultStream(self._http, self._path, resume_from, page_size, min_poll, max_poll, failures_only)

    def wait(
        self,
        progress: Callable[[SessionStatus], None] | None = None,
        min_poll: float = 0.5,
        max_poll: float = 5.0,
    ) -> SessionStatus:
        """Returns the final status once the API reports the session settled: closed (or
        cancelled) and every task finished, with no submit still landing. ``progress`` sees each
        poll. Close the session once submitted (``submit(..., close=True)``), or this waits for
        the close."""
        delay = min_poll
        while True:
            status = self.status()
            if progress:
                progress(status)
            # Not "closed and every counted task finished": a submit in flight at the close may
            # still land tasks, and only the API knows when none can.
            if status["settled"]:
                return status
            time.sleep(delay)
            delay = min(max_poll, delay * 1.5)


def _payload(item: Any, index: int) -> str:
    """A task's payload as JSON text (as JavaScript's JSON.stringify writes it)."""
    try:
        return json.dumps(item, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TesseraError(
            0, "VALIDATION", f"tasks[{index}]: not JSON-serializable ({error})", f"tasks[{index}]"
        ) from None
