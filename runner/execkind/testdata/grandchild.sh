# Leaves a grandchild that ignores SIGTERM, then waits to be stopped.
(trap '' TERM; exec sleep 300) &
echo "LOG: pid $!"
echo "LOG: tmp $CONVEYOR_TMPDIR"
echo "LOG: ready"
exec sleep 300
