// The lcpipe._native extension module: entry point of every C++ binding.
#include <pybind11/pybind11.h>

#include "chess/bindings.h"
#include "common/hashing.h"
#include "loader/bindings.h"
#include "selfplay/bindings.h"
#include "syzygy/bindings.h"

namespace py = pybind11;

PYBIND11_MODULE(_native, m) {
  m.doc() = "lcpipe native core: data loader stages and helpers";
  m.def(
      "stable_hash", [](std::string_view key, uint64_t seed) { return lcpipe::stable_hash(key, seed); }, py::arg("key"),
      py::arg("seed") = 0, "Stable 64-bit hash of a chunk key (same on every machine and run).");
  m.def(
      "unit_interval", [](std::string_view key, uint64_t seed) { return lcpipe::unit_interval(key, seed); },
      py::arg("key"), py::arg("seed") = 0, "stable_hash mapped to [0, 1).");
  lcl::register_loader(m);
  lcpipe::tb::register_syzygy(m);
  lcpipe::chess::register_chess(m);
  lcpipe::selfplay::register_selfplay(m);
}
