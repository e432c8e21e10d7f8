# The same no-op function, run by the exec kind: one process per job.
from noop import run_noop

print("OUTPUT:", run_noop() or "null")
