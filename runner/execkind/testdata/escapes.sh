# Starts three sleeps that a process-group kill misses or that outlive
# their parent: one in a session of its own (setsid), one double-forked
# into a session of its own (its parent exits at once, so it is an
# orphan), and one double-forked that stays in the group. Each holds
# nothing of the job's pipes. Then it either exits ($1 = exit) or waits to
# be stopped.
setsid sleep 301 </dev/null >/dev/null 2>&1 &
echo "LOG: pid $!"
(setsid sleep 302 </dev/null >/dev/null 2>&1 & echo "LOG: pid $!")
(sleep 303 </dev/null >/dev/null 2>&1 & echo "LOG: pid $!")
echo "LOG: ready"
if [ "$1" = exit ]; then
	echo 'OUTPUT: {}'
	exit 0
fi
exec sleep 300
