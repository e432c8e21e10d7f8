# Starts the worker the first time; every later start fails at once.
# Each start appends a line with its time (ms) to $STARTS.
date +%s%3N >> "$STARTS"
if [ -e "$MARKER" ]; then
  echo "cannot start again: $MARKER exists" >&2
  exit 7
fi
touch "$MARKER"
exec "$PYTHON" -m conveyor.worker algos
