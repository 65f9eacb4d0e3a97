// A port of lcpipe/lc0/encoder.py's encode; the Python module is the
// reference and tests/chess/test_encoder_parity.py holds the two together.
#include "chess/encoder.h"

#include <stdexcept>
#include <string>

#include "common/frame.h"

namespace lcpipe::chess {

namespace {

constexpr uint64_t kFull = ~uint64_t(0);
constexpr int kFlip = 1, kMirror = 2, kTranspose = 4;

uint64_t flip_files(uint64_t x) {  // a <-> h: reverse the bits of every byte
  x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
  x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
  return x;
}

uint64_t mirror_ranks(uint64_t x) { return __builtin_bswap64(x); }

uint64_t transpose(uint64_t x) {  // (rank, file) -> (7 - file, 7 - rank)
  uint64_t out = 0;
  for (; x; x &= x - 1) {
    const int sq = lsb(x);
    out |= bit((7 - sq % 8) * 8 + 7 - sq / 8);
  }
  return out;
}

uint64_t apply_transform(uint64_t x, int transform) {
  if (x == 0 || x == kFull) return x;
  if (transform & kFlip) x = flip_files(x);
  if (transform & kMirror) x = mirror_ranks(x);
  if (transform & kTranspose) x = transpose(x);
  return x;
}

// Everything the encoder reads from one position of the history.
struct Snapshot {
  const Position* pos;
  bool black_to_move;
  int castling[4];  // rook files: white a-side, white h-side, black a-side, black h-side; -1 none
  int ep_file;
  int rule50;
  int repetitions;

  bool same_castling(const Snapshot& o) const {
    for (int i = 0; i < 4; ++i)
      if (castling[i] != o.castling[i]) return false;
    return true;
  }
};

Snapshot snapshot(const PositionHistory& h, int i) {
  const Position& p = h.at(i);
  Snapshot s{&p, p.to_move == kBlack, {-1, -1, -1, -1}, ep_capture_file(p), p.rule50, h.repetitions(i)};
  for (Color c : {kWhite, kBlack}) {
    const uint64_t rights = p.castling_rooks & (c == kWhite ? kRank1 : kRank8);
    const uint64_t king = pieces(p, c, kKing);
    const int king_file = king ? lsb(king) % 8 : 4;
    for (uint64_t r = rights; r; r &= r - 1) {
      const int file = lsb(r) % 8;
      s.castling[2 * c + (file < king_file ? 0 : 1)] = file;
    }
  }
  return s;
}

bool is_startpos(const Position& p) {
  static const Position start = position_from_fen(kStartFen);
  for (int c = 0; c < 2; ++c)
    if (p.by_color[c] != start.by_color[c]) return false;
  for (int t = 0; t < 6; ++t)
    if (p.by_type[t] != start.by_type[t]) return false;
  return p.to_move == kWhite && p.castling_rooks == start.castling_rooks && p.ep_square < 0;
}

// Our P N B R Q K then theirs, from the side to move's view (ranks mirrored for black).
void view(const Position& p, bool black_view, uint64_t out[12]) {
  const Color us = black_view ? kBlack : kWhite;
  for (int t = 0; t < 6; ++t) {
    const uint64_t ours = p.by_color[us] & p.by_type[t], theirs = p.by_color[1 - us] & p.by_type[t];
    out[t] = black_view ? mirror_ranks(ours) : ours;
    out[6 + t] = black_view ? mirror_ranks(theirs) : theirs;
  }
}

// Puts back the pawn that just moved two squares (filled-in history before the first position).
void undo_double_push(const Snapshot& s, bool black_view, uint64_t v[12]) {
  const int f = s.ep_file;
  int src, dst;
  bool white_pawn;
  if (s.black_to_move) {
    src = 8 + f, dst = 24 + f, white_pawn = true;
  } else {
    src = 48 + f, dst = 32 + f, white_pawn = false;
  }
  if (black_view) src ^= 56, dst ^= 56;
  const int idx = (white_pawn != black_view) ? 0 : 6;
  v[idx] = (v[idx] & ~bit(dst)) | bit(src);
}

// -1, 0, 1 as value (after FLIP/MIRROR of `transform`) compares with its transpose.
int compare_transposing(uint64_t value, int transform) {
  if (transform & kFlip) value = flip_files(value);
  if (transform & kMirror) value = mirror_ranks(value);
  const uint64_t alt = transpose(value);
  return (value > alt) - (value < alt);
}

int choose_transform(const uint64_t* m, bool castling_any) {
  if (castling_any) return 0;
  uint64_t our_king = m[5];
  int transform = 0;
  if (our_king & 0x0F0F0F0F0F0F0F0Full) {
    transform |= kFlip;
    our_king = flip_files(our_king);
  }
  if (m[0] | m[6]) return transform;
  if (our_king & 0xFFFFFFFF00000000ull) {
    transform |= kMirror;
    our_king = mirror_ranks(our_king);
  }
  if (our_king & 0xE0C08000ull) return transform | kTranspose;
  if (our_king & 0x10204080ull) {
    const uint64_t ours = m[0] | m[1] | m[2] | m[3] | m[4] | m[5];
    const uint64_t theirs = m[6] | m[7] | m[8] | m[9] | m[10] | m[11];
    for (uint64_t value : {ours | theirs, ours, m[5] | m[11], m[4] | m[10], m[3] | m[9], m[1] | m[7], m[2] | m[8]}) {
      const int outcome = compare_transposing(value, transform);
      if (outcome < 0) return transform;
      if (outcome > 0) return transform | kTranspose;
    }
  }
  return transform;
}

}  // namespace

bool supported_input_format(int f) { return f == 1 || f == 2 || f == 3 || f == 4 || f == 5 || f == 132 || f == 133; }

EncodedPosition encode_position(const PositionHistory& h, int input_format, FillEmptyHistory fill, int t) {
  if (!supported_input_format(input_format))
    throw std::invalid_argument("unknown input format " + std::to_string(input_format));
  if (t < 0) t += h.size();
  if (t < 0 || t >= h.size()) throw std::invalid_argument("position index out of range");
  const Snapshot cur = snapshot(h, t);
  const bool black = cur.black_to_move;
  const bool canonical = input_format != 1 && input_format != 2;
  const bool v2 = input_format == 5 || input_format == 133;
  uint64_t masks[104] = {};
  int hist = t;
  for (int i = 0; i < 8;) {
    const Snapshot pos = hist == t ? cur : snapshot(h, hist < 0 ? 0 : hist);
    if (canonical && !pos.same_castling(cur)) break;
    if (canonical && hist != t && pos.ep_file >= 0) break;
    if (hist < 0 && (fill == FillEmptyHistory::kNo || (fill == FillEmptyHistory::kFenOnly && is_startpos(*pos.pos))))
      break;
    if (v2 && pos.repetitions == 0 && i > 0) {
      if (pos.rule50 == 0 || hist < 0) break;  // hist < 0: nothing older can repeat
      --hist;
      continue;
    }
    uint64_t* v = masks + 13 * i;
    view(*pos.pos, black, v);
    if (hist < 0 && pos.ep_file >= 0) undo_double_push(pos, black, v);
    if (pos.repetitions >= 1) v[12] = kFull;
    if (canonical && pos.rule50 == 0) break;
    --hist;
    ++i;
  }

  EncodedPosition e{};
  const int* c = cur.castling;
  const int us_them[4] = {black ? c[2] : c[0], black ? c[3] : c[1], black ? c[0] : c[2], black ? c[1] : c[3]};
  bool castling_any = false;
  for (int i = 0; i < 4; ++i) {
    castling_any |= us_them[i] >= 0;
    e.castling[i] = us_them[i] < 0 ? 0 : input_format == 1 ? 1 : uint8_t(1u << us_them[i]);
  }
  int transform = 0;
  if (canonical) {
    transform = choose_transform(masks, castling_any);
    if (transform)
      for (uint64_t& m : masks) m = apply_transform(m, transform);
    int ep = cur.ep_file;
    if (ep >= 0 && (transform & kFlip)) ep = 7 - ep;
    e.side_to_move_or_enpassant = ep >= 0 ? uint8_t(1u << ep) : 0;
    e.invariance_info = uint8_t(transform | (black ? 128 : 0));
  } else {
    e.side_to_move_or_enpassant = black ? 1 : 0;
    e.invariance_info = 0;
  }
  for (int k = 0; k < 104; ++k) e.planes[k] = flip_files(masks[k]);  // the record's byte-wise bit order
  e.rule50 = uint8_t(cur.rule50 < 255 ? cur.rule50 : 255);
  e.transform = uint8_t(transform);
  e.input_format = uint8_t(input_format);
  e.black_to_move = black;
  return e;
}

void write_network_input(const EncodedPosition& e, float* out) {
  lcl::Frame f{};
  for (int k = 0; k < 104; ++k) f.planes[k] = e.planes[k];
  for (int i = 0; i < 4; ++i) f.castling[i] = e.castling[i];
  f.input_format = e.input_format;
  f.stm_ep = e.side_to_move_or_enpassant;
  f.rule50 = e.rule50;
  f.invariance = e.invariance_info;
  lcl::encode_inputs(f, out);
  lcl::encode_done();
}

}  // namespace lcpipe::chess
