// Syzygy position indexing: how a table slice turns the squares of its pieces
// into the index of the stored value. Pieces come in groups (the leading
// group, then runs of identical pieces); each group's placements are counted
// by a combinatorial number and the groups are combined in mixed radix, in
// the slot order the table header gives.
#pragma once

#include <cstdint>

namespace lcpipe::tb::index {

constexpr int kMaxPieces = 7;

// One slice's indexing scheme, built from its header by make_layout.
struct Layout {
  bool pawns = false;        // leading group = pawns of one colour
  bool unique_lead = false;  // pawnless: three unique pieces lead (else the two kings)
  bool pawns_both = false;   // pawns: the second group holds the other colour's pawns
  int file = 0;              // pawns: the leading pawn's file slice, a..d
  int pieces = 0;
  int groups = 0;
  int group_len[kMaxPieces] = {};
  uint64_t factor[kMaxPieces] = {};
  uint64_t size = 0;  // positions in the slice
};

// `codes` are the slice's piece codes in table order (bit 3 colour, low bits
// type 1..6); lead_pawns counts the leading pawns (0 for pawnless tables),
// other_pawns the other colour's pawns; order/order2 are the header's slot
// nibbles of the leading group and of the other pawns. False when the header
// is inconsistent.
bool make_layout(const uint8_t* codes, int pieces, bool unique_lead, int lead_pawns, int other_pawns, int file,
                 int order, int order2, Layout* out);

// How strongly a pawn square leads (a2 highest): the leading pawn is the one
// with the largest value, i.e. nearest the a/h edge, then lowest.
int pawn_lead_rank(int sq);

// Index of the squares (table order, leading pawn first for pawn tables;
// modified in place), or -1 when they cannot be encoded (the file is wrong).
int64_t encode(const Layout& layout, int* squares);

}  // namespace lcpipe::tb::index
