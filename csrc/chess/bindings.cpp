// pybind11 binding of the chess layer: positions go in as FEN strings and
// moves as UCI text, so tests compare against python-chess directly. The
// module's import installs the 1858-move policy table from lcpipe.lc0.policy.
#include "chess/bindings.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "chess/board.h"
#include "chess/encoder.h"
#include "chess/history.h"
#include "chess/policy.h"

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

Move uci_move(const Position& p, const std::string& uci) {
  Move m;
  if (!move_from_uci(p, uci, &m)) throw py::value_error("illegal move '" + uci + "' in " + to_fen(p));
  return m;
}

PositionHistory play(const std::string& fen, const std::vector<std::string>& moves) {
  PositionHistory h(fen_position(fen));
  for (const std::string& uci : moves) h.push(uci_move(h.last(), uci));
  return h;
}

std::vector<std::string> legal_uci(const std::string& fen) {
  const Position p = fen_position(fen);
  MoveList moves;
  legal_moves(p, &moves);
  std::vector<std::string> out;
  for (const Move& m : moves) out.push_back(move_to_uci(p, m));
  return out;
}

FillEmptyHistory fill_mode(const std::string& fill) {
  if (fill == "no") return FillEmptyHistory::kNo;
  if (fill == "fen_only") return FillEmptyHistory::kFenOnly;
  if (fill == "always") return FillEmptyHistory::kAlways;
  throw py::value_error("fill must be 'no', 'fen_only' or 'always', not '" + fill + "'");
}

const char* result_name(GameResult r) {
  switch (r) {
    case GameResult::kWhiteWon: return "1-0";
    case GameResult::kBlackWon: return "0-1";
    case GameResult::kDraw: return "1/2-1/2";
    default: return "*";
  }
}

// Every position of the game (the start and after each move), encoded.
py::dict encode_game(const std::string& fen, const std::vector<std::string>& moves, int input_format,
                     const std::string& fill, bool network_inputs) {
  if (!supported_input_format(input_format))
    throw py::value_error("unknown input format " + std::to_string(input_format));
  const FillEmptyHistory mode = fill_mode(fill);
  const PositionHistory h = play(fen, moves);
  const py::ssize_t n = h.size();
  py::array_t<uint64_t> planes({n, py::ssize_t(104)});
  py::array_t<uint8_t> castling({n, py::ssize_t(4)});
  py::array_t<uint8_t> stm_ep(n), rule50(n), invariance(n), transform(n);
  py::array_t<float> inputs(network_inputs ? std::vector<py::ssize_t>{n, 112, 64} : std::vector<py::ssize_t>{0});
  {
    auto pl = planes.mutable_unchecked<2>();
    auto ca = castling.mutable_unchecked<2>();
    auto se = stm_ep.mutable_unchecked<1>();
    auto r5 = rule50.mutable_unchecked<1>();
    auto iv = invariance.mutable_unchecked<1>();
    auto tr = transform.mutable_unchecked<1>();
    float* in = inputs.mutable_data();
    py::gil_scoped_release release;
    for (py::ssize_t t = 0; t < n; ++t) {
      const EncodedPosition e = encode_position(h, input_format, mode, int(t));
      for (int k = 0; k < 104; ++k) pl(t, k) = e.planes[k];
      for (int k = 0; k < 4; ++k) ca(t, k) = e.castling[k];
      se(t) = e.side_to_move_or_enpassant;
      r5(t) = e.rule50;
      iv(t) = e.invariance_info;
      tr(t) = e.transform;
      if (network_inputs) write_network_input(e, in + t * 112 * 64);
    }
  }
  py::dict out;
  out["planes"] = planes;
  out["castling"] = castling;
  out["side_to_move_or_enpassant"] = stm_ep;
  out["rule50_count"] = rule50;
  out["invariance_info"] = invariance;
  out["transform"] = transform;
  if (network_inputs) out["inputs"] = inputs;
  return out;
}

void install_table_from_python() {
  py::module_ policy = py::module_::import("lcpipe.lc0.policy");
  const auto names = policy.attr("MOVES").cast<std::vector<std::string>>();
  std::vector<int16_t> from, to;
  std::vector<int8_t> promotion;
  static const std::string kCodes = " qrb";
  auto square = [](const std::string& s, size_t at) { return int16_t((s[at + 1] - '1') * 8 + (s[at] - 'a')); };
  for (const std::string& name : names) {
    from.push_back(square(name, 0));
    to.push_back(square(name, 2));
    promotion.push_back(int8_t(name.size() > 4 ? kCodes.find(name[4]) : 0));
  }
  install_policy_table(from.data(), to.data(), promotion.data(), int(names.size()));
}

}  // namespace

void register_chess(py::module_& parent) {
  py::module_ m = parent.def_submodule("chess", "Native chess rules, input encoder and policy index");
  install_table_from_python();
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
  m.def(
      "play",
      [](const std::string& fen, const std::vector<std::string>& moves) { return to_fen(play(fen, moves).last()); },
      py::arg("fen"), py::arg("moves"), "FEN after playing UCI `moves` from `fen`.");
  m.def(
      "position_hash",
      [](const std::string& fen, const std::vector<std::string>& moves) { return play(fen, moves).last().hash; },
      py::arg("fen"), py::arg("moves") = std::vector<std::string>{},
      "Zobrist key of the position after the moves (as make_move keeps it).");
  m.def(
      "game_state",
      [](const std::string& fen, const std::vector<std::string>& moves, int plies_from_root) {
        const PositionHistory h = play(fen, moves);
        const Position& p = h.last();
        py::dict d;
        d["result"] = result_name(h.result());
        d["search_result"] = result_name(h.search_result(plies_from_root));
        d["repetitions"] = h.repetitions(h.size() - 1);
        d["plies_since_repetition"] = h.plies_since_repetition(h.size() - 1);
        d["checkmate"] = is_checkmate(p);
        d["stalemate"] = is_stalemate(p);
        d["in_check"] = in_check(p);
        d["insufficient_material"] = insufficient_material(p);
        d["rule50"] = p.rule50;
        return d;
      },
      py::arg("fen"), py::arg("moves") = std::vector<std::string>{}, py::arg("plies_from_root") = -1,
      "Game-end state after the moves: result ('1-0', '0-1', '1/2-1/2', '*') by the game's rules and "
      "inside a search tree rooted `plies_from_root` plies back, repetitions and the single rules.");
  m.def("encode_game", &encode_game, py::arg("fen"), py::arg("moves"), py::arg("input_format") = 1,
        py::arg("fill") = "fen_only", py::arg("network_inputs") = false,
        "Every position of the game encoded as a record stores it (planes as stored, castling bytes, "
        "side_to_move_or_enpassant, rule50_count, invariance_info, transform), and optionally the "
        "network input f32[n, 112, 64].");
  m.def(
      "policy_index",
      [](const std::string& fen, const std::string& uci, int transform) {
        const Position p = fen_position(fen);
        if (transform < 0 || transform > 7) throw py::value_error("transform must be 0..7");
        return policy_index(p, uci_move(p, uci), transform);
      },
      py::arg("fen"), py::arg("uci"), py::arg("transform") = 0, "lc0 policy index of a legal move.");
  m.def(
      "legal_policy_indices",
      [](const std::string& fen, int transform) {
        const Position p = fen_position(fen);
        if (transform < 0 || transform > 7) throw py::value_error("transform must be 0..7");
        MoveList moves;
        legal_moves(p, &moves);
        std::vector<std::pair<std::string, int>> out;
        for (const Move& m : moves) out.emplace_back(move_to_uci(p, m), policy_index(p, m, transform));
        return out;
      },
      py::arg("fen"), py::arg("transform") = 0, "(uci, policy index) of every legal move.");
  m.def(
      "policy_move",
      [](int index) {
        int from, to, promotion;
        policy_move(index, &from, &to, &promotion);
        std::string s{char('a' + from % 8), char('1' + from / 8), char('a' + to % 8), char('1' + to / 8)};
        if (promotion) s += " qrb"[promotion];
        return s;
      },
      py::arg("index"), "The move of a policy index in white's view, as lcpipe.lc0.policy.MOVES writes it.");
  m.def(
      "move_from_policy_index",
      [](const std::string& fen, int index, int transform) -> py::object {
        const Position p = fen_position(fen);
        Move m;
        if (!move_from_policy_index(p, index, transform, &m)) return py::none();
        return py::str(move_to_uci(p, m));
      },
      py::arg("fen"), py::arg("index"), py::arg("transform") = 0,
      "UCI of the legal move with that policy index, or None.");
}

}  // namespace lcpipe::chess
