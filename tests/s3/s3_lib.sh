# shellcheck shell=bash
# What the S3 shell tests share, sourced after tests/lib/harness.sh: the RGW
# of the ctest fixture (NIXEDGE_TEST_RGW_ENV) loaded into the environment, and
# (with $tmp from harness.sh)
#   rgw_rclone_config   an rclone config naming it `rgw` (RCLONE_CONFIG in $tmp)
#   lab_config_on_s3 B  lab_config for a server whose storage is bucket B there
[[ -n ${NIXEDGE_TEST_RGW_ENV:-} && -f $NIXEDGE_TEST_RGW_ENV ]] ||
  fail "NIXEDGE_TEST_RGW_ENV names no RGW env file: run through ctest (the RGW fixture)"
# shellcheck disable=SC1090
. "$NIXEDGE_TEST_RGW_ENV"

# shellcheck disable=SC2154 # $tmp is harness.sh's
rgw_rclone_config() {
  export RCLONE_CONFIG=$tmp/rclone.conf
  unset AWS_CA_BUNDLE # rclone 1.60 refuses to start when it is set
  printf '[rgw]\ntype = s3\nprovider = Ceph\nendpoint = %s\nregion = %s\naccess_key_id = %s\nsecret_access_key = %s\nforce_path_style = true\n' \
    "$RGW_ENDPOINT" "$RGW_REGION" "$RGW_ACCESS_KEY" "$RGW_SECRET_KEY" >"$RCLONE_CONFIG"
}

lab_config_on_s3() {
  export NIXEDGE_S3_ACCESS_KEY_ID=$RGW_ACCESS_KEY NIXEDGE_S3_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
  lab_config "[storage]
type = \"s3\"
[storage.s3]
endpoint = \"$RGW_ENDPOINT\"
region = \"$RGW_REGION\"
bucket = \"$1\"
"
}
