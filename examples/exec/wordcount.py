# wordcount: an exec algorithm. Conveyor runs this script once per job.
# The input JSON is in the file named by $CONVEYOR_INPUT (and on stdin);
# lines starting with PROGRESS:, LOG:, OUTPUT: or ERROR: talk to Conveyor;
# anything else printed becomes a log line of the job.
import json, os

job = json.load(open(os.environ["CONVEYOR_INPUT"]))
print("PROGRESS: 50 counting")
words = job["text"].split()
print("LOG: counted", len(words), "words")
print("OUTPUT:", json.dumps({"words": len(words), "longest": max(words, key=len, default="")}))
