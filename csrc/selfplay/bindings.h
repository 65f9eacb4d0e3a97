#pragma once
#include <pybind11/pybind11.h>

namespace lcpipe::selfplay {
void register_selfplay(pybind11::module_& m);
}
