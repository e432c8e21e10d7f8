"""An exec job that writes artifacts into $CONVEYOR_OUTPUT_DIR.

Input: {"size": bytes of data.bin, "fail_first": fail attempt 1 after
writing, "bad": write a subdirectory, "ref": name report.txt in the
output}.
"""
import json
import os
import sys

inp = json.load(open(os.environ["CONVEYOR_INPUT"]))
out = os.environ["CONVEYOR_OUTPUT_DIR"]
attempt = int(os.environ["CONVEYOR_ATTEMPT"])
with open(os.path.join(out, "report.txt"), "w") as f:
    f.write("attempt %d\n" % attempt)
if inp.get("fail_first") and attempt == 1:
    with open(os.path.join(out, "partial.txt"), "w") as f:
        f.write("half done\n")
    print("ERROR: flaky on the first attempt")
    sys.exit(1)
if inp.get("bad"):
    os.mkdir(os.path.join(out, "sub"))
size = int(inp.get("size", 0))
with open(os.path.join(out, "data.bin"), "wb") as f:
    block = bytes(range(256)) * 4096  # 1 MiB
    while size > 0:
        f.write(block[:size])
        size -= len(block)
output = {"ok": True}
if inp.get("ref"):
    output = {"report": {"$artifact": "report.txt"}}
print("OUTPUT: " + json.dumps(output))
