// Board: a game's positions (start position plus pushed moves) over the
// chess layer, with repetition counts kept as moves are pushed and popped.
#include "selfplay/board.h"

#include <cstdlib>
#include <stdexcept>

#include "selfplay/board_impl.h"
#include "syzygy/tablebases.h"

namespace lcpipe::selfplay {

using chess::Position;

const char* game_end_name(GameEnd e) {
  switch (e) {
    case GameEnd::kCheckmate: return "checkmate";
    case GameEnd::kStalemate: return "stalemate";
    case GameEnd::kFiftyMoves: return "fifty_moves";
    case GameEnd::kInsufficientMaterial: return "insufficient_material";
    case GameEnd::kRepetition: return "repetition";
    default: return "none";
  }
}

Board::Board(const std::string& fen) : impl_(std::make_unique<Impl>()) {
  const std::string f = fen.empty() || fen == "startpos" ? std::string(chess::kStartFen) : fen;
  Position p = chess::position_from_fen(f);  // throws std::invalid_argument with the reason
  if (!chess::is_valid(p)) throw std::invalid_argument("not a legal position: " + f);
  impl_->history.reset(p);
}

Board::Board(const Board& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
Board& Board::operator=(const Board& o) {
  if (this != &o) impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}
Board::~Board() = default;

void Board::push(Move m) { impl_->history.push(m); }

void Board::pop() {
  if (impl_->history.size() <= 1) throw std::logic_error("pop past the start position");
  impl_->history.pop();
}

int Board::plies() const { return impl_->history.size() - 1; }
bool Board::black_to_move() const { return impl_->history.last().to_move == chess::kBlack; }
bool Board::black_to_move_at(int ply) const {
  if (ply < 0 || ply >= impl_->history.size()) throw std::out_of_range("no such ply");
  return impl_->history.at(ply).to_move == chess::kBlack;
}
int Board::repetitions() const { return impl_->history.repetitions(impl_->history.size() - 1); }

std::vector<Move> Board::legal_moves() const {
  std::vector<Move> out;
  legal_moves(&out);
  return out;
}

void Board::legal_moves(std::vector<Move>* out) const {
  chess::MoveList list;
  chess::legal_moves(impl_->history.last(), &list);
  out->assign(list.begin(), list.end());
}

Terminal Board::terminal(const std::vector<Move>& moves, bool in_tree) const {
  const Position& p = impl_->history.last();
  if (moves.empty()) return chess::in_check(p) ? Terminal::kMate : Terminal::kDraw;
  if (p.rule50 >= 100 || chess::insufficient_material(p)) return Terminal::kDraw;
  if (repetitions() >= (in_tree ? 1 : 2)) return Terminal::kDraw;
  return Terminal::kNone;
}

GameEnd Board::game_end(const std::vector<Move>& moves) const {
  const Position& p = impl_->history.last();
  if (moves.empty()) return chess::in_check(p) ? GameEnd::kCheckmate : GameEnd::kStalemate;
  if (p.rule50 >= 100) return GameEnd::kFiftyMoves;
  if (chess::insufficient_material(p)) return GameEnd::kInsufficientMaterial;
  if (repetitions() >= 2) return GameEnd::kRepetition;
  return GameEnd::kNone;
}

int Board::material_balance() const {
  static const int kValue[5] = {1, 3, 3, 5, 9};
  const Position& p = impl_->history.last();
  int diff = 0;
  for (int t = 0; t < 5; ++t)
    diff += kValue[t] * (chess::popcount(chess::pieces(p, chess::kWhite, chess::PieceType(t))) -
                         chess::popcount(chess::pieces(p, chess::kBlack, chess::PieceType(t))));
  return diff;
}

std::string Board::uci(Move m) const { return chess::move_to_uci(impl_->history.last(), m); }
bool Board::parse_uci(const std::string& uci, Move* out) const {
  return chess::move_from_uci(impl_->history.last(), uci, out);
}
std::string Board::fen() const { return chess::to_fen(impl_->history.last()); }

bool Board::probe_syzygy(const void* tablebases, int* score_white) const {
  const auto* tables = static_cast<const tb::Tablebases*>(tablebases);
  const Position& p = impl_->history.last();
  if (!tables || p.has_castling() || p.piece_count() > tables->max_pieces()) return false;
  const auto wdl = tables->probe_wdl(p);
  if (!wdl) return false;
  // a cursed win or blessed loss cannot be won under the 50-move rule: a draw
  const int stm = *wdl == tb::Wdl::kWin ? 1 : *wdl == tb::Wdl::kLoss ? -1 : 0;
  *score_white = p.to_move == chess::kWhite ? stm : -stm;
  return true;
}

}  // namespace lcpipe::selfplay
