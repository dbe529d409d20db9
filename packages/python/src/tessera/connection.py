"""Where the client finds its grid, exactly as the ``tessera`` CLI does (profile.ts): arguments,
then the environment (TESSERA_URL, TESSERA_TOKEN, TESSERA_IAM_REGION, TESSERA_PROFILE), then a
profile file (``$TESSERA_CONFIG``, else ``$XDG_CONFIG_HOME/tessera/config.json``, else
``~/.config/tessera/config.json``)::

    {"profiles": {"default": {"endpoint": "https://...", "token": "..."}}}

A profile with ``iamRegion`` instead of a token signs requests with AWS credentials (SigV4).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .errors import UsageError


class Connection(NamedTuple):
    """A resolved connection: the API's URL and either a bearer token or a region to sign for."""

    endpoint: str
    token: str | None
    iam_region: str | None


def profile_path(env: Mapping[str, str] | None = None) -> Path:
    """The profile file's path."""
    env = os.environ if env is None else env
    if env.get("TESSERA_CONFIG"):
        return Path(env["TESSERA_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tessera" / "config.json"


def resolve_connection(
    endpoint: str | None = None,
    token: str | None = None,
    profile: str | None = None,
    iam_region: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Connection:
    """Resolves the connection from arguments, environment and the profile file; a UsageError
    says what is missing. With a region to sign for, any token is dropped (as the CLI does)."""
    env = os.environ if env is None else env
    name = profile or env.get("TESSERA_PROFILE") or "default"
    path = profile_path(env)
    entry: dict[str, Any] = {}
    if path.exists():
        try:
            parsed = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise UsageError(f"{path}: not valid JSON ({error})") from None
        profiles = parsed.get("profiles") if isinstance(parsed, dict) else None
        profiles = profiles if isinstance(profiles, dict) else {}
        if profile and name not in profiles:
            raise UsageError(f'no profile "{name}" in {path}')
        found = profiles.get(name)
        entry = found if isinstance(found, dict) else {}
    elif profile:
        raise UsageError(f"no profile file at {path} (for profile {profile})")
    url = endpoint or env.get("TESSERA_URL") or entry.get("endpoint")
    bearer = token or env.get("TESSERA_TOKEN") or entry.get("token")
    region = iam_region or env.get("TESSERA_IAM_REGION") or entry.get("iamRegion")
    if not url:
        raise UsageError(
            "no grid: pass endpoint=, set TESSERA_URL, or add a profile (`tessera profile --help`)"
        )
    if not bearer and not region:
        raise UsageError(
            "no credentials: pass token= (or set TESSERA_TOKEN), "
            "or iam_region= to sign with your AWS credentials"
        )
    return Connection(url, None if region else bearer, region or None)
