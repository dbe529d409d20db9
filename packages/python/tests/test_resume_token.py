"""Resume tokens: the fixtures are what the TypeScript SDK's encoder (resume-token.ts) wrote for
the same points, so a token from either SDK resumes a stream in the other."""

import unittest

import support  # noqa: F401 - the client under test: ../src

from tessera import TesseraError, decode_resume_token, encode_resume_token

# (API cursor, skipped indexes, the TypeScript encoder's token), from a one-off `node -e`.
TS_TOKENS = [
    (None, [], None),
    ("AwGq_-9", [], "AwGq_-9"),
    (None, [0, 1, 2], "tr1.AwABAQ."),
    ("AwGq", [7], "tr1.AQc.AwGq"),
    ("c", [999_999_999_999, 5, 4_096, 6, 0, 2**31 + 3], "tr1.BgAFAfofg-D__wf8n5SlhR0.c"),
    (
        "eyJ2IjoxfQ",
        [i * 3 for i in range(40)],
        "tr1.KAADAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM.eyJ2IjoxfQ",
    ),
    ("x", [127, 128, 16383, 16384], "tr1.BH8B_34B.x"),
]

# Tokens the TypeScript decoder refuses, with the reason it gives.
TS_REJECTED = [
    ("tr1.AYCglKWNHQ.c", "index out of range"),
    ("tr1.AgEA.c", "repeated index"),
    ("tr1.AA.c", "bad index count"),
    ("tr1.Ag.c", "bad index count"),
    ("tr1.AYCAgICAgICAAQ.c", "too large"),
    ("tr2.AQc.c", "unknown version"),
    ("tr1.AQc", "no API cursor part"),
    ("tr1.A*c.c", "not base64url"),
    ("tr1.AQcA.c", "trailing bytes"),
]


class ResumeTokenTest(unittest.TestCase):
    def test_encodes_as_the_typescript_sdk_does(self):
        for cursor, skip, token in TS_TOKENS:
            with self.subTest(token=token):
                self.assertEqual(encode_resume_token(cursor, set(skip)), token)

    def test_decodes_typescript_tokens_back_to_their_point(self):
        for cursor, skip, token in TS_TOKENS:
            with self.subTest(token=token):
                point = decode_resume_token(token)
                self.assertEqual(point.api_cursor, cursor)
                self.assertEqual(point.skip, frozenset(skip))

    def test_takes_a_raw_api_cursor_as_it_is(self):
        point = decode_resume_token("eyJ2IjoxfQ")
        self.assertEqual((point.api_cursor, point.skip), ("eyJ2IjoxfQ", frozenset()))

    def test_rejects_what_the_typescript_decoder_rejects_naming_the_option(self):
        for token, why in TS_REJECTED:
            with self.subTest(token=token):
                with self.assertRaises(TesseraError) as caught:
                    decode_resume_token(token)
                self.assertEqual(
                    (caught.exception.code, caught.exception.field), ("BAD_CURSOR", "resume_from")
                )
                self.assertIn(why, str(caught.exception))

    def test_dense_indexes_take_about_a_byte_each(self):
        token = encode_resume_token("c", set(range(999)))
        self.assertLess(len(token), 1_400)
        self.assertEqual(decode_resume_token(token).skip, frozenset(range(999)))


if __name__ == "__main__":
    unittest.main()
