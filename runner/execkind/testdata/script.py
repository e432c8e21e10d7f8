"""Test process for the exec kind, driven by its input (see run_test.go).

Input keys, all optional, acted on in this order:
  stderr: [lines]        printed on stderr
  stdout: [lines]        printed on stdout as they are
  long: {stream, bytes}  one line of that many bytes on "stdout" or "stderr"
  echo: true             OUTPUT: the input as read from CONVEYOR_INPUT and stdin
  env: true              OUTPUT: environment, cwd and temp file modes
  signal: n              kill itself with signal n
  exit: n                exit status (default 0)
"""
import json
import os
import stat
import sys

with open(os.environ["CONVEYOR_INPUT"]) as f:
    spec = json.load(f)
from_stdin = sys.stdin.read()

for line in spec.get("stderr", []):
    print(line, file=sys.stderr, flush=True)
for line in spec.get("stdout", []):
    print(line, flush=True)
if "long" in spec:
    out = sys.stdout if spec["long"]["stream"] == "stdout" else sys.stderr
    out.write("x" * spec["long"]["bytes"] + "\n")
    out.flush()
if spec.get("echo"):
    print("OUTPUT: " + json.dumps({"file": spec, "stdin": json.loads(from_stdin)}), flush=True)
if spec.get("env"):
    tmp = os.environ["CONVEYOR_TMPDIR"]
    print("OUTPUT: " + json.dumps({
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "dir_mode": stat.S_IMODE(os.stat(tmp).st_mode),
        "input_mode": stat.S_IMODE(os.stat(os.environ["CONVEYOR_INPUT"]).st_mode),
    }), flush=True)
if "signal" in spec:
    os.kill(os.getpid(), spec["signal"])
sys.exit(spec.get("exit", 0))
