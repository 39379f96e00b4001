# usage: cmake -DSONAME=libwireshark.so.N [-DOWNER=package] -P tests/package/package-name.cmake
# Prints the name of libwireshark's Debian package as the build computes it (cmake/libwireshark-package.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/libwireshark-package.cmake")
tdsdiag_libwireshark_package(name "${SONAME}" "${OWNER}")
if(NOT name)
  message(FATAL_ERROR "not a libwireshark soname: '${SONAME}'")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E echo "${name}")
