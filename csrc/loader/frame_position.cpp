#include "loader/frame_position.h"

namespace lcl {

namespace {

// En passant square (rank 6 in our view) or -1. Canonical formats store the
// file in the aux byte (set only when a capture is possible; flipped along
// with the planes). Formats 1 and 2 do not store it: it is inferred from
// history block 1 (their pawn that stood on its start rank moved two ranks
// down this ply, over an empty square).
int ep_square(const Frame& f) {
  if (canonical_format(f.input_format)) {
    const uint8_t m = f.stm_ep;
    if (m == 0 || (m & (m - 1)) != 0) return -1;  // none, or not a single file
    return 40 + __builtin_ctz(m);
  }
  const uint64_t now = plane_mask(f.planes[6]);      // their pawns now
  const uint64_t before = plane_mask(f.planes[19]);  // their pawns one ply earlier
  const uint64_t from = before & ~now, to = now & ~before;
  if (__builtin_popcountll(from) != 1 || __builtin_popcountll(to) != 1) return -1;
  const int src = __builtin_ctzll(from), dst = __builtin_ctzll(to);
  if (src / 8 != 6 || dst != src - 16) return -1;
  uint64_t occupied = 0;
  for (int k = 0; k < 12; ++k) occupied |= plane_mask(f.planes[k]);
  const int behind = src - 8;
  return (occupied >> behind & 1) ? -1 : behind;
}

// Rook squares of the castling rights, from the side to move's view (us on
// rank 1). Format 1 stores only flags: the rooks then stand in the corners.
uint64_t castling_rooks(const Frame& f) {
  uint64_t rooks = 0;
  for (int i = 0; i < 4; ++i) {
    const uint8_t c = f.castling[i];
    if (!c) continue;
    const int file = f.input_format == 1 ? (i % 2 == 0 ? 0 : 7) : __builtin_ctz(c);
    rooks |= uint64_t(1) << ((i < 2 ? 0 : 56) + file);
  }
  return rooks;
}

}  // namespace

uint64_t plane_mask(uint64_t x) {
  // The record reverses the bits inside each byte; undo it.
  x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
  x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
  return x;
}

lcpipe::tb::Position frame_position(const Frame& f) {
  lcpipe::tb::Position p;
  for (int t = 0; t < 6; ++t) {
    const uint64_t ours = plane_mask(f.planes[t]), theirs = plane_mask(f.planes[6 + t]);
    p.by_type[t] = ours | theirs;
    p.by_color[lcpipe::tb::kWhite] |= ours;
    p.by_color[lcpipe::tb::kBlack] |= theirs;
  }
  p.to_move = lcpipe::tb::kWhite;
  p.rule50 = f.rule50;
  p.castling_rooks = castling_rooks(f);
  p.ep_square = ep_square(f);
  return p;
}

}  // namespace lcl
