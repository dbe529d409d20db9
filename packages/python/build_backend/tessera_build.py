"""A PEP 517 build backend in the standard library, for the Tessera Python client.

Why not setuptools: offline, the setuptools a fresh venv brings (65.x) cannot build a wheel
without the separate ``wheel`` package, and nothing can be downloaded. This backend packs the
pure-Python ``src/tessera`` tree into a wheel (and an sdist) itself, so ``pip install`` works
anywhere Python does. It holds the package metadata too: parsing pyproject.toml would need
``tomllib``, which Python 3.9 and 3.10 lack.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NAME = "tessera_client"
DIST_NAME = "tessera-client"
SUMMARY = "Python client of Tessera, a serverless task grid for AWS: submit tasks, stream their results."
REQUIRES_PYTHON = ">=3.9"
# SigV4 through botocore's signer and its full credential chain (SSO, instance roles, ...).
EXTRAS = {"iam": ["botocore>=1.29"]}
SDIST_FILES = ("pyproject.toml", "README.md")


def _version() -> str:
    text = (ROOT / "src" / "tessera" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not match:
        raise RuntimeError("src/tessera/__init__.py: no __version__ line")
    return match.group(1)


def _metadata() -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DIST_NAME}",
        f"Version: {_version()}",
        f"Summary: {SUMMARY}",
        f"Requires-Python: {REQUIRES_PYTHON}",
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Typing :: Typed",
    ]
    for extra, requirements in EXTRAS.items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
    readme = ROOT / "README.md"
    if readme.exists():
        lines.append("Description-Content-Type: text/markdown")
        return "\n".join(lines) + "\n\n" + readme.read_text(encoding="utf-8")
    return "\n".join(lines) + "\n"


def _package_files() -> list[tuple[str, Path]]:
    """The files of the import package, as (path in the wheel, path on disk)."""
    src = ROOT / "src"
    files = []
    for path in sorted((src / "tessera").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append((path.relative_to(src).as_posix(), path))
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(directory: str, entries: list[tuple[str, bytes]]) -> str:
    dist_info = f"{NAME}-{_version()}.dist-info"
    entries = entries + [
        (f"{dist_info}/METADATA", _metadata().encode()),
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: tessera_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
    ]
    record = [_record_line(name, data) for name, data in entries] + [f"{dist_info}/RECORD,,"]
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    filename = f"{NAME}-{_version()}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries:
            # A fixed date: the same sources give the same wheel.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data, zipfile.ZIP_DEFLATED)
    return filename


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """PEP 517: a pure-Python wheel of ``src/tessera``."""
    return _write_wheel(wheel_directory, [(name, path.read_bytes()) for name, path in _package_files()])


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """PEP 660: a wheel whose .pth file puts ``src`` on the path (edits take effect at once)."""
    return _write_wheel(wheel_directory, [(f"{NAME}.pth", (str(ROOT / "src") + "\n").encode())])


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    """PEP 517: the sources, with this backend, as a .tar.gz."""
    base = f"{NAME}-{_version()}"
    files = [(f"src/{name}", path) for name, path in _package_files()]
    files += [(f"build_backend/{Path(__file__).name}", Path(__file__))]
    files += [(name, ROOT / name) for name in SDIST_FILES if (ROOT / name).exists()]
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as sdist:
        for name, data in [(f"{base}/PKG-INFO", _metadata().encode())] + [
            (f"{base}/{n}", p.read_bytes()) for n, p in files
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            sdist.addfile(info, io.BytesIO(data))
    return filename


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    """Nothing: the backend is the standard library."""
    return []


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel
