# usage: cmake -P tests/package/check-package-name.cmake
# The name of libwireshark's Debian package that the .deb depends on (cmake/libwireshark-package.cmake),
# for each soname Debian and Ubuntu ship, and the dpkg owner taking precedence over the soname.
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/libwireshark-package.cmake")
set(failures 0)
macro(expect soname owner want)
  tdsdiag_libwireshark_package(got "${soname}" "${owner}")
  if(NOT got STREQUAL "${want}")
    message(SEND_ERROR "soname '${soname}' owner '${owner}': got '${got}', want '${want}'")
    math(EXPR failures "${failures} + 1")
  else()
    message(STATUS "ok: soname '${soname}' owner '${owner}' -> '${got}'")
  endif()
endmacro()
expect(libwireshark.so.16 "" libwireshark16)        # 4.0: Debian 12
expect(libwireshark.so.17 "" libwireshark17t64)     # 4.2: Ubuntu 24.04, after the time_t transition
expect(libwireshark.so.18 "" libwireshark18)        # 4.4: Debian 13
expect(libwireshark.so.19 "" libwireshark19)        # 4.6: Debian unstable
expect(libwireshark.so.17 libwireshark17t64 libwireshark17t64)
expect(libwireshark.so.17 libwireshark17 libwireshark17)  # what dpkg says wins over the rule
expect(libwsutil.so.15 "" "")                       # not libwireshark: no name
# dpkg's owner of a file every Debian or Ubuntu has: dpkg-query itself is in the package dpkg.
find_program(_dq dpkg-query REQUIRED)
tdsdiag_dpkg_owner(owner "${_dq}")
if(NOT owner STREQUAL "dpkg")
  message(SEND_ERROR "dpkg owner of ${_dq}: got '${owner}', want 'dpkg'")
  math(EXPR failures "${failures} + 1")
endif()
tdsdiag_dpkg_owner(owner "/nonexistent/libwireshark.so.17")
if(NOT owner STREQUAL "")
  message(SEND_ERROR "dpkg owner of a missing file: got '${owner}', want none")
  math(EXPR failures "${failures} + 1")
endif()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} package name check(s) failed")
endif()
message(STATUS "package names: all checks passed")
