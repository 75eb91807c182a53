#!/usr/bin/env bash
# rclone, then the mirror invariant (mirror_check.py) after the call: what
# r2_sync_test.sh puts in RCLONE so that the mirror is checked between every
# two rclone calls of a sync. Environment:
#   CHECK_MIRROR      the mirror directory (or where to copy CHECK_MIRROR_REMOTE to)
#   CHECK_MIRROR_REMOTE  a mirror on S3 (remote:bucket): copied to CHECK_MIRROR
#                     after each call, then checked there
#   CHECK_FORBIDDEN   caches whose objects must never be in it (space-separated)
#   CHECK_LOG         one line per call: the call's number, subcommand, check result
#   CHECK_FAIL_CALL   the number of a call to fail (exit 1) instead of running it
set -uo pipefail
here=$(dirname "$0")
count_file=$CHECK_LOG.count
n=$(($(cat "$count_file" 2>/dev/null || echo 0) + 1))
echo "$n" >"$count_file"
if [[ ${CHECK_FAIL_CALL:-} == "$n" ]]; then
  echo "$n $1 injected-failure" >>"$CHECK_LOG"
  exit 1
fi
rclone "$@"
status=$?
if [[ -n ${CHECK_MIRROR_REMOTE:-} ]]; then
  rclone sync "$CHECK_MIRROR_REMOTE" "$CHECK_MIRROR" 2>>"$CHECK_LOG.err" ||
    echo "$n $1 VIOLATION: cannot copy $CHECK_MIRROR_REMOTE to check it" >>"$CHECK_LOG"
fi
# shellcheck disable=SC2086 # a list of cache names
if problems=$(python3 "$here/mirror_check.py" "$CHECK_MIRROR" ${CHECK_FORBIDDEN:-}); then
  echo "$n $1 ok" >>"$CHECK_LOG"
else
  echo "$n $1 VIOLATION: $problems" >>"$CHECK_LOG"
fi
exit $status
