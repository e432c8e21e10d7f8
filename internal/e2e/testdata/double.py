"""An exec algorithm for the fault test: reads its input, works a little,
prints a result that depends on the input."""

import json
import os
import time

with open(os.environ["CONVEYOR_INPUT"]) as f:
    n = json.load(f)["n"]
time.sleep(0.1)
print("OUTPUT: " + json.dumps({"n": n * 2}))
