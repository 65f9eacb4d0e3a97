// The self-play engine's view of a game's positions: the chess layer
// (csrc/chess) behind the few calls the search, the games and the writer need.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "selfplay/chess_types.h"
#include "selfplay/record.h"
#include "selfplay/tree.h"

namespace lcpipe::selfplay {

// How a played game ended by the rules (none: it goes on).
enum class GameEnd { kNone, kCheckmate, kStalemate, kFiftyMoves, kInsufficientMaterial, kRepetition };
const char* game_end_name(GameEnd e);

class Board {
 public:
  // A start position (FEN; "startpos" or empty for the standard one). Throws
  // std::invalid_argument for a bad FEN.
  explicit Board(const std::string& fen = "");
  Board(const Board&);
  Board& operator=(const Board&);
  ~Board();

  void push(Move m);
  void pop();
  int plies() const;  // moves pushed since the start position
  bool black_to_move() const;
  bool black_to_move_at(int ply) const;  // position `ply` (0 = the start)
  std::vector<Move> legal_moves() const;
  void legal_moves(std::vector<Move>* out) const;  // into a reused buffer
  // Repetitions of the current position before it (0: first occurrence).
  int repetitions() const;
  // The rules' verdict on the current position, given its legal moves:
  // inside the tree one earlier occurrence is already a draw; in the game a
  // threefold repetition.
  Terminal terminal(const std::vector<Move>& moves, bool in_tree) const;
  GameEnd game_end(const std::vector<Move>& moves) const;
  int material_balance() const;  // white minus black, P=1 N=B=3 R=5 Q=9
  std::string uci(Move m) const;
  bool parse_uci(const std::string& uci, Move* out) const;
  std::string fen() const;

  // Policy index of a legal move of the current position, seen from the side
  // to move, under a canonical transform (0: none).
  uint16_t policy_index(Move m, int transform) const;
  // Network input f32[112*64] of the current position; returns its transform.
  int encode_input(int input_format, float* out) const;
  // Planes and aux bytes of position `ply` (0 = the start) into `rec`;
  // returns its transform.
  int encode_record(int input_format, int ply, V6Record* rec) const;
  // Policy index of `m` at position `ply` under `transform`.
  uint16_t policy_index_at(int ply, Move m, int transform) const;

  // Syzygy: true with the white-relative score (1, 0, -1) when the current
  // position is in the tables (no castling, few enough pieces).
  bool probe_syzygy(const void* tablebases, int* score_white) const;

  struct Impl;  // board_impl.h: shared by board.cpp and board_encode.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lcpipe::selfplay
