"""Files: a job's input may reference an uploaded file as {"$file": id}."""

import os
import re

__all__ = ["File"]

FILE_KEY = "$file"
# What an uploaded file's id looks like (a ULID): anything else given as a
# File's first argument is a local path.
_FILE_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


class File(os.PathLike):
    """An uploaded file that a job's input references ({"$file": "<id>"}).

    Annotate a handler's parameter with it::

        def run_train(data: conveyor.File, epochs: int = 3) -> dict:
            with data.open() as f:          # or open(data), data.path
                ...

    The input schema then takes a reference object, and before the job
    runs the runner copies the file to a local read-only file, removed
    after the job: ``path`` is where, ``size`` its length in bytes,
    ``sha256`` its digest (hex) and ``content_type`` what it was uploaded
    as. A File is also an ``os.PathLike``. Put in a client's input, or
    returned from a handler, it is written as the reference
    ``{"$file": id}``.

    ``File(path)`` of a local path (anything that is not a file id) is a
    file a handler made: returned (alone or inside its output), it becomes
    an artifact of the job, named as the file (see ``Job.artifact``).
    """

    __slots__ = ("id", "path", "size", "sha256", "content_type", "name")

    def __init__(self, id=None, path=None, size=None, sha256=None, content_type=None):
        if path is None and id is not None and (isinstance(id, os.PathLike) or not _FILE_ID.fullmatch(id)):
            # File("out/model.bin"): a local file, as a handler returns one.
            id, path = None, os.fspath(id)
        self.name = None  # of an artifact (a file a job wrote): its name
        self.id = id
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.content_type = content_type

    @classmethod
    def from_ref(cls, ref):
        """Return the File of a reference object as the runner completes it."""
        size = ref.get("size")
        path = ref.get("path")
        if size is None and path:
            size = os.path.getsize(path)
        f = cls.__new__(cls)  # the id is an id, whatever it looks like
        f.id, f.path, f.size, f.sha256, f.content_type = ref.get(FILE_KEY), path, size, ref.get("sha256"), ref.get("content_type")
        f.name = ref.get("name")
        return f

    def open(self, mode="rb", **kwargs):
        """Open the local copy for reading (mode "rb" or "r")."""
        if not self.path:
            raise FileNotFoundError("file %s has no local copy (not given by a runner)" % self.id)
        if any(c in mode for c in "wax+"):
            raise ValueError("the local copy of an input file is read-only")
        return open(self.path, mode, **kwargs)

    def ref(self):
        """Return the reference object {"$file": id}."""
        return {FILE_KEY: self.id}

    def __fspath__(self):
        if not self.path:
            raise FileNotFoundError("file %s has no local copy (not given by a runner)" % self.id)
        return self.path

    def __eq__(self, other):
        return isinstance(other, File) and (self.id, self.path) == (other.id, other.path)

    def __hash__(self):
        return hash((self.id, self.path))

    def __repr__(self):
        return "conveyor.File(id=%r, path=%r, size=%r)" % (self.id, self.path, self.size)


def file_schema():
    """Return the JSON Schema of a file reference."""
    return {
        "type": "object",
        "description": "An uploaded file (POST /v1/files), referenced by its id",
        "properties": {FILE_KEY: {"type": "string", "description": "the id of the uploaded file"}},
        "required": [FILE_KEY],
    }
