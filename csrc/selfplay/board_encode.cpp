// Board's encoder and policy index: the chess layer's (csrc/chess/encoder.h,
// policy.h), with lc0's training fill of the history ("fen_only").
#include <cstring>
#include <stdexcept>

#include "chess/encoder.h"
#include "chess/policy.h"
#include "selfplay/board_impl.h"

namespace lcpipe::selfplay {

namespace {

constexpr auto kFill = chess::FillEmptyHistory::kFenOnly;

}  // namespace

uint16_t Board::policy_index(Move m, int transform) const { return policy_index_at(plies(), m, transform); }

uint16_t Board::policy_index_at(int ply, Move m, int transform) const {
  if (ply < 0 || ply >= impl_->history.size()) throw std::out_of_range("no such ply");
  const int i = chess::policy_index(impl_->history.at(ply), m, transform);
  if (i < 0) throw std::logic_error("a legal move without a policy index");
  return uint16_t(i);
}

int Board::encode_record(int input_format, int ply, V6Record* rec) const {
  const chess::EncodedPosition e = chess::encode_position(impl_->history, input_format, kFill, ply);
  std::memcpy(rec->planes, e.planes, sizeof rec->planes);
  rec->input_format = uint32_t(input_format);
  rec->castling_us_ooo = e.castling[0];
  rec->castling_us_oo = e.castling[1];
  rec->castling_them_ooo = e.castling[2];
  rec->castling_them_oo = e.castling[3];
  rec->side_to_move_or_enpassant = e.side_to_move_or_enpassant;
  rec->rule50_count = e.rule50;
  // bits 3-6 belong to the game (adjudicated, max length, ...); the encoder owns the rest
  rec->invariance_info = uint8_t((rec->invariance_info & 0x78) | e.invariance_info);
  return e.transform;
}

int Board::encode_input(int input_format, float* out) const {
  const chess::EncodedPosition e = chess::encode_position(impl_->history, input_format, kFill, -1);
  chess::write_network_input(e, out);
  return e.transform;
}

}  // namespace lcpipe::selfplay
