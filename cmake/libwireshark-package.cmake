# The Debian/Ubuntu package that holds libwireshark.so.N, for the .deb's Depends.
#
# Debian and Ubuntu name the library's package after its soname: libwireshark.so.16 (4.0) is in
# libwireshark16, .so.18 (4.4) in libwireshark18, .so.19 (4.6) in libwireshark19. The one exception
# is .so.17 (4.2): the 64-bit time_t transition of early 2024 renamed the library packages that
# were current then with a "t64" suffix, and every release that ships Wireshark 4.2 ships it as
# libwireshark17t64 (Ubuntu 24.04 "noble" 4.2.2, Ubuntu 24.10 4.2.6, Debian unstable/testing
# 4.2.4 and 4.2.5). The next soname (18, 4.4) came after the transition and has no suffix again.
# (On 64-bit architectures the t64 package also provides the old name, but the real name is the
# one apt shows and the one to depend on.)
#
# tdsdiag_libwireshark_package(OUT SONAME [OWNER])
#   SONAME: the library's soname (libwireshark.so.N); OWNER: the package dpkg says holds the
#   library file, if any (a Wireshark built from source has none). The owner wins; else the name
#   follows the soname as above. OUT is empty when SONAME is not libwireshark.so.N.
function(tdsdiag_libwireshark_package out soname)
  set(owner "${ARGV2}")
  if(owner)
    set(${out} "${owner}" PARENT_SCOPE)
    return()
  endif()
  if(NOT soname MATCHES "^libwireshark\\.so\\.([0-9]+)$")
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  set(name "libwireshark${CMAKE_MATCH_1}")
  # Sonames whose packages the time_t transition renamed (soname 17 only: Wireshark 4.2).
  if(CMAKE_MATCH_1 EQUAL 17)
    string(APPEND name "t64")
  endif()
  set(${out} "${name}" PARENT_SCOPE)
endfunction()

# tdsdiag_dpkg_owner(OUT FILE): the package dpkg says holds FILE (symlinks resolved), or empty.
function(tdsdiag_dpkg_owner out file)
  set(${out} "" PARENT_SCOPE)
  find_program(_tdsdiag_dpkg_query dpkg-query)
  if(NOT _tdsdiag_dpkg_query OR NOT EXISTS "${file}")
    return()
  endif()
  get_filename_component(real "${file}" REALPATH)
  execute_process(COMMAND "${_tdsdiag_dpkg_query}" -S "${real}"
                  OUTPUT_VARIABLE found ERROR_QUIET RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  # "libwireshark16:amd64: /usr/lib/x86_64-linux-gnu/libwireshark.so.16.0.17"
  if(rc EQUAL 0 AND found MATCHES "^([^:, ]+)")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  endif()
endfunction()
