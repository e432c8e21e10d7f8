# Starts four sleeps that outlive their parent or leave its process group:
# one in a session of its own (setsid), one double-forked into a session
# of its own, one double-forked in the group, one a plain background
# child. Writes their pids to the file $PIDS (all at once), then runs its
# arguments (a worker, say) or waits.
setsid sleep 301 </dev/null >/dev/null 2>&1 &
a=$!
b=$(setsid sleep 302 </dev/null >/dev/null 2>&1 & echo $!)
c=$(sleep 303 </dev/null >/dev/null 2>&1 & echo $!)
sleep 304 </dev/null >/dev/null 2>&1 &
d=$!
echo "$a $b $c $d" >"$PIDS.tmp"
mv "$PIDS.tmp" "$PIDS"
if [ $# -gt 0 ]; then
	exec "$@"
fi
exec sleep 300
