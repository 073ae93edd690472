#!/bin/sh
# Never answers: a background child and the script itself sleep far past any timeout. $1
# receives the background child's pid, so the test can check the whole group was killed.
sleep 30 &
echo $! >"$1"
cat >/dev/null
sleep 30
