#pragma once
#include <pybind11/pybind11.h>

namespace lcl {
// Adds the `loader` submodule to lcpipe._native.
void register_loader(pybind11::module_& m);
}  // namespace lcl
