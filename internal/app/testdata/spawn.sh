#!/bin/sh
# An exec algorithm that starts a grandchild and waits: for the cancel test.
sleep 300 &
echo "LOG: grandchild $!"
echo "PROGRESS: 10 waiting"
wait
