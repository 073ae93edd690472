#!/bin/sh
# A model that ignores the format.
cat >/dev/null
echo "Sure! Here is what I found: the pager was fixed."
