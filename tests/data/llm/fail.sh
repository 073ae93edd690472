#!/bin/sh
# A command that fails: a message on stderr and exit status 1.
cat >/dev/null
echo "llm-test: model overloaded, try later" >&2
exit 1
