// A minimal test harness for the C++ unit tests: TEST(name) registers a
// function, CHECK(cond) records a failure with its line and goes on, and
// run_all() runs every test (or those named on the command line) and returns
// the process exit code. No framework: the build needs nothing beyond meson.
#pragma once
#include <algorithm>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace lcpipe::check {

struct Case {
  const char* name;
  std::function<void()> run;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

inline int& failures() {
  static int n = 0;
  return n;
}

template <class T>
std::string show(const T& x) {
  if constexpr (std::is_arithmetic_v<T>)
    return std::to_string(x);
  else
    return "'" + std::string(x) + "'";
}

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what.c_str());
}

struct Register {
  Register(const char* name, std::function<void()> run) { cases().push_back({name, std::move(run)}); }
};

// Runs the tests named in argv (all without arguments); 0 when every check held.
inline int run_all(int argc, char** argv) {
  std::vector<std::string> wanted(argv + 1, argv + argc);
  int ran = 0, failed_cases = 0;
  for (const Case& c : cases()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), c.name) == wanted.end()) continue;
    const int before = failures();
    try {
      c.run();
    } catch (const std::exception& e) {
      fail(c.name, 0, std::string("uncaught exception: ") + e.what());
    }
    ++ran;
    const bool ok = failures() == before;
    failed_cases += ok ? 0 : 1;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", c.name);
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test matched\n");
    return 2;
  }
  std::printf("%d of %d tests passed\n", ran - failed_cases, ran);
  return failed_cases == 0 ? 0 : 1;
}

}  // namespace lcpipe::check

#define LCPIPE_CHECK_CAT2(a, b) a##b
#define LCPIPE_CHECK_CAT(a, b) LCPIPE_CHECK_CAT2(a, b)

#define TEST(name)                                                                     \
  static void name();                                                                  \
  static const lcpipe::check::Register LCPIPE_CHECK_CAT(register_, name)(#name, name); \
  static void name()

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) lcpipe::check::fail(__FILE__, __LINE__, #cond); \
  } while (0)

// Equality with both values printed (numbers and strings).
#define CHECK_EQ(a, b)                                                                              \
  do {                                                                                              \
    const auto& lcpipe_a = (a);                                                                     \
    const auto& lcpipe_b = (b);                                                                     \
    if (!(lcpipe_a == lcpipe_b))                                                                    \
      lcpipe::check::fail(__FILE__, __LINE__,                                                       \
                          std::string(#a " == " #b " (") + lcpipe::check::show(lcpipe_a) + " vs " + \
                              lcpipe::check::show(lcpipe_b) + ")");                                 \
  } while (0)

// The block must throw E whose what() contains `part`.
#define CHECK_THROWS(E, part, ...)                                                                                \
  do {                                                                                                            \
    try {                                                                                                         \
      __VA_ARGS__;                                                                                                \
      lcpipe::check::fail(__FILE__, __LINE__, "no " #E " thrown by " #__VA_ARGS__);                               \
    } catch (const E& lcpipe_e) {                                                                                 \
      if (std::string(lcpipe_e.what()).find(part) == std::string::npos)                                           \
        lcpipe::check::fail(__FILE__, __LINE__, std::string(#E " without '") + (part) + "': " + lcpipe_e.what()); \
    }                                                                                                             \
  } while (0)
