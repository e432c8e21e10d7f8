"""Artifacts: the files a job writes, kept with it in the object store.

A handler writes one with ``job.artifact("name")`` (a file open for
writing), or returns ``bytes`` (the artifact ``output``) or
``conveyor.File(path)`` (a local file, the artifact named as it). The
runner stores them once the job succeeds; the job lists them and
``GET /v1/jobs/{id}/artifacts/{name}`` downloads one.
"""

import os
import shutil

from .files import File

__all__ = ["ARTIFACT_KEY", "valid_artifact_name", "store_outputs", "artifact_schema"]

ARTIFACT_KEY = "$artifact"
MAX_NAME = 200  # bytes, as the runner's conveyor.MaxArtifactName


def valid_artifact_name(name):
    """Raise ValueError saying what is wrong with name as an artifact's
    name: a file name, not a path — not empty, at most 200 bytes of
    UTF-8, without "/", "\\\\" or "..", without control characters."""
    if not isinstance(name, str) or not name:
        raise ValueError("an artifact needs a name (a non-empty str)")
    why = None
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME:
        why = "longer than %d bytes" % MAX_NAME
    elif "/" in name or "\\" in name:
        why = "a name, not a path: no / or \\"
    elif name == "." or ".." in name:
        why = '"." and ".." are not names'
    elif any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        why = "no control characters"
    if why:
        raise ValueError("artifact name %r: %s" % (name, why))


def artifact_path(output_dir, name):
    """Return where the artifact name of a job goes, checking the name.
    Raises RuntimeError when the runner gave the job no directory."""
    valid_artifact_name(name)
    if not output_dir:
        raise RuntimeError("this job has no artifact directory: the runner is older than artifacts, "
                           "or the handler runs outside a runner")
    return os.path.join(output_dir, name)


def store_outputs(value, job):
    """Return a handler's output with what becomes an artifact of job
    replaced by its reference {"$artifact": name}: bytes returned as the
    whole output (the artifact "output"), and every conveyor.File that
    names a local file rather than an uploaded one (copied into the job's
    artifact directory, named as the file)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        with job.artifact("output") as f:
            f.write(value)
        return {ARTIFACT_KEY: "output"}
    return _local_files(value, job)


def _local_files(value, job):
    if isinstance(value, File):
        if value.id is not None or not value.path:
            return value
        name = os.path.basename(os.fspath(value.path))
        dest = artifact_path(job.output_dir, name)
        if os.path.abspath(value.path) != os.path.abspath(dest):
            try:
                os.link(value.path, dest)  # no copy when on the same file system
            except OSError:
                shutil.copyfile(value.path, dest)
        return {ARTIFACT_KEY: name}
    if isinstance(value, dict):
        return {k: _local_files(v, job) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_local_files(v, job) for v in value]
    return value


def artifact_schema():
    """Return the JSON Schema of an output that is an artifact: the file
    reference the runner makes of it."""
    return {
        "type": "object",
        "description": "An artifact of the job (GET /v1/jobs/{id}/artifacts/{name}), as a file reference",
        "properties": {
            "$file": {"type": "string", "description": "the id of the stored file"},
            "name": {"type": "string", "description": "the artifact's name"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "content_type": {"type": "string"},
        },
        "required": ["$file", "name"],
    }
