# Cross build for 64-bit Windows with Debian's MinGW-w64 (g++-mingw-w64-x86-64), used by
# scripts/test-windows-core: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake -DTDSDIAG_CORE_ONLY=ON
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(TDSDIAG_MINGW_PREFIX x86_64-w64-mingw32)
# The win32-threads compilers are Debian's default; the core and its tests start no thread.
set(CMAKE_C_COMPILER ${TDSDIAG_MINGW_PREFIX}-gcc-win32)
set(CMAKE_CXX_COMPILER ${TDSDIAG_MINGW_PREFIX}-g++-win32)
set(CMAKE_RC_COMPILER ${TDSDIAG_MINGW_PREFIX}-windres)

# Libraries and headers from the MinGW-w64 sysroot only, never the host's /usr/include.
set(CMAKE_FIND_ROOT_PATH /usr/${TDSDIAG_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# One self-contained .exe: no libstdc++, libgcc or winpthread DLL to find at run time.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")

# ctest runs the tests through Wine (scripts/test-windows-core sets WINEPREFIX and WINEDEBUG).
find_program(TDSDIAG_WINE NAMES wine wine64 PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(TDSDIAG_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TDSDIAG_WINE})
endif()
