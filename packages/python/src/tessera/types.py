"""The API's response bodies as the client returns them (JSON objects, field names as the API
spells them), typed for editors and type checkers; packages/functions/src/http/schemas.ts is
their source."""

from __future__ import annotations

from typing import TypedDict


class SessionConfig(TypedDict):
    pool: str
    priority: str
    maxAttempts: int
    leaseMs: int
    chunkMaxTasks: int
    chunkMaxBytes: int
    backoffBaseMs: int
    backoffMaxMs: int
    taskTimeoutMs: int


class SessionInfo(TypedDict):
    sessionId: str
    state: str  # OPEN, CLOSED or CANCELLED
    config: SessionConfig
    tags: dict[str, str]
    createdAt: str
    updatedAt: str


class TaskCounts(TypedDict):
    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int


class SessionStatus(SessionInfo):
    counts: TaskCounts
    progress: float  # share of tasks finished, 0..1
    settled: bool  # closed or cancelled, and every task finished: nothing will change
    cost: dict[str, object]  # the session's cost at list price (dollars, requests, lines, ...)


class TaskInfo(TypedDict, total=False):
    sessionId: str
    taskId: str
    status: str  # QUEUED, LEASED, SUCCEEDED, FAILED or CANCELLED
    attempt: int
    maxAttempts: int
    cancelRequested: bool
    pool: str
    priority: str
    handler: str
    result: str
    resultUrl: str
    error: dict[str, str]
    leaseExpiresAt: str
    notBefore: str
    createdAt: str
    updatedAt: str
    finishedAt: str


class CancelSessionResponse(TypedDict):
    session: SessionInfo
    cancelledQueued: int
    abortRequested: int
    complete: bool  # false when the reaper finishes the walk over the tasks


class SessionList(TypedDict, total=False):
    sessions: list[SessionInfo]
    next: str
