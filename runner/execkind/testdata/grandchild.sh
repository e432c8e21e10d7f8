# Leaves a grandchild that ignores SIGTERM, then waits to be stopped.
# "ready" comes from the grandchild once it ignores SIGTERM.
(trap '' TERM; echo "LOG: ready"; exec sleep 300) &
echo "LOG: pid $!"
echo "LOG: tmp $CONVEYOR_TMPDIR"
exec sleep 300
