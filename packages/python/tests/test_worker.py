"""The Python end of the warm-worker protocol (tessera/worker.py, docs/worker-protocol.md):
framing, the handshake, runs, failures, cancels, logs, and that printed text never reaches the
protocol channel. The worker is served over real pipes, as the agent's fds 3 and 4 are."""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

import support  # noqa: F401 - the package under test: ../src

from tessera import worker
from tessera.worker import Channel, current, decode_frame, encode_frame, serve

SRC = str(Path(__file__).resolve().parent.parent / "src")


class Framing(unittest.TestCase):
    def test_a_frame_is_one_json_line_even_with_newlines_in_its_strings(self) -> None:
        frame = encode_frame({"type": "result", "id": "1", "output": "a\nb"})
        self.assertEqual(frame.count(b"\n"), 1)
        self.assertTrue(frame.endswith(b"\n"))
        self.assertEqual(decode_frame(frame), {"type": "result", "id": "1", "output": "a\nb"})

    def test_blank_lines_are_skipped_and_bad_frames_refused(self) -> None:
        self.assertIsNone(decode_frame(b"\n"))
        for bad in (b"not json\n", b"[1]\n", b'{"id": "1"}\n'):
            with self.assertRaises(ValueError):
                decode_frame(bad)


class Registration(unittest.TestCase):
    def test_names_are_checked_and_not_reused(self) -> None:
        with self.assertRaisesRegex(ValueError, "must be 1-64 characters"):
            worker.task("no spaces")
        worker.task("test-registration")(len)
        with self.assertRaisesRegex(ValueError, 'two task functions are named "test-registration"'):
            worker.task("test-registration")(str)
        self.assertIn("test-registration", worker.registered())

    def test_current_outside_a_task_says_so(self) -> None:
        with self.assertRaisesRegex(RuntimeError, "only available while a task runs"):
            current()


class Agent:
    """The agent's end: pipes to and from a worker served in a thread."""

    def __init__(self, tasks: dict) -> None:
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        reader, writer = os.fdopen(to_worker_r, "rb"), os.fdopen(from_worker_w, "wb")
        self._replies = os.fdopen(self._from_worker, "rb")

        def run() -> None:
            with reader, writer:
                serve(Channel(reader, writer), tasks)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def send(self, message: dict) -> None:
        os.write(self._to_worker, encode_frame(message))

    def receive(self) -> dict:
        line = self._replies.readline()
        if not line:
            raise EOFError("the worker closed its channel")
        message = decode_frame(line)
        assert message is not None
        return message

    def close(self) -> None:
        os.close(self._to_worker)
        self.thread.join(5)
        self._replies.close()


def run_message(run_id: str, handler: str, value: object) -> dict:
    return {
        "type": "run",
        "id": run_id,
        "handler": handler,
        "input": json.dumps(value),
        "attempt": 2,
        "deadline": None,
        "session": "s1",
        "index": 7,
    }


class Serving(unittest.TestCase):
    def test_handshake_runs_failures_and_the_end_of_the_channel(self) -> None:
        def shout(value: dict) -> dict:
            print('{"type":"result","id":"1","output":"forged"}')  # must not reach the channel
            return {"text": value["text"].upper(), "attempt": current().attempt, "index": current().index}

        def broken(_value: object) -> None:
            raise ValueError("strike: must be positive")

        agent = Agent({"shout": shout, "broken": broken, "none": lambda _v: None})
        self.assertEqual(agent.receive(), {"type": "ready", "protocol": 1, "handlers": ["broken", "none", "shout"]})
        agent.send({"type": "from-a-newer-agent", "id": "x"})  # unknown types are ignored
        with contextlib.redirect_stdout(io.StringIO()) as printed, contextlib.redirect_stderr(io.StringIO()):
            agent.send(run_message("1", "shout", {"text": "hi\nthere"}))
            result = agent.receive()
            agent.send(run_message("2", "broken", {}))
            error = agent.receive()
            agent.send(run_message("3", "none", {}))
            nothing = agent.receive()
            agent.send({**run_message("4", "shout", {}), "input": "{not json"})
            bad_input = agent.receive()
            agent.send(run_message("5", "missing", {}))
            unknown = agent.receive()
        self.assertIn("forged", printed.getvalue())
        self.assertEqual(result["id"], "1")
        self.assertEqual(json.loads(result["output"]), {"text": "HI\nTHERE", "attempt": 2, "index": 7})
        self.assertEqual(error, {"type": "error", "id": "2", "message": "ValueError: strike: must be positive"})
        self.assertEqual(nothing, {"type": "result", "id": "3", "output": None})
        self.assertEqual(bad_input, {"type": "error", "id": "4", "message": "input: payload is not valid JSON"})
        self.assertEqual(unknown["message"], 'unknown task "missing" (broken, none, shout)')
        agent.close()
        self.assertFalse(agent.thread.is_alive())

    def test_a_cancel_sets_the_abort_flag_of_the_running_task_and_logs_carry_its_id(self) -> None:
        started = threading.Event()

        def wait(_value: object) -> str:
            current().logger.info("waiting", strike=105, odd=object())
            started.set()
            deadline = time.monotonic() + 10
            while not current().aborted() and time.monotonic() < deadline:
                time.sleep(0.01)
            return "aborted" if current().abort_event.is_set() else "not cancelled"

        agent = Agent({"wait": wait})
        agent.receive()
        agent.send(run_message("9", "wait", {}))
        log = agent.receive()
        self.assertEqual(log["type"], "log")
        self.assertEqual((log["id"], log["level"], log["message"]), ("9", "info", "waiting"))
        self.assertEqual(log["fields"]["strike"], 105)
        self.assertTrue(log["fields"]["odd"].startswith("<object object"))  # not JSON: its repr
        self.assertTrue(started.wait(5))
        agent.send({"type": "cancel", "id": "9"})
        self.assertEqual(agent.receive(), {"type": "result", "id": "9", "output": '"aborted"'})
        agent.close()


class CommandLine(unittest.TestCase):
    def test_as_a_process_it_serves_the_modules_tasks_and_exits_when_its_agent_is_gone(self) -> None:
        temporary = tempfile.TemporaryDirectory()
        self.addCleanup(temporary.cleanup)
        folder = Path(temporary.name)
        (folder / "sleepy.py").write_text(
            "import time\nfrom tessera.worker import task\n\n"
            "@task('sleep')\ndef sleep(value):\n    time.sleep(value)\n",
            encoding="utf-8",
        )
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        # The agent's layout: the worker reads fd 3 and writes fd 4.
        worker_process = subprocess.Popen(
            [sys.executable, "-m", "tessera.worker", str(folder / "sleepy.py")],
            env={**os.environ, "PYTHONPATH": SRC, "TESSERA_WORKER_FDS": "3,4"},
            pass_fds=(3, 4),
            preexec_fn=lambda: (os.dup2(to_worker_r, 3), os.dup2(from_worker_w, 4)),
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        with os.fdopen(from_worker_r, "rb") as replies:
            self.assertEqual(
                decode_frame(replies.readline()), {"type": "ready", "protocol": 1, "handlers": ["sleep"]}
            )
            os.write(to_worker_w, encode_frame(run_message("1", "sleep", 600)))
            time.sleep(0.2)
            os.close(to_worker_w)  # the agent is gone, the task still sleeping
            self.assertEqual(worker_process.wait(10), 0)


    def test_outside_an_agent_it_says_how_to_run_it_in_one_line(self) -> None:
        env = {**os.environ, "PYTHONPATH": SRC}
        env.pop("TESSERA_WORKER_FDS", None)
        done = subprocess.run(
            [sys.executable, "-m", "tessera.worker", "json"], env=env, capture_output=True, text=True, timeout=30
        )
        self.assertEqual(done.returncode, 2)
        self.assertEqual(
            done.stderr.strip(),
            "tessera.worker: TESSERA_WORKER_FDS is not set (as 3,4): run this through tessera-agent --worker",
        )


if __name__ == "__main__":
    unittest.main()
