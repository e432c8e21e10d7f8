# Ignores SIGTERM: only SIGKILL stops it.
trap '' TERM
echo "LOG: tmp $CONVEYOR_TMPDIR"
echo "LOG: ready"
exec sleep 300
