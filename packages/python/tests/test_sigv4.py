"""SigV4: the standard-library signer against AWS's published Signature Version 4 test suite
(the vector packages/client/src/sigv4.test.ts uses, and two more of the suite), botocore's
signer against the same vectors when botocore is installed, and where credentials come from."""

import datetime
import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from support import StubApi

from tessera import Credentials, Tessera, UsageError, sigv4_signer
from tessera.sigv4 import botocore_available, sign_request, stdlib_credentials

SUITE_CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_DATE = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
SCOPE = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
# Case name, method, URL, published signature (aws-sig-v4-test-suite).
SUITE = [
    (
        "get-vanilla",
        "GET",
        "https://example.amazonaws.com/",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    (
        "post-vanilla",
        "POST",
        "https://example.amazonaws.com/",
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ),
    (
        "get-vanilla-query-order-key-case",
        "GET",
        "https://example.amazonaws.com/?Param2=value2&Param1=value1",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
]


def expected_authorization(signature):
    return f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host;x-amz-date, Signature={signature}"


class StdlibSignerTest(unittest.TestCase):
    def test_signs_aws_test_suite_requests_to_the_published_signatures(self):
        for name, method, url, signature in SUITE:
            with self.subTest(name):
                headers = sign_request(
                    method, url, {}, b"", SUITE_CREDENTIALS, "us-east-1", "service", SUITE_DATE
                )
                self.assertEqual(headers["x-amz-date"], "20150830T123600Z")
                self.assertEqual(headers["authorization"], expected_authorization(signature))

    def test_signs_body_query_and_session_token_for_api_gateway_by_default(self):
        credentials = SUITE_CREDENTIALS._replace(session_token="token-1")
        signer = sigv4_signer("eu-west-1", credentials, use_botocore=False)
        url = "https://abc.execute-api.eu-west-1.amazonaws.com/sessions/s1/results?x=1"
        a = signer("POST", url, {"content-type": "application/json"}, b'{"limit":10}')
        self.assertRegex(
            a["authorization"],
            r"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/execute-api/aws4_request, ",
        )
        self.assertIn("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,", a["authorization"])
        self.assertEqual(a["x-amz-security-token"], "token-1")
        self.assertNotIn("content-type", a)  # only what signing adds
        b = signer("POST", url, {"content-type": "application/json"}, b'{"limit":11}')
        self.assertNotEqual(a["authorization"], b["authorization"])


@unittest.skipUnless(botocore_available(), "botocore is not installed")
class BotocoreSignerTest(unittest.TestCase):
    """botocore signs at its own clock: the test fixes it to the suite's date."""

    def sign(self, *args):
        with mock.patch("botocore.auth.get_current_datetime", return_value=SUITE_DATE.replace(tzinfo=None)):
            return sigv4_signer("us-east-1", SUITE_CREDENTIALS, "service", use_botocore=True)(*args)

    def test_signs_aws_test_suite_requests_to_the_published_signatures(self):
        for name, method, url, signature in SUITE:
            with self.subTest(name):
                self.assertEqual(
                    self.sign(method, url, {}, b"")["authorization"], expected_authorization(signature)
                )

    def test_agrees_with_the_stdlib_signer_on_an_api_request(self):
        args = (
            "POST",
            "https://abc.execute-api.us-east-1.amazonaws.com/sessions/a%20b/tasks?limit=5&after=17%2300",
            {
                "accept": "application/json",
                "content-type": "application/json",
                "user-agent": "tessera-python",
            },
            b'{"tasks":[]}',
        )
        stdlib = sign_request(*args, SUITE_CREDENTIALS, "us-east-1", "service", SUITE_DATE)
        self.assertEqual(self.sign(*args), stdlib)


class SignedClientTest(unittest.TestCase):
    def test_an_iam_client_sends_requests_as_they_were_signed(self):
        """What arrives (method, path, query, headers, body) checks out against the signature,
        recomputed from the request as received: nothing was changed after signing."""
        env = {
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": SUITE_CREDENTIALS.secret_access_key,
        }
        with mock.patch.dict(os.environ, env), StubApi(lambda m, p, b: (200, {"sessions": []}, {})) as api:
            tessera = Tessera(api.url, token="ignored", iam_region="eu-west-1")
            list(tessera.sessions())
            tessera.create_session("s1", config={"max_attempts": 2})
        self.assertEqual([r[1].split("?")[0] for r in api.requests], ["/sessions", "/sessions"])
        for method, path, body, headers in api.requests:
            with self.subTest(path):
                self.assertNotIn("Bearer", headers["authorization"])
                amz_date = headers["x-amz-date"]
                now = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                    tzinfo=datetime.timezone.utc
                )
                signed = {k: headers[k] for k in ("accept", "content-type") if k in headers}
                expected = sign_request(
                    method, api.url + path, signed, body, SUITE_CREDENTIALS, "eu-west-1", "execute-api", now
                )
                self.assertEqual(headers["authorization"], expected["authorization"])


class CredentialsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.home = Path(self.dir.name)
        (self.home / ".aws").mkdir()

    def test_environment_first(self):
        (self.home / ".aws" / "credentials").write_text(
            "[default]\naws_access_key_id = FILE\naws_secret_access_key = s\n"
        )
        env = {
            "HOME": str(self.home),
            "AWS_ACCESS_KEY_ID": "ENV",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_SESSION_TOKEN": "t",
        }
        self.assertEqual(stdlib_credentials(env), Credentials("ENV", "x", "t"))

    def test_shared_credentials_file_for_aws_profile(self):
        (self.home / ".aws" / "credentials").write_text(
            "[default]\naws_access_key_id = D\naws_secret_access_key = d\n"
            "[prod]\naws_access_key_id = P\naws_secret_access_key = p\naws_session_token = tp\n"
        )
        self.assertEqual(stdlib_credentials({"HOME": str(self.home)}), Credentials("D", "d", None))
        self.assertEqual(
            stdlib_credentials({"HOME": str(self.home), "AWS_PROFILE": "prod"}), Credentials("P", "p", "tp")
        )

    def test_config_file_profile_section(self):
        (self.home / ".aws" / "config").write_text(
            "[profile dev]\naws_access_key_id = C\naws_secret_access_key = c\n"
        )
        self.assertEqual(
            stdlib_credentials({"HOME": str(self.home), "AWS_PROFILE": "dev"}), Credentials("C", "c", None)
        )

    def test_none_found_is_a_usage_error_naming_the_profile(self):
        with self.assertRaises(UsageError) as caught:
            stdlib_credentials({"HOME": str(self.home), "AWS_PROFILE": "nope"})
        self.assertIn("profile nope", str(caught.exception))

    def test_the_stdlib_signer_reads_them_at_the_first_request(self):
        with mock.patch.dict(os.environ, {"AWS_ACCESS_KEY_ID": "LAZY", "AWS_SECRET_ACCESS_KEY": "x"}):
            signer = sigv4_signer("us-east-1", use_botocore=False)
            headers = signer("GET", "https://example.amazonaws.com/", {}, b"")
        self.assertIn("Credential=LAZY/", headers["authorization"])


if __name__ == "__main__":
    unittest.main()
