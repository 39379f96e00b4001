// What differs between compilers, in one place. The core and the plugin use these macros instead of
// GCC's attributes and builtins, so that MSVC (Wireshark's Windows build) compiles them too.
//
// GCC and clang (Linux, macOS, MinGW-w64) get the attributes and builtins. Every other compiler,
// MSVC included, gets the plain path: no hints, the same code and the same output. Defining
// TDSDIAG_PLAIN_CXX gives GCC and clang the plain path as well, so that it is compiled and tested here
// (scripts/test-windows-core builds the unit tests both ways).
//
// The rest is handled where it is used, and is the same on every system unless said otherwise:
// - the stream table's large slot arrays (tcp_header.cpp): VirtualAlloc on Windows, aligned_alloc
//   elsewhere, with a huge-page hint on Linux;
// - certificate dates (x509.cpp): formatted by arithmetic, not by gmtime_r, which Windows lacks and
//   whose range there ends at the year 3000;
// - printf formats (%zu, %lld): C99's, which MinGW-w64's C++ mode gives by default
//   (__USE_MINGW_ANSI_STDIO) and MSVC's runtime has since Visual Studio 2015.
#pragma once

#if (defined(__GNUC__) || defined(__clang__)) && !defined(TDSDIAG_PLAIN_CXX)

// A function called only on rare frames: the compiler moves its calls out of the per-frame code.
#define TDSDIAG_COLD __attribute__((cold))
// A function kept out of line (hot code's callers stay small).
#define TDSDIAG_NOINLINE __attribute__((noinline))
// Fetch the cache line at p ahead of its use.
#define TDSDIAG_PREFETCH(p) __builtin_prefetch(p)
// The compiler checks the arguments of a printf-like function. MinGW-w64's printf is its own C99
// one, which GCC calls gnu_printf there (its "printf" there means the old Microsoft runtime's).
#if defined(__MINGW32__) && !defined(__clang__)
#define TDSDIAG_PRINTF_LIKE(fmt, first) __attribute__((format(gnu_printf, fmt, first)))
#else
#define TDSDIAG_PRINTF_LIKE(fmt, first) __attribute__((format(printf, fmt, first)))
#endif

#else

#define TDSDIAG_COLD
#define TDSDIAG_NOINLINE
#define TDSDIAG_PREFETCH(p) static_cast<void>(p)
#define TDSDIAG_PRINTF_LIKE(fmt, first)

#endif
