"""Request signing for grids whose API authenticates with IAM (AWS Signature Version 4).

With botocore installed (``pip install tessera-client[iam]``, or any environment with boto3),
requests are signed by botocore's SigV4 signer with botocore's full credential chain
(environment, shared files, SSO, web identity, container and instance roles), refreshed as
they expire. Without it, a standard-library signer takes static credentials from the
environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or the shared
credentials and config files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_PROFILE).
"""

from __future__ import annotations

import configparser
import datetime
import hashlib
import hmac
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Callable, NamedTuple, Union

from .errors import UsageError
from .transport import RequestSigner


class Credentials(NamedTuple):
    """Static AWS credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


CredentialsSource = Union[Credentials, Callable[[], Credentials]]

# Headers a proxy or the HTTP library may change on the way: never signed (as botocore does).
_UNSIGNED = {"user-agent", "expect", "x-amzn-trace-id"}
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def botocore_available() -> bool:
    """True when botocore can be imported (its signer and credential chain are then used)."""
    try:
        import botocore.auth  # noqa: F401
    except ImportError:
        return False
    return True


def sigv4_signer(
    region: str,
    credentials: CredentialsSource | None = None,
    service: str = "execute-api",
    use_botocore: bool | None = None,
) -> RequestSigner:
    """A request signer for an IAM grid in ``region`` (API Gateway's ``execute-api`` by default).

    ``credentials``: static ones or a function returning them; by default botocore's chain, or
    without botocore the environment and shared files. ``use_botocore``: None picks botocore
    when it is installed.
    """
    if use_botocore is None:
        use_botocore = botocore_available()
    if use_botocore:
        return _botocore_signer(region, credentials, service)
    source = credentials if credentials is not None else _cached(stdlib_credentials)

    def sign(method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        creds = source() if callable(source) else source
        return sign_request(method, url, headers, body, creds, region, service, _utcnow())

    return sign


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime.datetime,
) -> dict[str, str]:
    """The headers SigV4 adds to a request (x-amz-date, authorization, x-amz-security-token)
    signed at ``now`` (UTC). The payload hash is signed but not sent (API Gateway needs no
    x-amz-content-sha256 header, as the TypeScript SDK's signer)."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    added = {"x-amz-date": amz_date}
    if credentials.session_token:
        added["x-amz-security-token"] = credentials.session_token
    host = parts.hostname or ""
    if parts.port and str(parts.port) != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    signed: dict[str, str] = {"host": host}
    for name, value in list(headers.items()) + list(added.items()):
        if name.lower() not in _UNSIGNED:
            signed[name.lower()] = " ".join(str(value).split())
    names = sorted(signed)
    query = sorted(
        (_quote(k), _quote(v)) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    )
    canonical = "\n".join(
        [
            method.upper(),
            # The path as sent is already percent-encoded; SigV4 (outside S3) encodes it again.
            urllib.parse.quote(parts.path or "/", safe="/~"),
            "&".join(f"{k}={v}" for k, v in query),
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + credentials.secret_access_key).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    added["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return added


def stdlib_credentials(env: Mapping[str, str] | None = None) -> Credentials:
    """Static credentials from the environment, else the shared credentials file, else the
    shared config file, for AWS_PROFILE (or "default"); a UsageError when there are none."""
    env = os.environ if env is None else env
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return Credentials(
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN") or None
        )
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    home = Path(env.get("HOME") or Path.home())
    files = [
        (Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"), profile),
        (
            Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config"),
            profile if profile == "default" else f"profile {profile}",
        ),
    ]
    for path, section in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as error:
            raise UsageError(f"{path}: cannot be read ({error})") from None
        if parser.has_option(section, "aws_access_key_id") and parser.has_option(
            section, "aws_secret_access_key"
        ):
            token = parser.get(section, "aws_session_token", fallback=None)
            return Credentials(
                parser.get(section, "aws_access_key_id"),
                parser.get(section, "aws_secret_access_key"),
                token or None,
            )
    raise UsageError(
        f"no AWS credentials for profile {profile}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "add them to ~/.aws/credentials, or install botocore (pip install tessera-client[iam]) "
        "for SSO and roles"
    )


def _botocore_signer(region: str, credentials: CredentialsSource | None, service: str) -> RequestSigner:
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    if credentials is None:
        chain = botocore.session.Session().get_credentials()
        if chain is None:
            raise UsageError(
                "no AWS credentials found by botocore (environment, ~/.aws, SSO or an instance role)"
            )

        def current() -> Credentials:
            # Refreshable credentials (roles, SSO): frozen per request, renewed before they expire.
            frozen = chain.get_frozen_credentials()
            return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

        source: CredentialsSource = current
    else:
        source = credentials

    def sign(method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        c = source() if callable(source) else source
        boto = BotoCredentials(c.access_key_id, c.secret_access_key, c.session_token)
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(boto, service, region).add_auth(request)
        given = {name.lower() for name in headers}
        return {name.lower(): value for name, value in request.headers.items() if name.lower() not in given}

    return sign


def _cached(load: Callable[[], Credentials]) -> Callable[[], Credentials]:
    """Loads static credentials once, at the first request (not when the client is made)."""
    found: list[Credentials] = []

    def get() -> Credentials:
        if not found:
            found.append(load())
        return found[0]

    return get


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
