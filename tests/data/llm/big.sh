#!/bin/sh
# A reply far larger than the extractor accepts.
cat >/dev/null
head -c 400000 /dev/zero | tr '\0' 'a'
