#!/bin/sh
# Answers with the good reply only when the recursion guard is set and the prompt on stdin
# carries the event ($2 must appear in it); otherwise exits 3 with the reason on stderr.
prompt=$(cat)
if [ "${MNEMO_INTERNAL-}" != "1" ]; then
    echo "MNEMO_INTERNAL is '${MNEMO_INTERNAL-unset}'" >&2
    exit 3
fi
case "$prompt" in
*"$2"*) ;;
*) echo "the prompt lacks the event" >&2; exit 3 ;;
esac
cat "$1"
