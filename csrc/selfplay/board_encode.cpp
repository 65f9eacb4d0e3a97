// PROVISIONAL: encoder and policy index for input formats 1 and 2 until the
// chess layer's encoder.h / policy.h land (then this file calls them).
#include <cstring>
#include <stdexcept>

#include "loader/frame.h"
#include "selfplay/board_impl.h"

namespace lcpipe::selfplay {

namespace {

using chess::Position;

struct PolicyTable {
  int16_t idx[64][64][4];  // from, to, promotion code (0 none/knight, 1 q, 2 r, 3 b)
  PolicyTable() {
    std::memset(idx, -1, sizeof idx);
    int k = 0;
    for (int from = 0; from < 64; ++from) {
      const int fr = from / 8, ff = from % 8;
      for (int to = 0; to < 64; ++to) {
        if (to == from) continue;
        const int dr = to / 8 - fr, df = to % 8 - ff;
        const bool queen = dr == 0 || df == 0 || dr == df || dr == -df;
        const bool knight = (std::abs(dr) == 1 && std::abs(df) == 2) || (std::abs(dr) == 2 && std::abs(df) == 1);
        if (queen || knight) idx[from][to][0] = int16_t(k++);
      }
    }
    for (int ff = 0; ff < 8; ++ff)
      for (int tf = ff - 1; tf <= ff + 1; ++tf) {
        if (tf < 0 || tf > 7) continue;
        for (int code = 1; code <= 3; ++code) idx[48 + ff][56 + tf][code] = int16_t(k++);
      }
    if (k != 1858) throw std::logic_error("policy table size");
  }
};

const PolicyTable& table() {
  static const PolicyTable t;
  return t;
}

int promo_code(int8_t promotion) {
  switch (promotion) {
    case chess::kQueen: return 1;
    case chess::kRook: return 2;
    case chess::kBishop: return 3;
    default: return 0;
  }
}

uint64_t mirror_ranks(uint64_t x) { return __builtin_bswap64(x); }
uint64_t reverse_bytes_bits(uint64_t x) {  // a record stores each byte's bits reversed
  x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
  x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
  return x;
}

bool is_startpos(const Position& p) {
  static const Position start = chess::position_from_fen(chess::kStartFen);
  return p.to_move == chess::kWhite && p.ep_square < 0 && p.castling_rooks == start.castling_rooks &&
         std::memcmp(p.by_color, start.by_color, sizeof p.by_color) == 0 &&
         std::memcmp(p.by_type, start.by_type, sizeof p.by_type) == 0;
}

// rook files: white a-side, white h-side, black a-side, black h-side (-1: gone)
void castling_files(const Position& p, int out[4]) {
  for (int c = 0; c < 2; ++c) {
    const uint64_t rank = c == 0 ? chess::kRank1 : chess::kRank8;
    const uint64_t king = chess::pieces(p, chess::Color(c), chess::kKing) & rank;
    const int kfile = king ? chess::lsb(king) % 8 : 4;
    out[2 * c] = out[2 * c + 1] = -1;
    for (uint64_t r = p.castling_rooks & rank; r; r &= r - 1) {
      const int f = chess::lsb(r) % 8;
      if (f < kfile) out[2 * c] = f;
      else out[2 * c + 1] = f;
    }
  }
}

// the 12 piece planes of `p` seen from `black` (ours first)
void piece_view(const Position& p, bool black, uint64_t out[12]) {
  for (int side = 0; side < 2; ++side) {
    const chess::Color c = chess::Color(black ? 1 - side : side);
    for (int t = 0; t < 6; ++t) {
      const uint64_t b = chess::pieces(p, c, chess::PieceType(t));
      out[6 * side + t] = black ? mirror_ranks(b) : b;
    }
  }
}

void encode_record_at(const Board::Impl& b, int t, int fmt, V6Record* rec) {
  if (fmt != 1 && fmt != 2) throw std::invalid_argument("provisional encoder: input formats 1 and 2 only");
  const Position& cur = b.positions[size_t(t)];
  const bool black = cur.to_move == chess::kBlack;
  uint64_t masks[104] = {0};
  int hist = t;
  for (int i = 0; i < 8; ++i, --hist) {
    const Position& pos = b.positions[size_t(std::max(hist, 0))];
    if (hist < 0 && is_startpos(pos)) break;  // lc0's "fen_only" fill
    uint64_t view[12];
    piece_view(pos, black, view);
    const int epf = chess::ep_capture_file(pos);
    if (hist < 0 && epf >= 0) {  // put the pawn that just moved two back
      int src, dst;
      bool white_pawn;
      if (pos.to_move == chess::kBlack) src = 8 + epf, dst = 24 + epf, white_pawn = true;
      else src = 48 + epf, dst = 32 + epf, white_pawn = false;
      if (black) src ^= 56, dst ^= 56;
      const int k = white_pawn != black ? 0 : 6;
      view[k] = (view[k] & ~(uint64_t(1) << dst)) | (uint64_t(1) << src);
    }
    for (int j = 0; j < 12; ++j) masks[13 * i + j] = view[j];
    if (b.reps[size_t(std::max(hist, 0))] >= 1) masks[13 * i + 12] = ~uint64_t(0);
  }
  for (int j = 0; j < 104; ++j) rec->planes[j] = reverse_bytes_bits(masks[j]);
  int files[4];
  castling_files(cur, files);
  const int us_a = black ? files[2] : files[0], us_h = black ? files[3] : files[1];
  const int them_a = black ? files[0] : files[2], them_h = black ? files[1] : files[3];
  auto byte = [&](int f) -> uint8_t { return f < 0 ? 0 : fmt == 1 ? 1 : uint8_t(1u << f); };
  rec->castling_us_ooo = byte(us_a);
  rec->castling_us_oo = byte(us_h);
  rec->castling_them_ooo = byte(them_a);
  rec->castling_them_oo = byte(them_h);
  rec->side_to_move_or_enpassant = black ? 1 : 0;
  rec->rule50_count = uint8_t(std::min(cur.rule50, 255));
  rec->invariance_info = uint8_t(rec->invariance_info & 0x78);
  rec->input_format = uint32_t(fmt);
}

}  // namespace

uint16_t Board::policy_index(Move m, int transform) const { return policy_index_at(plies(), m, transform); }

uint16_t Board::policy_index_at(int ply, Move m, int transform) const {
  if (transform) throw std::invalid_argument("provisional policy index: no transforms");
  const bool black = impl_->positions.at(size_t(ply)).to_move == chess::kBlack;
  const int flip = black ? 56 : 0;
  const int16_t i = table().idx[m.from ^ flip][m.to ^ flip][promo_code(m.promotion)];
  if (i < 0) throw std::logic_error("move without a policy index");
  return uint16_t(i);
}

int Board::encode_record(int input_format, int ply, V6Record* rec) const {
  encode_record_at(*impl_, ply, input_format, rec);
  return 0;
}

int Board::encode_input(int input_format, float* out) const {
  V6Record rec;
  std::memset(&rec, 0, sizeof rec);
  encode_record_at(*impl_, plies(), input_format, &rec);
  alignas(16) unsigned char storage[sizeof(lcl::Frame) + 16] = {};
  auto* f = reinterpret_cast<lcl::Frame*>(storage);
  std::memcpy(f->planes, rec.planes, sizeof f->planes);
  f->input_format = rec.input_format;
  f->castling[0] = rec.castling_us_ooo;
  f->castling[1] = rec.castling_us_oo;
  f->castling[2] = rec.castling_them_ooo;
  f->castling[3] = rec.castling_them_oo;
  f->stm_ep = rec.side_to_move_or_enpassant;
  f->rule50 = rec.rule50_count;
  f->invariance = rec.invariance_info;
  f->version = 6;
  lcl::encode_inputs(*f, out);
  lcl::encode_done();
  return 0;
}

}  // namespace lcpipe::selfplay
