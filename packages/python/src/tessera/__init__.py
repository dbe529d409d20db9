"""Tessera's Python client: create sessions on a Tessera grid, submit tasks from any iterable,
stream their results (resumable), wait, cancel. Standard library only; botocore, when
installed, signs requests for IAM grids.

    from tessera import Tessera

    with Tessera() as tessera:  # TESSERA_URL and TESSERA_TOKEN, or the CLI's profile
        with tessera.create_session("squares") as session:  # closed on exit
            session.submit(({"n": n} for n in range(10_000)), handler="echo")
        for result in session.results():
            print(result.index, result.output)
"""

from .client import Tessera
from .connection import Connection, profile_path, resolve_connection
from .errors import TesseraError, UsageError
from .results import ResultStream, TaskError, TaskResult
from .resume_token import ResumePoint, decode_resume_token, encode_resume_token
from .session import INLINE_PAYLOAD_BYTES, Session, SubmitSummary
from .sigv4 import Credentials, sigv4_signer
from .transport import HttpClient, RequestSigner

__version__ = "0.1.0"

__all__ = [
    "INLINE_PAYLOAD_BYTES",
    "Connection",
    "Credentials",
    "HttpClient",
    "RequestSigner",
    "ResultStream",
    "ResumePoint",
    "Session",
    "SubmitSummary",
    "TaskError",
    "TaskResult",
    "Tessera",
    "TesseraError",
    "UsageError",
    "decode_resume_token",
    "encode_resume_token",
    "profile_path",
    "resolve_connection",
    "sigv4_signer",
]
