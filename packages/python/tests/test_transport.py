"""The transport against a stand-in API on 127.0.0.1: how errors become TesseraErrors, and which
failures are retried (throttling, 5xx, network) and which are not (4xx)."""

import json
import socket
import unittest

from support import StubApi

from tessera import HttpClient, TesseraError


def client(url, **options):
    return HttpClient(url, "tok", retry_base=0.001, **options)


class TransportTest(unittest.TestCase):
    def test_an_api_error_names_its_code_field_and_request_and_is_not_retried(self):
        body = {
            "error": {
                "code": "VALIDATION",
                "message": "config.maxAttempts: too big",
                "field": "config.maxAttempts",
                "requestId": "r-1",
            }
        }
        with StubApi(lambda m, p, b: (400, body, {})) as api:
            with self.assertRaises(TesseraError) as caught:
                client(api.url).request("POST", "/sessions", {"sessionId": "s"})
            self.assertEqual(len(api.requests), 1)
        e = caught.exception
        self.assertEqual(
            (e.status, e.code, e.message, e.field, e.request_id, e.retryable),
            (400, "VALIDATION", "config.maxAttempts: too big", "config.maxAttempts", "r-1", False),
        )

    def test_throttling_and_5xx_are_retried_then_the_answer_returned(self):
        answers = [
            (429, {"error": {"code": "THROTTLED", "message": "slow down"}}, {}),
            (503, "", {}),
            (200, {"ok": True}, {}),
        ]
        with StubApi(lambda m, p, b: answers.pop(0)) as api:
            self.assertEqual(client(api.url).request("GET", "/sessions/s"), {"ok": True})
            self.assertEqual(len(api.requests), 3)
            # The bearer token and JSON headers went with every try.
            self.assertEqual({r[3]["authorization"] for r in api.requests}, {"Bearer tok"})

    def test_retries_stop_after_max_retries_with_the_last_error(self):
        with StubApi(lambda m, p, b: (500, {"error": {"code": "INTERNAL", "message": "boom"}}, {})) as api:
            with self.assertRaises(TesseraError) as caught:
                client(api.url, max_retries=2).request("GET", "/x")
            self.assertEqual(len(api.requests), 3)
        self.assertEqual((caught.exception.status, caught.exception.code), (500, "INTERNAL"))

    def test_a_body_that_is_not_json_is_bad_response(self):
        with StubApi(lambda m, p, b: (200, "<html>proxy login</html>", {})) as api:
            with self.assertRaises(TesseraError) as caught:
                client(api.url, max_retries=0).request("GET", "/x")
        self.assertEqual((caught.exception.status, caught.exception.code), (0, "BAD_RESPONSE"))

    def test_an_unreachable_api_is_network_after_the_retries(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again below: nothing listens there
        with self.assertRaises(TesseraError) as caught:
            client(f"http://127.0.0.1:{port}", max_retries=1).request("GET", "/x")
        self.assertEqual((caught.exception.status, caught.exception.code), (0, "NETWORK"))
        self.assertIn(f"cannot reach http://127.0.0.1:{port}", str(caught.exception))

    def test_query_and_json_body_go_out_as_the_api_reads_them(self):
        with StubApi(lambda m, p, b: (200, {}, {})) as api:
            client(api.url).request("GET", "/sessions", query={"limit": 5, "after": "17#a b", "none": None})
            client(api.url).request("POST", "/sessions", {"sessionId": "é"})
        self.assertEqual(api.requests[0][1], "/sessions?limit=5&after=17%23a%20b")
        self.assertEqual(json.loads(api.requests[1][2]), {"sessionId": "é"})
        self.assertEqual(api.requests[1][3]["content-type"], "application/json")

    def test_a_presigned_link_that_fails_shows_no_part_of_the_link(self):
        with StubApi(lambda m, p, b: (403, "denied", {})) as api:
            with self.assertRaises(TesseraError) as caught:
                client(api.url).raw("GET", f"{api.url}/blob?X-Amz-Signature=secret")
            self.assertEqual(len(api.requests), 1)
        self.assertEqual((caught.exception.status, caught.exception.code), (403, "HTTP_403"))
        self.assertNotIn("secret", str(caught.exception))

    def test_api_requests_keep_their_connection_open(self):
        with StubApi(lambda m, p, b: (200, {"ok": True}, {}), keep_alive=True) as api:
            http = client(api.url)
            self.addCleanup(http.close)
            for _ in range(5):
                self.assertEqual(http.request("GET", "/sessions/s"), {"ok": True})
        self.assertEqual(len(api.peers), 5)
        self.assertEqual(len(set(api.peers)), 1)

    def test_a_kept_connection_the_server_closed_is_replaced_without_an_error(self):
        # The server closes every connection after one answer, without saying so.
        with StubApi(lambda m, p, b: (200, {"ok": True}, {}), keep_alive=True, drop_after=1) as api:
            http = client(api.url, max_retries=0)
            self.addCleanup(http.close)
            for _ in range(3):
                self.assertEqual(http.request("GET", "/sessions/s"), {"ok": True})
        self.assertEqual(len(set(api.peers)), 3)


if __name__ == "__main__":
    unittest.main()
