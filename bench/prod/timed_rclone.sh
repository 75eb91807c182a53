#!/usr/bin/env bash
# rclone, timed: what bench/prod_bench.sh puts in RCLONE for scripts/r2-sync.sh.
# Runs `rclone ARGS...` and appends "SUBCOMMAND SECONDS EXIT-STATUS" to the
# file $RCLONE_CALL_LOG (r2-sync passes RCLONE_FLAGS before the subcommand,
# so the subcommand is the first argument that names one).
set -uo pipefail
start=$(date +%s.%N)
rclone "$@"
status=$?
subcommand=unknown
for arg in "$@"; do
  case $arg in
    cat | lsf | lsjson | ls | copy | copyto | sync | delete | deletefile | purge | mkdir | check)
      subcommand=$arg
      break
      ;;
  esac
done
echo "$subcommand $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }') $status" >>"${RCLONE_CALL_LOG:?}"
exit $status
