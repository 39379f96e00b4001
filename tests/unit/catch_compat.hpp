// The unit tests are written against Catch2 2 (Debian 12); Debian 13 and later ship Catch2 3, whose
// single header split into many and whose Approx moved into the Catch namespace. tests/CMakeLists.txt
// sets TDSDIAG_CATCH2_MAJOR to the version it found.
#pragma once

#if TDSDIAG_CATCH2_MAJOR >= 3
#include <catch2/catch_all.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
