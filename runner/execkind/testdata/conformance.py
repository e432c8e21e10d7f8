# The runnertest conformance behaviours as one exec script: argv[1] names
# the behaviour, the input is on stdin.
import json, sys, time

behaviour = sys.argv[1]
job = json.load(sys.stdin)
if behaviour == "echo":
    print("OUTPUT: " + json.dumps(job))
elif behaviour == "fail":
    print("ERROR: " + job["message"])
elif behaviour == "fail_permanently":
    print("FATAL: " + job["message"])
elif behaviour == "report":
    print("PROGRESS: 50 half")
    print("LOG: hello from the job")
    print('OUTPUT: {"ok": true}')
elif behaviour == "block":
    print("PROGRESS: 1 blocking", flush=True)
    while True:
        time.sleep(60)
