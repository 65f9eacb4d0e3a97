#pragma once
#include <pybind11/pybind11.h>

namespace lcpipe::chess {
// Adds the submodule lcpipe._native.chess (rules, encoder and policy index at
// FEN/UCI level, for tests and benchmarks).
void register_chess(pybind11::module_& m);
}  // namespace lcpipe::chess
