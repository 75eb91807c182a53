#!/usr/bin/env bash
# A real S3 server for tests: Ceph's RADOS Gateway over one monitor and one
# memstore OSD, all on 127.0.0.1, all state in one directory. As root.
#
#   tests/lib/rgw.sh start DIR   starts it in DIR (created; must not hold a
#                                running cluster), makes an S3 user and a
#                                bucket, writes DIR/env and prints it
#   tests/lib/rgw.sh stop DIR    stops radosgw, then the OSD, then the monitor
#                                (all at once can hang radosgw), removes DIR
#   tests/lib/rgw.sh stop-gateway DIR   stops radosgw only (SIGKILL, an outage
#                                of the S3 endpoint); the monitor, the OSD and
#                                the stored objects stay
#   tests/lib/rgw.sh start-gateway DIR  starts radosgw again on the same port,
#                                with the same users and keys, and waits until
#                                it answers S3 requests
#
# DIR/env holds shell assignments (source it, or read it line by line):
#   RGW_ENDPOINT=http://127.0.0.1:PORT  RGW_REGION=us-east-1  RGW_BUCKET=...
#   RGW_ACCESS_KEY=...  RGW_SECRET_KEY=...  RGW_DIR=DIR
#   RGW_OTHER_ACCESS_KEY=...  RGW_OTHER_SECRET_KEY=...  (a user with no access)
# The keys are fixed test values: the gateway listens on 127.0.0.1 only.
# RGW_MEMSTORE_BYTES sets the OSD's memstore size (default 1 GiB, RAM taken
# only as objects are written; the benchmarks need more).
#
# Why the settings below (docs/testing.md has the measured figures):
#   ms mon client mode = crc      else radosgw waits 300 s for a secure session
#   paxos propose interval/min wait  else each map change waits ~1 s (start ~15 s)
#   pool default size 1, pg num 8, mon max pg per osd  one OSD holds every pool
#   osd objectstore = memstore    no disk, starts at once; data lives in RAM
#   ms bind msgr1 = false         only the v2 protocol, one port
set -euo pipefail

rgw_access_key=NIXEDGETESTACCESSKEY
rgw_secret_key=nixedge-test-secret-key-0123456789abcdef
rgw_bucket=nixedge-test
rgw_region=us-east-1
# A second user that owns nothing: the bucket answers it 403 even for a
# missing key (a bucket that hides existence, for missing_on_403).
rgw_other_access_key=NIXEDGETESTOTHERUSER
rgw_other_secret_key=nixedge-test-other-secret-0123456789abcd

rgw_free_port() {
  perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport, "\n"'
}

rgw_die() {
  echo "rgw.sh: $*" >&2
  local log
  for log in "$dir"/log/*.log; do
    [[ -f $log ]] || continue
    echo "--- tail of $log" >&2
    tail -15 "$log" >&2
  done
  exit 1
}

# Waits up to $2 tenths of a second for the command $3... to succeed.
rgw_wait() {
  local what=$1 tries=$2
  shift 2
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  rgw_die "timed out waiting for $what"
}

rgw_write_conf() {
  local mon_port=$1 rgw_port=$2
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $(uuidgen)
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
ms mon client mode = crc
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
keyring = $dir/keyring
mon data = $dir/mon
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-1073741824}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon allow pool size one = true
mon allow pool delete = true
paxos propose interval = 0.05
paxos min wait = 0.01
client mount timeout = 15
rados mon op timeout = 15
osd crush chooseleaf type = 0
osd max object name len = 460
osd max object namespace len = 64
osd journal size = 0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw dns name = localhost
rgw init timeout = 30
rgw enable usage log = false
rgw thread pool size = 32
EOF
}

# Records how long each step took in DIR/log/timing (see docs/testing.md).
rgw_mark() { echo "$(date +%s.%N) $*" >>"$dir/log/timing"; }

rgw_start_daemon() { # name, command...
  local name=$1
  shift
  setsid "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
  echo $! >"$dir/run/$name.daemon-pid"
}

rgw_s3() { # method path [curl args...]: a SigV4-signed request to the gateway
  local method=$1 path=$2
  shift 2
  curl -sS --fail --max-time 10 -X "$method" \
    --aws-sigv4 "aws:amz:$rgw_region:s3" --user "$rgw_access_key:$rgw_secret_key" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$@" "$endpoint$path"
}

rgw_start() {
  [[ $(id -u) == 0 ]] || { echo "rgw.sh: needs root" >&2; exit 1; }
  if [[ -f $dir/env ]]; then
    echo "rgw.sh: $dir already holds a cluster (stop it first)" >&2
    exit 1
  fi
  mkdir -p "$dir"/{run,log,mon,osd,rgw}
  local mon_port rgw_port
  local t0
  t0=$(date +%s.%N)
  mon_port=$(rgw_free_port)
  rgw_port=$(rgw_free_port)
  while [[ $rgw_port == "$mon_port" ]]; do rgw_port=$(rgw_free_port); done
  endpoint=http://127.0.0.1:$rgw_port
  rgw_write_conf "$mon_port" "$rgw_port"
  local conf=(-c "$dir/ceph.conf")
  rgw_mark begin

  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$(sed -n 's/^fsid = //p' "$dir/ceph.conf")" \
    --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon "${conf[@]}" --mkfs -i a --monmap "$dir/monmap" >"$dir/log/mon-mkfs.out" 2>&1 ||
    rgw_die "ceph-mon --mkfs failed"
  rgw_mark mkfs
  rgw_start_daemon mon ceph-mon "${conf[@]}" -i a -f
  # The ceph CLI takes ~0.7 s a call; the rados binding it wraps, ~0.25 s.
  # Connecting waits for the monitor, so this also waits for it to be up.
  local osd_id
  osd_id=$(/usr/bin/python3 - "$dir/ceph.conf" <<'PY'
import json, sys, rados
cluster = rados.Rados(conffile=sys.argv[1])
cluster.connect(timeout=15)
ret, out, err = cluster.mon_command(json.dumps({"prefix": "osd create", "format": "json"}), b"")
cluster.shutdown()
if ret != 0:
    sys.exit("osd create: " + err)
print(json.loads(out)["osdid"] if out.strip().startswith(b"{") else out.decode().strip())
PY
  ) || rgw_die "cannot create the OSD in the monitor"
  rgw_mark mon
  [[ $osd_id == 0 ]] || rgw_die "unexpected OSD id $osd_id"
  ceph-osd "${conf[@]}" -i 0 --mkfs >"$dir/log/osd-mkfs.out" 2>&1 || rgw_die "ceph-osd --mkfs failed"
  rgw_mark osd-mkfs
  rgw_start_daemon osd ceph-osd "${conf[@]}" -i 0 -f
  rgw_start_daemon rgw radosgw "${conf[@]}" -n client.rgw -f
  radosgw-admin "${conf[@]}" user create --uid nixedge-test --display-name "nixedge tests" \
    --access-key "$rgw_access_key" --secret-key "$rgw_secret_key" >"$dir/log/user.out" 2>&1 ||
    rgw_die "radosgw-admin user create failed"
  radosgw-admin "${conf[@]}" user create --uid nixedge-other --display-name "no access" \
    --access-key "$rgw_other_access_key" --secret-key "$rgw_other_secret_key" \
    >>"$dir/log/user.out" 2>&1 || rgw_die "radosgw-admin user create (second user) failed"
  rgw_mark user
  rgw_wait "radosgw to answer" 300 curl -s --max-time 1 -o /dev/null "$endpoint/"
  rgw_mark rgw
  rgw_s3 PUT "/$rgw_bucket" -o /dev/null || rgw_die "cannot create bucket $rgw_bucket"
  rgw_mark bucket

  cat >"$dir/env" <<EOF
RGW_ENDPOINT=$endpoint
RGW_REGION=$rgw_region
RGW_BUCKET=$rgw_bucket
RGW_ACCESS_KEY=$rgw_access_key
RGW_SECRET_KEY=$rgw_secret_key
RGW_OTHER_ACCESS_KEY=$rgw_other_access_key
RGW_OTHER_SECRET_KEY=$rgw_other_secret_key
RGW_DIR=$dir
EOF
  cat "$dir/env"
  echo "rgw.sh: started in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s" >&2
}

# The cluster's data lives in memory and is thrown away, so there is nothing
# to shut down cleanly: SIGKILL, one daemon at a time, waiting until each is
# gone (SIGTERM takes ~2 s per daemon; all at once can hang radosgw).
# A killed daemon stays a zombie until its parent (init, possibly one that
# never reaps) collects it: gone or a zombie both count as dead.
rgw_alive() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

rgw_stop_daemon() {
  local name=$1 pidfile=$dir/run/$1.daemon-pid pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -KILL "$pid" 2>/dev/null; then
    for _ in $(seq 250); do rgw_alive "$pid" || break; sleep 0.02; done
  fi
  rm -f "$pidfile"
}

rgw_stop() {
  [[ -d $dir ]] || return 0
  rgw_stop_daemon rgw
  rgw_stop_daemon osd
  rgw_stop_daemon mon
  rm -rf "$dir"
}

rgw_load_env() {
  [[ -f $dir/env ]] || { echo "rgw.sh: $dir holds no cluster (start it first)" >&2; exit 1; }
  endpoint=$(sed -n 's/^RGW_ENDPOINT=//p' "$dir/env")
}

rgw_stop_gateway() {
  rgw_load_env
  rgw_stop_daemon rgw
}

# The users and the bucket live in RADOS, so a new radosgw serves them as before.
rgw_start_gateway() {
  rgw_load_env
  if [[ -f $dir/run/rgw.daemon-pid ]] && rgw_alive "$(cat "$dir/run/rgw.daemon-pid")"; then
    echo "rgw.sh: radosgw is running already" >&2
    exit 1
  fi
  rgw_start_daemon rgw radosgw -c "$dir/ceph.conf" -n client.rgw -f
  rgw_wait "radosgw to answer" 300 rgw_s3 HEAD "/$rgw_bucket" -o /dev/null
}

# Sourced: define the functions only (callers set $dir and call rgw_start/rgw_stop).
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  return 0
fi

case ${1:-} in
  start | stop | stop-gateway | start-gateway)
    [[ -n ${2:-} ]] || { echo "usage: $0 start|stop|stop-gateway|start-gateway DIR" >&2; exit 2; }
    dir=$(realpath -m "$2")
    "rgw_${1//-/_}"
    ;;
  *)
    echo "usage: $0 start|stop|stop-gateway|start-gateway DIR" >&2
    exit 2
    ;;
esac
