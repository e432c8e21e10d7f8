# An exec algorithm that reads the file its input references at /data
# ({"$file": id}, completed by the runner with the local copy's path).
import hashlib, json, os, stat

with open(os.environ["CONVEYOR_INPUT"]) as f:
    job = json.load(f)
ref = job["data"]
h = hashlib.sha256()
n = 0
with open(ref["path"], "rb") as f:
    for block in iter(lambda: f.read(1 << 16), b""):
        h.update(block)
        n += len(block)
mode = stat.S_IMODE(os.stat(ref["path"]).st_mode)
print("OUTPUT: " + json.dumps({"sha256": h.hexdigest(), "size": n, "ref": ref, "mode": oct(mode)}))
