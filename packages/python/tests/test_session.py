"""Submit and results against a stand-in API: batch shapes, backpressure, resumes, uploads of
large payloads, out-of-order answers, and a results stream that stops mid-page and resumes."""

import json
import threading
import time
import unittest

from support import StubApi

from tessera import HttpClient, Session, TesseraError
from tessera.session import INLINE_PAYLOAD_BYTES


def session(url, sid="s1"):
    return Session(HttpClient(url, "tok", retry_base=0.001), sid)


def submitted(api):
    """Task indexes of each submit request, in the order they arrived."""
    return [
        [t["index"] for t in json.loads(b)["tasks"]] for m, p, b, h in api.requests if p.endswith("/tasks")
    ]


def accept(method, path, body):
    if path.endswith("/tasks"):
        return (
            200,
            {
                "created": len(json.loads(body)["tasks"]),
                "existing": 0,
                "createdSpans": [],
                "chunks": 1,
                "tickets": 1,
            },
            {},
        )
    return 200, {"sessionId": "s1", "state": "CLOSED"}, {}


class SubmitTest(unittest.TestCase):
    def test_batches_numbered_tasks_with_handler_and_timeout_then_closes(self):
        with StubApi(accept) as api:
            progress = []
            summary = session(api.url).submit(
                ({"n": n} for n in range(25)),
                handler="echo",
                timeout_ms=5000,
                batch_size=10,
                concurrency=1,
                close=True,
                progress=progress.append,
            )
        self.assertEqual(submitted(api), [list(range(0, 10)), list(range(10, 20)), list(range(20, 25))])
        first = json.loads(api.requests[0][2])
        self.assertEqual((first["handler"], first["timeoutMs"]), ("echo", 5000))
        self.assertEqual(first["tasks"][3], {"index": 3, "payload": '{"n":3}'})
        self.assertEqual(api.requests[-1][:2], ("POST", "/sessions/s1/close"))
        self.assertEqual(
            (summary.submitted, summary.created, summary.existing, summary.next_index), (25, 25, 0, 25)
        )
        self.assertEqual([p.submitted for p in progress], [10, 20, 25])

    def test_start_index_and_resume_from_number_and_skip_tasks(self):
        with StubApi(accept) as api:
            summary = session(api.url).submit(range(10), start_index=100, resume_from=104, batch_size=4)
        # Batches go out concurrently: compare them in index order.
        self.assertEqual(sorted(submitted(api)), [[104, 105, 106, 107], [108, 109]])
        first = next(json.loads(b) for m, p, b, h in api.requests if b'"index":104' in b)
        self.assertEqual(first["tasks"][0]["payload"], "4")
        self.assertEqual((summary.submitted, summary.next_index), (6, 110))

    def test_reads_the_source_no_faster_than_requests_complete(self):
        answered, in_flight, peak, lock = [0], [0], [0], threading.Lock()

        def slow(method, path, body):
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            time.sleep(0.02)  # a slow API: the reader would run far ahead without backpressure
            with lock:
                in_flight[0] -= 1
                answered[0] += 1
            return accept(method, path, body)

        ahead = []

        def source():
            for n in range(1000):
                # Batches of 10, 2 in flight: task n is read only once the batches before the
                # last two were answered, so at most 2 batches and the task read run ahead.
                ahead.append(n - 10 * answered[0])
                yield n

        with StubApi(slow) as api:
            session(api.url).submit(source(), batch_size=10, concurrency=2)
        self.assertLessEqual(max(ahead), 20)
        self.assertLessEqual(peak[0], 2)
        self.assertEqual(sum(map(len, submitted(api))), 1000)

    def test_a_refused_batch_is_raised_after_the_others_finish_and_next_index_says_what_was_stored(self):
        def refuse_second(method, path, body):
            tasks = json.loads(body)["tasks"]
            if tasks[0]["index"] == 10:
                return (
                    409,
                    {"error": {"code": "CONFLICT", "message": "tasks[0]: other work", "field": "tasks[0]"}},
                    {},
                )
            return accept(method, path, body)

        progress = []
        with StubApi(refuse_second) as api:
            with self.assertRaises(TesseraError) as caught:
                session(api.url).submit(range(100), batch_size=10, concurrency=1, progress=progress.append)
        self.assertEqual(
            (caught.exception.status, caught.exception.code, caught.exception.field),
            (409, "CONFLICT", "tasks[0]"),
        )
        self.assertEqual(progress[-1].next_index, 10)
        self.assertLessEqual(len(submitted(api)), 3)  # stops reading at the failure

    def test_a_large_payload_goes_through_an_upload_link(self):
        big = "x" * (INLINE_PAYLOAD_BYTES + 1)

        def route(method, path, body):
            if path.endswith("/uploads"):
                return (
                    201,
                    {
                        "uploads": [
                            {"ref": "ref-1", "url": f"{api.url}/blob/1", "method": "PUT", "expiresAt": "x"}
                        ]
                    },
                    {},
                )
            if path == "/blob/1":
                return 200, "", {}
            return accept(method, path, body)

        with StubApi(route) as api:
            session(api.url).submit(["small", big], handler="echo")
        put = [r for r in api.requests if r[1] == "/blob/1"]
        self.assertEqual([(r[0], json.loads(r[2])) for r in put], [("PUT", big)])
        tasks = json.loads([r for r in api.requests if r[1].endswith("/tasks")][0][2])["tasks"]
        self.assertEqual(tasks, [{"index": 0, "payload": '"small"'}, {"index": 1, "payloadRef": "ref-1"}])

    def test_a_payload_that_is_not_json_names_its_task(self):
        with StubApi(accept) as api:
            with self.assertRaises(TesseraError) as caught:
                session(api.url).submit([1, 2, object()])
        self.assertEqual((caught.exception.code, caught.exception.field), ("VALIDATION", "tasks[2]"))
        self.assertEqual(submitted(api), [])


def results_api(pages, blobs=None):
    """Serves `pages` (lists of wire results) one per cursor: cursor "c<i>" reads page i; the last
    page says settled. `blobs` maps a path to (status, text)."""

    def route(method, path, body):
        if path in (blobs or {}):
            return blobs[path][0], blobs[path][1], {}
        cursor = json.loads(body).get("cursor", "c0")
        i = int(cursor[1:])
        return 200, {"results": pages[i], "cursor": f"c{i + 1}", "settled": i == len(pages) - 1}, {}

    return route


def ok(index, output=None):
    return {
        "taskId": str(index),
        "status": "SUCCEEDED",
        "attempt": 1,
        "result": json.dumps(output if output is not None else index),
    }


class ResultsTest(unittest.TestCase):
    # A chain of cursors: a page, one that repeats a result (the API may, rarely), an empty one
    # (nothing new yet), the last.
    pages = [[ok(0), ok(1), ok(2)], [ok(3), ok(3), ok(4)], [], [ok(5)]]

    def test_each_result_once_even_when_the_api_repeats_one(self):
        pages = self.pages + [[ok(2), ok(6)]]  # a repeat from an earlier page, too
        with StubApi(results_api(pages)) as api:
            results = list(session(api.url).results(min_poll=0.001))
        self.assertEqual([r.index for r in results], [0, 1, 2, 3, 4, 5, 6])
        self.assertEqual([r.output for r in results], [0, 1, 2, 3, 4, 5, 6])

    def test_stopping_mid_page_and_resuming_loses_and_repeats_nothing(self):
        for stop_after in range(1, 6):
            with self.subTest(stop_after=stop_after), StubApi(results_api(self.pages)) as api:
                stream = session(api.url).results(min_poll=0.001)
                first = [next(stream).index for _ in range(stop_after)]
                token = stream.resume_token
                rest = [r.index for r in session(api.url).results(resume_from=token, min_poll=0.001)]
                self.assertEqual(first + rest, [0, 1, 2, 3, 4, 5])

    def test_the_token_is_the_api_cursor_between_pages_and_a_tr1_token_inside_one(self):
        with StubApi(results_api(self.pages)) as api:
            stream = session(api.url).results(min_poll=0.001)
            self.assertIsNone(stream.resume_token)
            next(stream)
            self.assertEqual(stream.resume_token, "tr1.AQA.")  # index 0 of the chain from the start
            next(stream), next(stream)
            self.assertEqual(stream.resume_token, "c1")

    def test_large_results_are_downloaded_and_a_lost_one_is_result_unavailable(self):
        pages = [
            [
                {"taskId": "0", "status": "SUCCEEDED", "attempt": 1, "resultUrl": "URL/blob/0"},
                {"taskId": "1", "status": "SUCCEEDED", "attempt": 1, "resultUrl": "URL/blob/1"},
                {
                    "taskId": "2",
                    "status": "FAILED",
                    "attempt": 3,
                    "error": {"code": "HANDLER_ERROR", "message": "boom"},
                },
            ]
        ]
        with StubApi(results_api(pages, {"/blob/0": (200, '{"big":true}'), "/blob/1": (404, "gone")})) as api:
            for wire in pages[0][:2]:
                wire["resultUrl"] = wire["resultUrl"].replace("URL", api.url)
            results = list(session(api.url).results())
            failures = list(session(api.url).results(failures_only=True))
        self.assertEqual(results[0].output, {"big": True})
        self.assertEqual((results[1].status, results[1].error.code), ("SUCCEEDED", "RESULT_UNAVAILABLE"))
        self.assertEqual(
            (results[2].status, results[2].error.code, results[2].error.message),
            ("FAILED", "HANDLER_ERROR", "boom"),
        )
        self.assertEqual([r.index for r in failures], [2])


if __name__ == "__main__":
    unittest.main()
