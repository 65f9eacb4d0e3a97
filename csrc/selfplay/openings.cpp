#include "selfplay/openings.h"

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "selfplay/board.h"

namespace lcpipe::selfplay {

std::vector<Opening> read_epd(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read opening file " + path);
  std::vector<Opening> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream fields(line);
    std::string f[4];
    if (!(fields >> f[0])) continue;  // blank line
    if (f[0][0] == '#') continue;
    for (int k = 1; k < 4; ++k)
      if (!(fields >> f[k]))
        throw std::runtime_error(path + ":" + std::to_string(lineno) + ": expected an EPD line (4 FEN fields)");
    const std::string fen = f[0] + " " + f[1] + " " + f[2] + " " + f[3] + " 0 1";
    try {
      Board check(fen);
      if (check.legal_moves().empty()) throw std::invalid_argument("no legal moves");
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": bad position: " + e.what());
    }
    out.push_back(Opening{fen, {}});
  }
  if (out.empty()) throw std::runtime_error("opening file " + path + " holds no positions");
  return out;
}

Opening OpeningBook::for_game(uint64_t id, uint64_t seed) const {
  Opening base = openings_.empty() ? Opening{} : openings_[id % openings_.size()];
  if (random_plies_ <= 0) return base;
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(id), uint32_t(id >> 32), 0x6f70u};
  std::mt19937_64 rng(seq);
  for (int attempt = 0; attempt < 100; ++attempt) {
    Board board(base.fen);
    Opening o = base;
    for (const auto& u : base.uci) {
      Move m;
      board.parse_uci(u, &m);
      board.push(m);
    }
    bool ok = true;
    for (int k = 0; k < random_plies_ && ok; ++k) {
      const auto moves = board.legal_moves();
      if (moves.empty() || board.game_end(moves) != GameEnd::kNone) {
        ok = false;
        break;
      }
      const Move m = moves[std::uniform_int_distribution<size_t>(0, moves.size() - 1)(rng)];
      o.uci.push_back(board.uci(m));
      board.push(m);
    }
    if (ok) {
      const auto moves = board.legal_moves();
      // balanced: no side a piece up after the random plies
      if (!moves.empty() && board.game_end(moves) == GameEnd::kNone && board.material_balance() == 0) return o;
    }
  }
  return base;
}

}  // namespace lcpipe::selfplay
