"""The package as pip builds it, through the standard-library backend in build_backend/: the
wheel holds every module and py.typed with a RECORD that matches, imports from where it is
unpacked, and the sdist carries what building again needs."""

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile
from pathlib import Path

import support  # noqa: F401 - the client under test: ../src

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build_backend"))
import tessera_build  # noqa: E402

import tessera  # noqa: E402


class BuildTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.out = Path(self.dir.name)

    def test_the_wheel_holds_every_module_and_a_matching_record(self):
        name = tessera_build.build_wheel(str(self.out))
        self.assertEqual(name, f"tessera_client-{tessera.__version__}-py3-none-any.whl")
        with zipfile.ZipFile(self.out / name) as wheel:
            names = set(wheel.namelist())
            modules = {f"tessera/{p.name}" for p in (ROOT / "src" / "tessera").iterdir() if p.suffix == ".py"}
            self.assertLessEqual(modules | {"tessera/py.typed"}, names)
            self.assertFalse([n for n in names if "__pycache__" in n or n.endswith(".pyc")])
            dist_info = f"tessera_client-{tessera.__version__}.dist-info"
            metadata = wheel.read(f"{dist_info}/METADATA").decode()
            self.assertIn("Name: tessera-client\n", metadata)
            self.assertIn("Requires-Python: >=3.9\n", metadata)
            record = wheel.read(f"{dist_info}/RECORD").decode().splitlines()
            self.assertEqual(len(record), len(names))
            for line in record:
                path, digest, size = line.rsplit(",", 2)
                if path.endswith("RECORD"):
                    continue
                data = wheel.read(path)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual((digest, int(size)), (f"sha256={expected}", len(data)), path)
            wheel.extractall(self.out / "site")
        check = "import tessera, sys; print(tessera.__file__); print(tessera.Tessera.__name__)"
        run = subprocess.run(
            [sys.executable, "-S", "-c", check],
            cwd=self.out,
            env={"PYTHONPATH": str(self.out / "site")},
            capture_output=True,
            text=True,
            check=True,
        )
        self.assertEqual(
            run.stdout.splitlines(), [str(self.out / "site" / "tessera" / "__init__.py"), "Tessera"]
        )

    def test_the_sdist_carries_the_sources_and_the_backend(self):
        name = tessera_build.build_sdist(str(self.out))
        with tarfile.open(self.out / name) as sdist:
            names = set(sdist.getnames())
        base = f"tessera_client-{tessera.__version__}"
        for path in (
            "PKG-INFO",
            "pyproject.toml",
            "build_backend/tessera_build.py",
            "src/tessera/__init__.py",
            "src/tessera/py.typed",
        ):
            self.assertIn(f"{base}/{path}", names)

    def test_the_editable_wheel_points_at_the_sources(self):
        name = tessera_build.build_editable(str(self.out))
        with zipfile.ZipFile(self.out / name) as wheel:
            self.assertEqual(wheel.read("tessera_client.pth").decode().strip(), str(ROOT / "src"))


if __name__ == "__main__":
    unittest.main()
