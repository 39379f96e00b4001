# Shared by the golden scripts: the tshark command line whose output the expected files hold.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

# tests/golden/columns: one field a line; "boolean" after a tab marks an FT_BOOLEAN field
# (tests/golden/check-fields checks the marks against the fields Wireshark registers).
# golden_columns: prints the fields; golden_boolean_columns: the 1-based columns marked boolean.
golden_columns() { awk -F'\t' 'NF && $1 !~ /^#/ {print $1}' "$here/columns"; }
golden_boolean_columns() { awk -F'\t' 'NF && $1 !~ /^#/ {n++; if ($2 == "boolean") print n}' "$here/columns"; }

# The tshark the tests run: TDSDIAG_TSHARK_BIN names its binary (a path, e.g. PREFIX/bin/tshark of
# a Wireshark built from source), else `tshark` on PATH. tests/tshark-plugin runs the same one.
golden_tshark() { "${TDSDIAG_TSHARK_BIN:-tshark}" "$@"; }

# golden_tshark_version: the running tshark's release, M.N. `tshark --version` takes most of a
# second and every golden test asks twice, so the answer is kept in a file named after the binary's
# path, inode, size and modification time (a rebuilt or replaced tshark gets a new file).
golden_tshark_version() {
  local v bin key cache
  bin=$(command -v "${TDSDIAG_TSHARK_BIN:-tshark}" 2>/dev/null) || bin=""
  if [ -n "$bin" ] && key=$(stat -L -c '%i-%s-%Y' "$bin" 2>/dev/null); then
    cache="${TMPDIR:-/tmp}/tdsdiag-tshark-version.$(printf '%s' "$bin-$key" | cksum | cut -d' ' -f1)"
    if [ -s "$cache" ]; then cat "$cache"; return 0; fi
  fi
  v=$(golden_tshark --version 2>/dev/null | sed -n '1s/^TShark (Wireshark) \([0-9]*\.[0-9]*\)\..*/\1/p')
  [ -n "$v" ] || { echo "cannot read the version of ${TDSDIAG_TSHARK_BIN:-tshark}" >&2; return 1; }
  if [ -n "${cache:-}" ]; then
    printf '%s\n' "$v" > "$cache.$$" 2>/dev/null && mv -f "$cache.$$" "$cache" 2>/dev/null || rm -f "$cache.$$"
  fi
  echo "$v"
}

# golden_at_least M.N WANT_M.WANT_N: true when release M.N is WANT or later.
golden_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

# The expected files hold what tshark 4.0 prints. Two things changed in tshark's own -T fields
# output since, and golden_normalise turns a newer tshark's output back into 4.0's form:
# - from 4.2 a boolean prints as True/False, in 4.0 as 1/0 (only in the columns marked boolean);
# - from 4.4 a backslash in a value prints as \\ (LAB\\alice): epan/print.c writes -T fields values
#   through ws_escape_csv (wsutil/str_util.c), whose escaping covers the backslash. 4.0 and 4.2
#   (print_escaped_csv in 4.0.8, 4.2.0 and 4.2.6) escape only control characters (\b \f \n \r \t,
#   and \v from 4.2), never a backslash: their output is left as it is. From 4.4 a backslash
#   followed by anything else would be another escape, which no bundled capture has: it fails.
# Nothing else is touched, and a 4.0 tshark's output passes through unchanged.
# golden_escapes_backslash M.N / golden_prints_bool_words M.N: the two choices, per release.
golden_escapes_backslash() { golden_at_least "$1" 4.4; }
golden_prints_bool_words() { golden_at_least "$1" 4.2; }

golden_normalise() {
  local ws
  ws=$(golden_tshark_version) || { echo "golden_normalise: cannot read tshark's version" >&2; return 1; }
  golden_normalise_for "$ws"
}

# golden_normalise_for M.N: golden_normalise for the output of release M.N (standard input).
golden_normalise_for() {
  local bools="" unescape=0
  golden_prints_bool_words "$1" && bools=$(golden_boolean_columns | tr '\n' ' ')
  golden_escapes_backslash "$1" && unescape=1
  if [ -z "$bools" ] && [ "$unescape" = 0 ]; then cat; return; fi
  awk -F'\t' -v OFS='\t' -v bools="$bools" -v unescape="$unescape" '
    BEGIN { n = split(bools, b, " "); for (i = 1; i <= n; i++) isbool[b[i]] = 1 }
    NR == 1 { print; next }  # the header: field names
    {
      for (c = 1; c <= NF; c++) {
        v = $c
        if (c in isbool) {
          m = split(v, part, ","); v = ""
          for (i = 1; i <= m; i++) {
            if (part[i] == "True") part[i] = "1"; else if (part[i] == "False") part[i] = "0"
            v = v (i > 1 ? "," : "") part[i]
          }
        }
        out = ""
        while (unescape && (k = index(v, "\\")) > 0) {
          nxt = substr(v, k + 1, 1)
          if (nxt != "\\") { printf "golden_normalise: line %d column %d: unknown escape \\%s\n", NR, c, nxt > "/dev/stderr"; exit 3 }
          out = out substr(v, 1, k); v = substr(v, k + 2)
        }
        $c = out v
      }
      print
    }'
}

# golden_expected NAME PASS: the expected file for the running tshark. Where Wireshark's own fields
# differ between releases, captures/NAME.PASS.wsM.N.tsv holds the output of Wireshark M.N and later;
# the newest such file not newer than the running tshark wins, else NAME.PASS.tsv. So far one change:
# from 4.2 a SYN on a TCP conversation that has seen a RST or FIN starts a new conversation, so the
# SYN sent again after a reset gets its own tcp.stream (epan/dissectors/packet-tcp.c, 4.2.0 and
# 4.2.6; 4.0.8 starts one only when the SYN's sequence number differs, and counts the SYN sent again
# as a retransmission in the same stream).
golden_expected() {
  local name=$1 pass=$2 ws v best=""
  ws=$(golden_tshark_version) || return 1
  for v in 4.2 4.4 4.6; do
    [ -f "$root/captures/$name.$pass.ws$v.tsv" ] || continue
    golden_at_least "$ws" "$v" && best=$v
  done
  if [ -n "$best" ]; then echo "$root/captures/$name.$pass.ws$best.tsv"; else echo "$root/captures/$name.$pass.tsv"; fi
}

# golden_output PLUGIN_TREE NAME PASS: prints the fields of every frame of captures/NAME.pcapng.
# PASS is 1pass or 2pass, with -keys when the capture's TLS key log (captures/NAME.keys) is used.
golden_output() {
  local tree=$1 name=$2 pass=$3 fields=() f
  while read -r f; do fields+=(-e "$f"); done < <(golden_columns)
  local two=()
  case "$pass" in 2pass*) two=(-2) ;; esac
  case "$pass" in *-keys) two+=(-o "tls.keylog_file:$root/captures/$name.keys") ;; esac
  # captures/NAME.args: tshark options the capture needs (e.g. a preference for a non-standard port).
  if [ -f "$root/captures/$name.args" ]; then
    local a
    while read -r a; do [ -n "$a" ] && [ "${a#\#}" = "$a" ] && two+=("$a"); done < "$root/captures/$name.args"
  fi
  "$root/tests/tshark-plugin" "$tree" -r "$root/captures/$name.pcapng" "${two[@]}" \
    -T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, "${fields[@]}" | golden_normalise
}
