#!/bin/sh
# Prints the file named by $1 as the model's reply, after reading the whole prompt.
cat >/dev/null
cat "$1"
