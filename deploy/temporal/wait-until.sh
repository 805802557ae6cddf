# Sourced by init.sh and setup-schema.sh (POSIX sh, both mount this folder).
# wait_until MESSAGE TRIES COMMAND [ARG…]: runs COMMAND every 2 s until it succeeds; after TRIES
# failed tries prints MESSAGE to stderr and exits 1.
wait_until() {
  message="$1"
  max="$2"
  shift 2
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge "$max" ]; then
      echo "$message" >&2
      exit 1
    fi
    sleep 2
  done
}
