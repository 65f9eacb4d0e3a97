// The current position of a frame, rebuilt for the Syzygy prober.
//
// Pieces come from planes 0-11 as stored: seen from the side to move, so
// "ours" becomes white to move. WDL/DTZ values do not depend on colour names,
// and the canonical formats' flip/mirror/transpose are only applied where
// the tables are symmetric (flip with pawns; all three without), so the
// planes need not be transformed back.
#pragma once

#include "common/frame.h"
#include "syzygy/tablebases.h"

namespace lcl {

// Pieces, castling rights (rook squares; corner rooks for format 1, which
// stores only flags), rule50 and en passant of frame `f`'s current
// position, with the side to move as white. No Zobrist key (the prober needs none).
lcpipe::tb::Position frame_position(const Frame& f);

// A stored plane as a bitboard with square s at bit s.
uint64_t plane_mask(uint64_t stored);

}  // namespace lcl
