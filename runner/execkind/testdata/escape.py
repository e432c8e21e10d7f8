"""Succeeds but leaves a process in a new session (out of the process
group's reach) holding stdout and stderr open."""
import os
import sys
import time

pid = os.fork()
if pid == 0:
    os.setsid()
    time.sleep(300)
    os._exit(0)
print("OUTPUT: {\"pid\": %d}" % pid, flush=True)
