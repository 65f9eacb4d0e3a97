// The lc0 V6 training record (LC0_FORMATS.md section 2), packed, 8356 bytes.
#pragma once

#include <cstdint>

namespace lcpipe::selfplay {

#pragma pack(push, 1)
struct V6Record {
  uint32_t version;
  uint32_t input_format;
  float probabilities[1858];
  uint64_t planes[104];
  uint8_t castling_us_ooo, castling_us_oo, castling_them_ooo, castling_them_oo;
  uint8_t side_to_move_or_enpassant;
  uint8_t rule50_count;
  uint8_t invariance_info;
  uint8_t dummy;
  float root_q, best_q, root_d, best_d, root_m, best_m;
  float plies_left;
  float result_q, result_d;
  float played_q, played_d, played_m;
  float orig_q, orig_d, orig_m;
  uint32_t visits;
  uint16_t played_idx, best_idx;
  float policy_kld;
  uint32_t reserved;
};
#pragma pack(pop)
static_assert(sizeof(V6Record) == 8356, "V6 record size");

constexpr uint8_t kAdjudicated = 1 << 5;  // invariance_info bits
constexpr uint8_t kMaxLength = 1 << 4;

}  // namespace lcpipe::selfplay
