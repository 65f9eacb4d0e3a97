// lc0's input encoder: a position with its history -> the 104 history planes
// and the aux bytes of a training record, bit for bit what
// lcpipe.lc0.encoder.encode produces, for input formats 1, 2, 3, 4, 5, 132
// and 133; and the network's f32[112 * 64] input from them through the
// loader's lcl::encode_inputs, so the aux-plane layout has one source.
#pragma once

#include <cstdint>

#include "chess/history.h"

namespace lcpipe::chess {

// What goes into history slots before the first recorded position:
// nothing, a repeat of the first position unless it is the standard start
// (lc0's training setting), or always a repeat.
enum class FillEmptyHistory : int { kNo = 0, kFenOnly = 1, kAlways = 2 };

bool supported_input_format(int input_format);

struct EncodedPosition {
  uint64_t planes[104];  // as stored in a record: bits reversed inside each byte
  uint8_t castling[4];   // us_ooo, us_oo, them_ooo, them_oo
  uint8_t side_to_move_or_enpassant;
  uint8_t rule50;
  uint8_t invariance_info;  // transform | 128 when black moves (canonical formats), else 0
  uint8_t transform;        // FLIP 1, MIRROR 2, TRANSPOSE 4 applied to the planes
  uint8_t input_format;
  bool black_to_move;
};

// Encodes position `t` of `h` (negative: from the end, -1 is the last).
// Throws std::invalid_argument for an unsupported format or t out of range.
EncodedPosition encode_position(const PositionHistory& h, int input_format, FillEmptyHistory fill, int t = -1);

// The network input (112 planes of 64 floats) for an encoded position.
void write_network_input(const EncodedPosition& e, float* out /*112 * 64*/);

}  // namespace lcpipe::chess
