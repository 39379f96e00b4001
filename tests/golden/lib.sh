# Shared by the golden scripts: the tshark command line whose output the expected files hold.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

# golden_output PLUGIN_TREE NAME PASS: prints the fields of every frame of captures/NAME.pcapng.
# PASS is 1pass or 2pass, with -keys when the capture's TLS key log (captures/NAME.keys) is used.
golden_output() {
  local tree=$1 name=$2 pass=$3 fields=() f
  while read -r f; do [ -n "$f" ] && fields+=(-e "$f"); done < "$here/columns"
  local two=()
  case "$pass" in 2pass*) two=(-2) ;; esac
  case "$pass" in *-keys) two+=(-o "tls.keylog_file:$root/captures/$name.keys") ;; esac
  # captures/NAME.args: tshark options the capture needs (e.g. a preference for a non-standard port).
  if [ -f "$root/captures/$name.args" ]; then
    local a
    while read -r a; do [ -n "$a" ] && [ "${a#\#}" = "$a" ] && two+=("$a"); done < "$root/captures/$name.args"
  fi
  "$root/tests/tshark-plugin" "$tree" -r "$root/captures/$name.pcapng" "${two[@]}" \
    -T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, "${fields[@]}"
}
