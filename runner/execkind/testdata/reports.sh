# Exercises every kind of stdout line, and stderr.
echo "PROGRESS: 12.5 loading"
echo "LOG: hello log"
echo "just a line"
echo "PROGRESS: 250 too far"
echo "oops" >&2
echo "PROGRESS: 100"
echo 'OUTPUT: {"ok": true}'
