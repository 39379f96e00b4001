# TDSDIAG_CORE_ONLY: the analysis core and its unit tests alone, without Wireshark, GLib or the
# golden tests. Used for the Windows cross build (cmake/mingw-w64-x86_64.cmake,
# scripts/test-windows-core); included from CMakeLists.txt before Wireshark is looked for.
#
# The sources are the folders' .cpp files, so that a file added to the core or to tests/unit is
# built here too without a second list to keep.
option(TDSDIAG_PLAIN_CXX "Compile without GCC's and clang's attributes and builtins (src/tdsdiag/portable.hpp)" OFF)

file(GLOB TDSDIAG_CORE_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/src/tdsdiag/*.cpp")
add_library(tdsdiag_core STATIC ${TDSDIAG_CORE_SOURCES})
target_include_directories(tdsdiag_core PUBLIC src)
target_compile_options(tdsdiag_core PRIVATE ${TDSDIAG_WARNINGS} -Werror)
if(TDSDIAG_PLAIN_CXX)
  target_compile_definitions(tdsdiag_core PUBLIC TDSDIAG_PLAIN_CXX)
endif()

if(TDSDIAG_BUILD_TESTS)
  # Catch2 2 is one header (Debian's catch2 puts it in /usr/include/catch2). A cross build must not
  # see the rest of the host's /usr/include, so the build tree gets a folder holding only a link to
  # that header.
  find_path(TDSDIAG_CATCH2_INCLUDE catch2/catch.hpp PATHS /usr/include /usr/local/include
            NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  if(NOT TDSDIAG_CATCH2_INCLUDE)
    message(FATAL_ERROR "catch2/catch.hpp (Catch2 2) not found: apt-get install catch2, "
                        "or set TDSDIAG_CATCH2_INCLUDE to the folder holding catch2/")
  endif()
  set(_catch_dir "${CMAKE_BINARY_DIR}/catch2-only")
  file(MAKE_DIRECTORY "${_catch_dir}/catch2")
  file(CREATE_LINK "${TDSDIAG_CATCH2_INCLUDE}/catch2/catch.hpp" "${_catch_dir}/catch2/catch.hpp" SYMBOLIC)

  enable_testing()
  file(GLOB TDSDIAG_UNIT_SOURCES CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/tests/unit/*.cpp")
  add_executable(unit_tests ${TDSDIAG_UNIT_SOURCES})
  target_include_directories(unit_tests SYSTEM PRIVATE "${_catch_dir}")
  target_link_libraries(unit_tests PRIVATE tdsdiag_core)
  target_compile_options(unit_tests PRIVATE ${TDSDIAG_WARNINGS})
  add_test(NAME unit COMMAND unit_tests)
endif()
