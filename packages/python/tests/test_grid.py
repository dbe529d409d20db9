"""The client against a real grid (``npm start``, or the one packages/client/test/python-client.test.ts
starts): TESSERA_TEST_URL and TESSERA_TEST_TOKEN say where. Skipped only when they are not set
(a direct run without a grid); `npm test` sets them and checks that these tests ran."""

import os
import time
import unittest
import uuid

import support  # noqa: F401 - the client under test: ../src

from tessera import INLINE_PAYLOAD_BYTES, Tessera, TesseraError

URL = os.environ.get("TESSERA_TEST_URL")
TOKEN = os.environ.get("TESSERA_TEST_TOKEN")
# Larger than the API's whole request body (6 MB less 64 KiB): only an upload link can carry it.
HUGE_BYTES = 6 * 1024 * 1024


def unique(name):
    return f"py-{name}-{uuid.uuid4().hex[:8]}"


@unittest.skipUnless(URL and TOKEN, "set TESSERA_TEST_URL and TESSERA_TEST_TOKEN to run against a grid")
class GridTest(unittest.TestCase):
    def setUp(self):
        self.tessera = Tessera(URL, TOKEN)
        self.addCleanup(self.tessera.close)

    def test_ten_thousand_tasks_stream_once_and_resume_mid_page_from_the_token(self):
        # Chunks of 250 tasks: the local grid's DynamoDB Local is slow at per-chunk writes.
        session = self.tessera.create_session(unique("10k"), config={"chunk_max_tasks": 250})
        read = []

        def source():
            for n in range(10_000):
                read.append(n)
                yield {"n": n}

        summary = session.submit(source(), handler="echo", batch_size=1000, concurrency=4, close=True)
        self.assertEqual(
            (summary.submitted, summary.created, summary.existing, summary.next_index),
            (10_000, 10_000, 0, 10_000),
        )
        self.assertEqual(len(read), 10_000)

        stream = session.results(page_size=1000, min_poll=0.05)
        first = []
        for result in stream:
            self.assertEqual(
                (result.status, result.output, result.error), ("SUCCEEDED", {"n": result.index}, None)
            )
            first.append(result.index)
            # Stop in the middle of a page (between pages the token is the API's cursor).
            if len(first) >= 3_500 and stream.resume_token.startswith("tr1."):
                break
        token = stream.resume_token
        self.assertLess(len(first), 10_000)
        self.assertTrue(token.startswith("tr1."), token)
        rest = [r.index for r in session.results(resume_from=token, page_size=1000, min_poll=0.05)]
        self.assertEqual(len(first) + len(rest), 10_000)  # nothing repeated...
        self.assertEqual(set(first) | set(rest), set(range(10_000)))  # ...nothing lost
        with self.assertRaises(TesseraError) as caught:
            session.submit([{"n": 0}], handler="echo")
        self.assertEqual((caught.exception.status, caught.exception.code), (409, "SESSION_NOT_OPEN"))

    def test_resubmitting_creates_nothing_twice_and_wait_reports_progress(self):
        sid = unique("again")
        with Tessera(URL, TOKEN) as tessera, tessera.create_session(sid, tags={"by": "python"}) as session:
            tasks = [{"n": n} for n in range(50)]
            self.assertEqual(session.submit(tasks, handler="echo", batch_size=20).created, 50)
            again = session.submit(tasks, handler="echo", batch_size=20)
            self.assertEqual((again.created, again.existing, again.next_index), (0, 50, 50))
            resumed = session.submit(tasks, handler="echo", resume_from=30)
            self.assertEqual((resumed.submitted, resumed.existing), (20, 20))
            with self.assertRaises(TesseraError) as caught:
                session.submit([{"n": "other"}], handler="echo", start_index=7)
            self.assertEqual(
                (caught.exception.status, caught.exception.code, caught.exception.field),
                (409, "CONFLICT", "tasks[0]"),
            )
            # The same create again is the stored session; other settings are refused.
            self.assertEqual(tessera.create_session(sid, tags={"by": "python"}).id, sid)
            with self.assertRaises(TesseraError) as caught:
                tessera.create_session(sid, config={"max_attempts": 7})
            self.assertEqual(
                (caught.exception.status, caught.exception.code, caught.exception.field),
                (409, "CONFLICT", "config.maxAttempts"),
            )
        # Closed on leaving the block: wait ends once every task finished.
        seen = []
        status = session.wait(progress=seen.append, min_poll=0.05)
        self.assertEqual(
            (status["state"], status["settled"], status["counts"]["succeeded"], status["counts"]["total"]),
            ("CLOSED", True, 50, 50),
        )
        self.assertEqual(seen[-1]["counts"], status["counts"])
        finished = [s["counts"]["succeeded"] for s in seen]
        self.assertEqual(finished, sorted(finished))
        self.assertEqual(session.task(7)["result"], '{"n":7}')
        self.assertIn(sid, [s["sessionId"] for s in self.tessera.sessions(page_size=2)])

    def test_cancel_stops_queued_and_running_tasks(self):
        session = self.tessera.create_session(unique("cancel"))
        session.submit(({"ms": 60_000} for _ in range(20)), handler="sleep", close=True)
        time.sleep(0.5)  # some tasks start: a cancel reaches queued and running ones
        cancelled = session.cancel()
        self.assertEqual(cancelled["session"]["state"], "CANCELLED")
        status = session.wait(min_poll=0.1)
        self.assertEqual((status["counts"]["cancelled"], status["settled"]), (20, True))
        results = list(session.results(min_poll=0.05))
        self.assertEqual(sorted(r.index for r in results), list(range(20)))
        self.assertEqual({(r.status, r.error is not None) for r in results}, {("CANCELLED", True)})

    def test_large_payloads_go_through_upload_links_and_large_results_come_from_links(self):
        session = self.tessera.create_session(unique("large"))
        payloads = ["s" * (INLINE_PAYLOAD_BYTES + 10), "h" * HUGE_BYTES, {"small": True}]
        session.submit(payloads, handler="echo", close=True)
        results = {r.index: r for r in session.results(min_poll=0.05)}
        self.assertEqual([results[i].output for i in range(3)], payloads)
        task = session.task(1)
        self.assertTrue("resultUrl" in task and "result" not in task, sorted(task))

    def test_bad_input_is_a_400_naming_the_field(self):
        cases = [
            (
                lambda: self.tessera.create_session(unique("bad"), config={"max_attempts": 999}),
                "config.maxAttempts",
            ),
            (lambda: self.tessera.create_session("no spaces allowed"), "sessionId"),
            (lambda: self.tessera.create_session(unique("h")).submit([1], handler="no-such-task"), "handler"),
            (
                lambda: self.tessera.create_session(unique("t")).submit([1], handler="echo", timeout_ms=1),
                "timeoutMs",
            ),
        ]
        for call, field in cases:
            with self.subTest(field):
                with self.assertRaises(TesseraError) as caught:
                    call()
                self.assertEqual(
                    (caught.exception.status, caught.exception.code, caught.exception.field),
                    (400, "VALIDATION", field),
                )
                self.assertIn(field, caught.exception.message)
        with self.assertRaises(TesseraError) as caught:
            self.tessera.session(unique("absent")).status()
        self.assertEqual((caught.exception.status, caught.exception.code), (404, "NOT_FOUND"))


if __name__ == "__main__":
    unittest.main()
