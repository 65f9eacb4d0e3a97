#pragma once
#include <pybind11/pybind11.h>

namespace lcpipe::tb {
// Adds SyzygyTablebases (FEN-level probing for tests and benchmarks) to lcpipe._native.
void register_syzygy(pybind11::module_& m);
}  // namespace lcpipe::tb
