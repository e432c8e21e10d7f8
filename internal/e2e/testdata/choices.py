"""An exec algorithm for the dashboard's browser test: its input schema
has defaults of every kind (a choice among strings, one among integers, a
boolean, a number, a string), and it logs one very long line before
echoing its input."""

import json
import os

with open(os.environ["CONVEYOR_INPUT"]) as f:
    given = json.load(f)
print("long:" + "x" * 3000)
print("OUTPUT: " + json.dumps(given))
