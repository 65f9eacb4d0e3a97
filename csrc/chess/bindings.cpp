// pybind11 binding of the chess layer: positions go in as FEN strings and
// moves as UCI text, so tests compare against python-chess directly.
#include "chess/bindings.h"

#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "chess/board.h"

namespace py = pybind11;

namespace lcpipe::chess {

namespace {

Position fen_position(const std::string& fen) {
  try {
    return position_from_fen(fen);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

std::vector<std::string> legal_uci(const std::string& fen) {
  const Position p = fen_position(fen);
  MoveList moves;
  legal_moves(p, &moves);
  std::vector<std::string> out;
  for (const Move& m : moves) out.push_back(move_to_uci(p, m));
  return out;
}

}  // namespace

void register_chess(py::module_& parent) {
  py::module_ m = parent.def_submodule("chess", "Native chess rules, input encoder and policy index");
  m.attr("START_FEN") = kStartFen;
  m.def(
      "perft",
      [](const std::string& fen, int depth) {
        const Position p = fen_position(fen);
        py::gil_scoped_release release;
        return perft(p, depth);
      },
      py::arg("fen"), py::arg("depth"), "Leaf nodes at `depth` from the position.");
  m.def("legal_moves", &legal_uci, py::arg("fen"),
        "Legal moves as UCI (castling e1g1, or king-to-rook in Chess960 positions).");
}

}  // namespace lcpipe::chess
