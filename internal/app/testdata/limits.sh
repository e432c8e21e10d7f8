#!/bin/sh
# Exec algorithms for the user and rlimits tests, by $1.
case "$1" in
whoami)
	if [ -r "$CONVEYOR_INPUT" ]; then readable=true; else readable=false; fi
	echo "OUTPUT: {\"uid\": $(id -u), \"gid\": $(id -g), \"input_readable\": $readable}" ;;
spin)
	while :; do :; done ;;
esac
