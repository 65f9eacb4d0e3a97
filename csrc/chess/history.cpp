#include "chess/history.h"

namespace lcpipe::chess {

PositionHistory::PositionHistory() : PositionHistory(position_from_fen(kStartFen)) {}

PositionHistory::PositionHistory(const Position& start) { reset(start); }

void PositionHistory::reset(const Position& start) {
  entries_.clear();
  Position p = start;
  p.hash = compute_hash(p);  // positions built field by field may not carry it
  entries_.push_back({p, 0, 0});
}

void PositionHistory::push(const Move& m) { record(make_move(last(), m)); }

void PositionHistory::pop() {
  if (entries_.size() > 1) entries_.pop_back();
}

void PositionHistory::record(const Position& p) {
  // Only positions since the last capture or pawn move can repeat, and only
  // with the same side to move: look back two plies at a time. The nearest
  // earlier occurrence already counts the ones before it.
  const int last = int(entries_.size());
  const int oldest = last - p.rule50;
  for (int i = last - 2; i >= 0 && i >= oldest; i -= 2) {
    const Entry& e = entries_[i];
    if (e.pos.hash == p.hash && same_position(e.pos, p)) {
      entries_.push_back({p, e.repetitions + 1, last - i});
      return;
    }
  }
  entries_.push_back({p, 0, 0});
}

GameResult PositionHistory::result() const { return search_result(-1); }

GameResult PositionHistory::search_result(int plies_from_root) const {
  MoveList moves;
  legal_moves(last(), &moves);
  return search_result(plies_from_root, moves.size);
}

GameResult PositionHistory::search_result(int plies_from_root, int legal_move_count) const {
  const Position& p = last();
  if (legal_move_count == 0) {
    if (!in_check(p)) return GameResult::kDraw;
    return p.to_move == kWhite ? GameResult::kBlackWon : GameResult::kWhiteWon;
  }
  if (insufficient_material(p)) return GameResult::kDraw;
  if (p.rule50 >= 100) return GameResult::kDraw;
  const Entry& e = entries_.back();
  if (e.repetitions >= 2) return GameResult::kDraw;
  if (e.repetitions == 1 && e.plies_since_repetition <= plies_from_root) return GameResult::kDraw;
  return GameResult::kUndecided;
}

}  // namespace lcpipe::chess
