"""A minimal PEP 517 build backend for the conveyor package, standard
library only: it builds a pure-Python wheel of conveyor/*.py (and an
sdist), so that installing the SDK needs nothing from a package index.
Editable installs (PEP 660) add the source directory to sys.path."""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME, DIST, VERSION = "conveyor-sdk", "conveyor_sdk", "0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))
TAG = "py3-none-any"


def _metadata():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: Conveyor's Python SDK\n"
            "Requires-Python: >=3.9\nDescription-Content-Type: text/markdown\n\n%s" % (NAME, VERSION, readme))


def _sources():
    pkg = os.path.join(HERE, "conveyor")
    return sorted("conveyor/" + n for n in os.listdir(pkg) if n.endswith(".py"))


def _wheel(directory, files):
    """Write a wheel holding files ({archive name: bytes}) and return its name."""
    info = "%s-%s.dist-info" % (DIST, VERSION)
    files = dict(files)
    files[info + "/METADATA"] = _metadata().encode()
    files[info + "/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: conveyor _build\nRoot-Is-Purelib: true\nTag: %s\n" % TAG).encode()
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append(info + "/RECORD,,")
    files[info + "/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = "%s-%s-%s.whl" % (DIST, VERSION, TAG)
    with zipfile.ZipFile(os.path.join(directory, wheel), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return wheel


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_sdist = get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {}
    for name in _sources():
        with open(os.path.join(HERE, name), "rb") as f:
            files[name] = f.read()
    return _wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"conveyor_sdk.pth": (HERE + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (DIST, VERSION)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build.py"] + _sources():
            tar.add(os.path.join(HERE, rel), arcname=base + "/" + rel)
        data = _metadata().encode()
        ti = tarfile.TarInfo(base + "/PKG-INFO")
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))
    return name
