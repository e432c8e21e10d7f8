# An exec algorithm: counts words. Reads its input from CONVEYOR_INPUT.
import json, os, sys

with open(os.environ["CONVEYOR_INPUT"]) as f:
    job = json.load(f)
print("LOG: counting words")
print("PROGRESS: 50 halfway")
print("a plain line", flush=True)
print("to stderr", file=sys.stderr, flush=True)
if job.get("fail"):
    print("ERROR: asked to fail")
    sys.exit(1)
words = job["text"].split()
print("OUTPUT: " + json.dumps({"words": len(words)}))
