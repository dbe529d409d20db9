"""Connection resolution, as the CLI's profile.ts does it: arguments, then environment, then the
profile file (TESSERA_CONFIG, XDG_CONFIG_HOME or ~/.config)."""

import json
import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401 - the client under test: ../src

from tessera import Tessera, UsageError, profile_path, resolve_connection


class ConnectionTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.config = Path(self.dir.name) / "config.json"
        self.config.write_text(
            json.dumps(
                {
                    "profiles": {
                        "default": {"endpoint": "http://profile-default", "token": "t-default"},
                        "prod": {"endpoint": "https://prod", "iamRegion": "eu-west-1"},
                    }
                }
            )
        )
        self.env = {"TESSERA_CONFIG": str(self.config)}

    def test_arguments_win_over_environment_and_environment_over_the_profile(self):
        env = {**self.env, "TESSERA_URL": "http://env", "TESSERA_TOKEN": "t-env"}
        self.assertEqual(resolve_connection("http://arg", "t-arg", env=env), ("http://arg", "t-arg", None))
        self.assertEqual(resolve_connection(env=env), ("http://env", "t-env", None))
        self.assertEqual(resolve_connection(env=self.env), ("http://profile-default", "t-default", None))
        self.assertEqual(
            resolve_connection(token="t-arg", env=self.env), ("http://profile-default", "t-arg", None)
        )

    def test_a_named_profile_from_the_argument_or_tessera_profile(self):
        prod = ("https://prod", None, "eu-west-1")
        self.assertEqual(resolve_connection(profile="prod", env=self.env), prod)
        self.assertEqual(resolve_connection(env={**self.env, "TESSERA_PROFILE": "prod"}), prod)

    def test_an_iam_region_drops_the_token(self):
        env = {**self.env, "TESSERA_IAM_REGION": "us-east-2"}
        self.assertEqual(resolve_connection(env=env), ("http://profile-default", None, "us-east-2"))

    def test_what_is_missing_or_wrong_is_a_usage_error_saying_so(self):
        cases = [
            ({"profile": "nope"}, self.env, 'no profile "nope" in'),
            ({"profile": "x"}, {"TESSERA_CONFIG": str(self.config) + ".absent"}, "no profile file at"),
            ({}, {"TESSERA_CONFIG": str(self.config) + ".absent"}, "no grid: pass endpoint="),
            ({"endpoint": "http://e"}, {"TESSERA_CONFIG": str(self.config) + ".absent"}, "no credentials"),
        ]
        for args, env, message in cases:
            with self.subTest(message):
                with self.assertRaises(UsageError) as caught:
                    resolve_connection(env=env, **args)
                self.assertIn(message, str(caught.exception))
        self.config.write_text("{not json")
        with self.assertRaisesRegex(UsageError, "not valid JSON"):
            resolve_connection(env=self.env)

    def test_profile_file_path_as_the_cli_finds_it(self):
        self.assertEqual(
            profile_path({"TESSERA_CONFIG": "/x/c.json", "XDG_CONFIG_HOME": "/y"}), Path("/x/c.json")
        )
        self.assertEqual(profile_path({"XDG_CONFIG_HOME": "/y"}), Path("/y/tessera/config.json"))
        self.assertEqual(profile_path({}), Path.home() / ".config" / "tessera" / "config.json")

    def test_the_client_reads_the_environment(self):
        with mock.patch.dict(os.environ, {**self.env, "TESSERA_URL": "http://127.0.0.1:9/"}, clear=False):
            self.assertEqual(Tessera().endpoint, "http://127.0.0.1:9/")
        with self.assertRaisesRegex(ValueError, "endpoint: .* is not an http"):
            Tessera("ftp://x", "t")


if __name__ == "__main__":
    unittest.main()
