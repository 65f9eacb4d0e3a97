// One self-play game: its board, its search, the move choice (temperature
// schedule), resignation, the end of the game, and the per-ply records the
// writer turns into training frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "selfplay/board.h"
#include "selfplay/noise.h"
#include "selfplay/params.h"
#include "selfplay/search.h"

namespace lcpipe::selfplay {

// What the search said at one position, and what was played.
struct PlyRecord {
  std::vector<Move> moves;
  std::vector<int64_t> visits_per_move;
  std::vector<double> prior;  // the network's priors
  Value root, orig, best, played;
  size_t best_i = 0, played_i = 0;
  int64_t visits = 0;
};

struct GameResult {
  int white = 0;            // 1, 0, -1
  std::string termination;  // checkmate, stalemate, fifty_moves, insufficient_material, repetition,
                            // resign, max_plies, tablebase
  uint8_t flags = 0;        // invariance_info bits set on every frame
};

// Where a game starts: a FEN and moves already played from it (an opening).
struct Opening {
  std::string fen;               // empty: the standard start position
  std::vector<std::string> uci;  // moves played before self-play takes over (not recorded)
};

class SelfPlayGame {
 public:
  // `rng_seed` is (seed, game id): the game's randomness does not depend on
  // which games run beside it. `tablebases` may be null.
  SelfPlayGame(uint64_t id, uint64_t seed, const SearchParams& sp, const GameParams& gp, const Opening& opening,
               const void* tablebases = nullptr);

  enum class Step { kNeedsEval, kFinished };
  // Advance until a leaf needs the network (its input written to `input`) or
  // the game is over. `logits`/`wdl`/`moves_left` are the outputs for the
  // leaf asked for by the previous call (null on the first call).
  Step advance(const float* logits, const float* wdl, float moves_left, float* input);

  uint64_t id() const { return id_; }
  bool finished() const { return finished_; }
  const GameResult& result() const { return result_; }
  const std::vector<PlyRecord>& records() const { return records_; }
  const std::vector<Move>& moves() const { return moves_; }
  // UCI of every move from the start position, the opening's included.
  const std::vector<std::string>& uci_moves() const { return uci_; }
  const std::string& start_fen() const { return start_fen_; }
  const Board& board() const { return board_; }  // the start position plus the moves played
  int opening_plies() const { return opening_plies_; }
  int ply() const { return int(moves_.size()); }
  double temperature() const;
  int input_format() const { return search_.params().input_format; }
  // Drop the tree and any waiting leaf, encode with `fmt` from now on (a
  // newer network trained on another input format).
  void restart_search(int fmt);
  // Two networks share the game: neither may reuse the other's tree.
  void disable_tree_reuse() { search_.params().tree_reuse = false; }

 private:
  bool search_done() const;
  // Search is done: maybe resign, record the position, play. True if the game ended.
  bool make_move();
  size_t choose(const Node& root);
  bool check_end();

  uint64_t id_;
  GameParams gp_;
  Rng rng_;
  Board board_;
  Search search_;
  const void* tablebases_;
  int opening_plies_ = 0;
  bool may_resign_ = false;
  bool searched_since_move_ = false;
  bool finished_ = false;
  GameResult result_;
  std::vector<PlyRecord> records_;
  std::vector<Move> moves_;
  std::vector<std::string> uci_;
  std::string start_fen_;
};

}  // namespace lcpipe::selfplay
