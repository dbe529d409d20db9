"""Warm workers in Python: task functions served to ``tessera-agent --worker`` by a long-lived
process, so that a millisecond task does not pay an interpreter start and its imports.

    # pricing.py
    from tessera.worker import task, current

    @task("price")
    def price(option):              # the task's payload, decoded from JSON
        current().logger.info("pricing", strike=option["strike"])
        return {"price": 4.2}       # any JSON-serializable value: the task's result

    $ tessera-agent --worker "python3 -m tessera.worker pricing" --concurrency 4

``python3 -m tessera.worker MODULE [MODULE ...]`` imports the modules (names on sys.path, or
paths of .py files) and serves the protocol of docs/worker-protocol.md on the file descriptors
the agent names in TESSERA_WORKER_FDS (it reads fd 3 and writes fd 4), so whatever the task code
prints on stdout or stderr goes to the agent's log and cannot corrupt the protocol. One task runs
at a time, in the main thread. A cancel is cooperative: ``current().aborted()`` turns true (and
``current().abort_event`` is set); a task that does not end soon after is killed with its process
by the agent, which starts a fresh one. A raised exception fails the task with its message.
Standard library only, Python >= 3.9.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import queue
import re
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional

PROTOCOL_VERSION = 1

TaskFunction = Callable[[Any], Any]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_tasks: Dict[str, TaskFunction] = {}
_LEVELS = {"debug": 0, "info": 1, "warn": 2, "error": 3}
# The agent's least level: lines below it would be dropped there, so they are not sent.
_least_level = _LEVELS.get(os.environ.get("TESSERA_WORKER_LOG_LEVEL", "debug"), 0)
_current: Optional[TaskContext] = None


def task(name: str) -> Callable[[TaskFunction], TaskFunction]:
    """Registers the decorated function as the handler ``name``: it gets the task's decoded
    input and returns its result (JSON-serializable; None gives a task without a result)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f'task name "{name}" must be 1-64 characters of A-Z a-z 0-9 _ . -')

    def register(function: TaskFunction) -> TaskFunction:
        other = _tasks.get(name)
        if other is not None and other is not function:
            raise ValueError(f'two task functions are named "{name}"')
        _tasks[name] = function
        return function

    return register


def registered() -> List[str]:
    """Names of the tasks registered so far."""
    return sorted(_tasks)


class TaskLogger:
    """Lines logged here become the task's log entries on the grid (``tessera logs``), with the
    task's ids; keyword arguments are extra fields."""

    def __init__(self, send: Callable[[Dict[str, Any]], None], run_id: str) -> None:
        self._send = send
        self._id = run_id

    def _log(self, level: str, message: str, fields: Dict[str, Any]) -> None:
        if _LEVELS.get(level, 1) < _least_level:
            return
        frame: Dict[str, Any] = {"type": "log", "id": self._id, "level": level, "message": str(message)}
        if fields:
            frame["fields"] = {k: v if _is_json(v) else repr(v) for k, v in fields.items()}
        self._send(frame)

    def debug(self, message: str, **fields: Any) -> None:
        self._log("debug", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log("info", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log("warn", message, fields)

    warn = warning

    def error(self, message: str, **fields: Any) -> None:
        self._log("error", message, fields)


class TaskContext:
    """The running task, as ``current()`` gives it."""

    def __init__(self, run: Dict[str, Any], send: Callable[[Dict[str, Any]], None]) -> None:
        self.id: str = run["id"]
        self.handler: str = run["handler"]
        self.session: str = run.get("session", "")
        self.index: int = run.get("index", 0)
        self.attempt: int = run.get("attempt", 1)
        #: Epoch milliseconds after which the agent stops the task, or None.
        self.deadline: Optional[int] = run.get("deadline")
        #: Set when the agent cancels the task (a cancel, a timeout, a lost lease, a shutdown).
        self.abort_event = threading.Event()
        self.logger = TaskLogger(send, self.id)

    def aborted(self) -> bool:
        """True once the task was cancelled: return (or raise) soon."""
        return self.abort_event.is_set()


def current() -> TaskContext:
    """The task running now (inside a task function, or a thread it started)."""
    if _current is None:
        raise RuntimeError("tessera.worker.current() is only available while a task runs")
    return _current


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def encode_frame(message: Dict[str, Any]) -> bytes:
    """One frame: the message as one line of JSON (json.dumps escapes newlines in strings)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace") + b"\n"


def decode_frame(line: bytes) -> Optional[Dict[str, Any]]:
    """The message of one frame, or None for a blank line; raises ValueError for a bad one."""
    if not line.strip():
        return None
    message = json.loads(line.decode("utf-8"))
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError("a frame must be a JSON object with a type")
    return message


class Channel:
    """The worker's end of the protocol: frames in from ``reader``, out to ``writer`` (any thread)."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes]) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = threading.Lock()

    def send(self, message: Dict[str, Any]) -> None:
        data = encode_frame(message)
        with self._lock:
            self._writer.write(data)
            self._writer.flush()

    def receive(self) -> Optional[Dict[str, Any]]:
        """The next message, or None once the agent closed the channel."""
        while True:
            line = self._reader.readline()
            if not line:
                return None
            message = decode_frame(line)
            if message is not None:
                return message


def run_task(function: TaskFunction, run: Dict[str, Any]) -> Dict[str, Any]:
    """Runs one task and gives its ``result`` or ``error`` message."""
    raw = run.get("input")
    try:
        value = None if raw is None else json.loads(raw)
    except ValueError:
        return {"type": "error", "id": run["id"], "message": "input: payload is not valid JSON"}
    try:
        output = function(value)
    except Exception as error:  # a task's exception is its failure, never the worker's
        traceback.print_exc()
        return {"type": "error", "id": run["id"], "message": f"{type(error).__name__}: {error}"}
    try:
        # Unescaped UTF-8, as JSON.stringify writes a TypeScript task's result.
        text = None if output is None else json.dumps(output, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        return {"type": "error", "id": run["id"], "message": f"the result is not JSON-serializable: {error}"}
    return {"type": "result", "id": run["id"], "output": text}


def serve(
    channel: Channel,
    tasks: Optional[Dict[str, TaskFunction]] = None,
    on_end: Optional[Callable[[], None]] = None,
) -> None:
    """Says ``ready`` and runs the agent's tasks one at a time until it closes the channel. A reader
    thread takes ``cancel`` messages while a task runs; unknown message types are ignored. When the
    channel ends, ``on_end`` is called from that thread (the worker process exits there: its agent
    is gone, even if a task is still running); without it, serve returns after the running task."""
    global _current
    served = dict(_tasks if tasks is None else tasks)
    runs: queue.Queue[Optional[Dict[str, Any]]] = queue.Queue()
    running: List[TaskContext] = []

    def read() -> None:
        try:
            while True:
                message = channel.receive()
                if message is None:
                    break
                if message["type"] == "run":
                    runs.put(message)
                elif message["type"] == "cancel":
                    for context in list(running):
                        if context.id == message.get("id"):
                            context.abort_event.set()
        except ValueError as error:
            print(f"tessera.worker: bad frame from the agent: {error}", file=sys.stderr)
        if on_end is not None:
            on_end()
        runs.put(None)

    channel.send({"type": "ready", "protocol": PROTOCOL_VERSION, "handlers": sorted(served)})
    threading.Thread(target=read, name="tessera-channel", daemon=True).start()
    while True:
        run = runs.get()
        if run is None:
            return
        function = served.get(run.get("handler", ""))
        if function is None:
            known = ", ".join(sorted(served)) or "none"
            channel.send(
                {
                    "type": "error",
                    "id": run["id"],
                    "message": f'unknown task "{run.get("handler")}" ({known})',
                }
            )
            continue
        context = TaskContext(run, channel.send)
        running.append(context)
        _current = context
        try:
            reply = run_task(function, run)
        finally:
            _current = None
            running.remove(context)
        channel.send(reply)


def load_module(spec: str) -> None:
    """Imports a module by name, or a .py file by path (its folder joins sys.path, so that it can
    import its neighbours)."""
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec).resolve()
        if not path.is_file():
            raise ImportError(f"no such file: {spec}")
        sys.path.insert(0, str(path.parent))
        loaded = importlib.util.spec_from_file_location(path.stem, path)
        if loaded is None or loaded.loader is None:
            raise ImportError(f"cannot load {spec}")
        module = importlib.util.module_from_spec(loaded)
        sys.modules[path.stem] = module
        loaded.loader.exec_module(module)
    else:
        importlib.import_module(spec)


def main(argv: List[str]) -> int:
    """``python3 -m tessera.worker MODULE [MODULE ...]``: exit 2 with one line on a bad start."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python3 -m tessera.worker MODULE [MODULE ...]  (started by tessera-agent --worker)")
        return 0 if argv else 2
    fds = os.environ.get("TESSERA_WORKER_FDS", "")
    try:
        read_fd, write_fd = (int(fd) for fd in fds.split(","))
    except ValueError:
        print(
            "tessera.worker: TESSERA_WORKER_FDS is not set (as 3,4): run this through tessera-agent --worker",
            file=sys.stderr,
        )
        return 2
    sys.path.insert(0, os.getcwd())
    for spec in argv:
        try:
            load_module(spec)
        except Exception as error:
            print(f"tessera.worker: cannot load {spec}: {type(error).__name__}: {error}", file=sys.stderr)
            return 2
    if not _tasks:
        print(f"tessera.worker: no @task functions in {', '.join(argv)}", file=sys.stderr)
        return 2
    # Printed lines reach the agent's log as they are written, not when a buffer fills.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:
        serve(Channel(reader, writer), on_end=lambda: os._exit(0))
    return 0


if __name__ == "__main__":
    # Run as `-m`, this file is __main__, while task modules import `tessera.worker`: serve from
    # that module, the one their @task registered in.
    from tessera.worker import main as _main

    sys.exit(_main(sys.argv[1:]))
