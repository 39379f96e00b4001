# Shared by scripts/quickstart and scripts/test: install what is missing, build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TDSDIAG_BUILD_DIR:-$root/build}

# Debian bookworm packages the build and the tests need.
BUILD_PACKAGES=(build-essential cmake pkg-config libglib2.0-dev libwireshark-dev wireshark-dev tshark catch2 util-linux)
# ... and the tests: python3 for the table checks, clang and its libFuzzer runtime for the core's fuzzer,
# debootstrap for the Debian 13 and unstable chroots (scripts/chroot), iproute2, curl and socat for the
# real HTTP and bulk TCP traffic that the pre-filter test captures in a network namespace.
TEST_PACKAGES=(python3 clang libclang-rt-14-dev debootstrap iproute2 curl socat)
# ... and the browser that renders tdsdiag-report --html (test report_html_browser), on the host only.
BROWSER_PACKAGES=(chromium)
# ... and the Windows DLLs (scripts/build-windows-dll, scripts/check-windows-dll): meson and Debian's
# glib2.0 source for a Windows glibconfig.h, dlltool for the import libraries, zip, clang's MSVC target
# for the layout check, Wine for loading the DLLs (the compiler itself is in the Debian 13 chroot).
WINDOWS_PACKAGES=(libwireshark-dev libglib2.0-dev meson ninja-build dpkg-dev g++-mingw-w64-x86-64
                  binutils-mingw-w64-x86-64 zip python3 clang wine64)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}" >&2
  # tshark asks whether non-root users may capture; answer no, without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build_plugin() {
  echo "== building in $build" >&2
  cmake -S "$root" -B "$build" "$@" >&2
  cmake --build "$build" -j "$(nproc)" >&2
}
