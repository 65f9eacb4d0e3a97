// Syzygy indexing (see index.h). The symmetry reductions: pawnless
// tables map the first leading piece into the a1-d1-d4 triangle (file,
// rank and diagonal mirroring), pawn tables keep the leading pawn on files
// a-d (file mirroring) and have one slice per file.
#include "syzygy/index.h"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

namespace lcpipe::tb::index {

namespace {

constexpr uint64_t kUniqueLeadPlacements = 31332;  // three unique pieces, one in the triangle
constexpr uint64_t kKingPairPlacements = 462;      // two non-adjacent kings, one in the triangle

int file_of(int sq) { return sq & 7; }
int rank_of(int sq) { return sq >> 3; }
int off_diagonal(int sq) { return rank_of(sq) - file_of(sq); }  // > 0 above the a1-h8 diagonal
int transpose(int sq) { return ((sq >> 3) | (sq << 3)) & 63; }

struct Maps {
  uint64_t binom[65][kMaxPieces + 1];
  int triangle[64];                     // a1-d1-d4 triangle: b1 c1 d1 c2 d2 d3 -> 0..5, a1 b2 c3 d4 -> 6..9; else -1
  int below[64];                        // squares below the a1-h8 diagonal -> 0..27; else -1
  int king_pair[10][64];                // [triangle code of first king][second king] -> 0..461, -1 if impossible
  int pawn_twist[64];                   // pawn squares a2..h7 -> 0..47, larger = leads
  uint64_t lead_index[kMaxPieces][64];  // [leading pawns][leading pawn's square]
  uint64_t lead_size[kMaxPieces][4];    // [leading pawns][file]
};

bool kings_touch(int a, int b) {
  return std::abs(file_of(a) - file_of(b)) <= 1 && std::abs(rank_of(a) - rank_of(b)) <= 1;
}

Maps build_maps() {
  Maps m{};
  for (int n = 0; n <= 64; ++n) {
    m.binom[n][0] = 1;
    for (int k = 1; k <= kMaxPieces; ++k) m.binom[n][k] = n == 0 ? 0 : m.binom[n - 1][k - 1] + m.binom[n - 1][k];
  }
  int code = 0;
  for (int sq = 0; sq < 64; ++sq) m.below[sq] = off_diagonal(sq) < 0 ? code++ : -1;
  std::fill(std::begin(m.triangle), std::end(m.triangle), -1);
  code = 0;
  for (int sq = 0; sq < 64; ++sq)
    if (file_of(sq) <= 3 && off_diagonal(sq) < 0 && rank_of(sq) <= 3) m.triangle[sq] = code++;
  for (int sq = 0; sq < 64; ++sq)
    if (file_of(sq) <= 3 && off_diagonal(sq) == 0) m.triangle[sq] = code++;
  // King pairs: the second king in square order, except that pairs with both
  // kings on the diagonal come last; with the first king on the diagonal the
  // second is never above it (the diagonal mirror removes those).
  for (auto& row : m.king_pair) std::fill(std::begin(row), std::end(row), -1);
  code = 0;
  std::vector<std::pair<int, int>> both_on_diagonal;
  for (int t = 0; t < 10; ++t) {
    int first = int(std::find(std::begin(m.triangle), std::end(m.triangle), t) - std::begin(m.triangle));
    for (int second = 0; second < 64; ++second) {
      if (second == first || kings_touch(first, second)) continue;
      if (off_diagonal(first) == 0 && off_diagonal(second) > 0) continue;
      if (off_diagonal(first) == 0 && off_diagonal(second) == 0)
        both_on_diagonal.emplace_back(t, second);
      else
        m.king_pair[t][second] = code++;
    }
  }
  for (auto [t, second] : both_on_diagonal) m.king_pair[t][second] = code++;
  // Pawn twist: by distance from the a/h edge, then rank, a-side before h-side.
  for (int sq = 0; sq < 64; ++sq) {
    int r = rank_of(sq), f = file_of(sq);
    m.pawn_twist[sq] = (r < 1 || r > 6) ? 0 : 47 - (12 * std::min(f, 7 - f) + 2 * (r - 1) + (f >= 4 ? 1 : 0));
  }
  // The other leading pawns all twist below the leading one: count their
  // placements for every leading square, files a-d, ranks 2..7 in turn.
  for (int count = 1; count < kMaxPieces; ++count)
    for (int f = 0; f < 4; ++f) {
      uint64_t idx = 0;
      for (int r = 1; r <= 6; ++r) {
        int sq = r * 8 + f;
        m.lead_index[count][sq] = idx;
        idx += m.binom[m.pawn_twist[sq]][count - 1];
      }
      m.lead_size[count][f] = idx;
    }
  return m;
}

const Maps& maps() {
  static const Maps m = build_maps();
  return m;
}

// Placements of the leading group, -1 if it cannot be encoded.
int64_t encode_lead_pieces(const Layout& l, int* sq, const Maps& m) {
  const int n = l.pieces;
  if (file_of(sq[0]) > 3)
    for (int i = 0; i < n; ++i) sq[i] ^= 7;
  if (rank_of(sq[0]) > 3)
    for (int i = 0; i < n; ++i) sq[i] ^= 56;
  // The first leading piece off the diagonal decides the diagonal mirror.
  for (int i = 0; i < l.group_len[0]; ++i) {
    if (off_diagonal(sq[i]) == 0) continue;
    if (off_diagonal(sq[i]) > 0)
      for (int j = 0; j < n; ++j) sq[j] = transpose(sq[j]);
    break;
  }
  if (m.triangle[sq[0]] < 0) return -1;
  if (!l.unique_lead) return m.king_pair[m.triangle[sq[0]]][sq[1]];
  const int s0 = sq[0], s1 = sq[1], s2 = sq[2];
  if (s0 == s1 || s0 == s2 || s1 == s2) return -1;
  const int adj1 = s1 > s0;
  const int adj2 = (s2 > s0) + (s2 > s1);
  // Four cases by how many of the three lie on the diagonal, each a block
  // after the previous: 6*63*62, 4*28*62, 4*7*28, 4*7*6 placements.
  if (off_diagonal(s0)) return (int64_t(m.triangle[s0]) * 63 + (s1 - adj1)) * 62 + (s2 - adj2);
  if (off_diagonal(s1)) return 6 * 63 * 62 + (int64_t(rank_of(s0)) * 28 + m.below[s1]) * 62 + (s2 - adj2);
  if (off_diagonal(s2))
    return 6 * 63 * 62 + 4 * 28 * 62 + rank_of(s0) * 7 * 28 + (rank_of(s1) - adj1) * 28 + m.below[s2];
  return 6 * 63 * 62 + 4 * 28 * 62 + 4 * 7 * 28 + rank_of(s0) * 7 * 6 + (rank_of(s1) - adj1) * 6 + (rank_of(s2) - adj2);
}

int64_t encode_lead_pawns(const Layout& l, int* sq, const Maps& m) {
  const int n = l.pieces, lead = l.group_len[0];
  if (file_of(sq[0]) > 3)
    for (int i = 0; i < n; ++i) sq[i] ^= 7;
  if (rank_of(sq[0]) < 1 || rank_of(sq[0]) > 6) return -1;  // not a pawn square
  // The other leading pawns, by ascending twist, the k-th adding C(twist, k).
  std::sort(sq + 1, sq + lead, [&](int a, int b) { return m.pawn_twist[a] < m.pawn_twist[b]; });
  uint64_t idx = m.lead_index[lead][sq[0]];
  for (int i = 1; i < lead; ++i) {
    if (m.pawn_twist[sq[i]] >= m.pawn_twist[sq[0]]) return -1;
    idx += m.binom[m.pawn_twist[sq[i]]][i];
  }
  return int64_t(idx);
}

}  // namespace

int pawn_lead_rank(int sq) { return maps().pawn_twist[sq]; }

bool make_layout(const uint8_t* codes, int pieces, bool unique_lead, int lead_pawns, int other_pawns, int file,
                 int order, int order2, Layout* out) {
  const Maps& m = maps();
  Layout l;
  l.pawns = lead_pawns > 0;
  l.unique_lead = !l.pawns && unique_lead;
  l.pawns_both = l.pawns && other_pawns > 0;
  l.file = file;
  l.pieces = pieces;
  if (pieces < 2 || pieces > kMaxPieces || file < 0 || file > 3) return false;
  int pos = l.pawns ? lead_pawns : (l.unique_lead ? 3 : 2);
  if (pos > pieces || lead_pawns >= kMaxPieces) return false;
  l.group_len[l.groups++] = pos;
  if (l.pawns_both) {
    if (pos + other_pawns > pieces) return false;
    l.group_len[l.groups++] = other_pawns;
    pos += other_pawns;
  }
  while (pos < pieces) {  // runs of identical pieces
    int len = 1;
    while (pos + len < pieces && codes[pos + len] == codes[pos]) ++len;
    l.group_len[l.groups++] = len;
    pos += len;
  }
  // Each group's placement count, then its slot: the leading group takes slot
  // `order`, the other pawns `order2`, the rest fill the free slots in turn.
  uint64_t count[kMaxPieces];
  int slot[kMaxPieces];
  count[0] = l.pawns ? m.lead_size[lead_pawns][file] : (l.unique_lead ? kUniqueLeadPlacements : kKingPairPlacements);
  int first_free_group = 1;
  if (l.pawns_both) {
    count[1] = m.binom[48 - lead_pawns][other_pawns];
    first_free_group = 2;
  }
  int free_squares = 64 - l.group_len[0] - (l.pawns_both ? l.group_len[1] : 0);
  for (int g = first_free_group; g < l.groups; ++g) {
    count[g] = m.binom[free_squares][l.group_len[g]];
    free_squares -= l.group_len[g];
  }
  if (order >= l.groups || (l.pawns_both && (order2 >= l.groups || order2 == order))) return false;
  slot[0] = order;
  if (l.pawns_both) slot[1] = order2;
  int next_slot = 0;
  for (int g = first_free_group; g < l.groups; ++g) {
    while (next_slot == order || (l.pawns_both && next_slot == order2)) ++next_slot;
    slot[g] = next_slot++;
  }
  uint64_t factor = 1;
  for (int s = 0; s < l.groups; ++s) {
    int g = int(std::find(slot, slot + l.groups, s) - slot);
    if (g == l.groups || count[g] == 0) return false;
    l.factor[g] = factor;
    if (factor > (uint64_t(1) << 62) / count[g]) return false;
    factor *= count[g];
  }
  l.size = factor;
  *out = l;
  return true;
}

int64_t encode(const Layout& l, int* sq) {
  const Maps& m = maps();
  for (int i = 0; i < l.pieces; ++i)
    if (sq[i] < 0 || sq[i] > 63) return -1;
  int64_t lead = l.pawns ? encode_lead_pawns(l, sq, m) : encode_lead_pieces(l, sq, m);
  if (lead < 0) return -1;
  uint64_t idx = uint64_t(lead) * l.factor[0];
  // Later groups: squares ascending, each lowered by the earlier groups'
  // pieces below it (those squares are taken), the k-th adding C(square, k).
  // The other colour's pawns also skip rank 1.
  int pos = l.group_len[0];
  for (int g = 1; g < l.groups; ++g) {
    const int len = l.group_len[g];
    std::sort(sq + pos, sq + pos + len);
    const int skip = (g == 1 && l.pawns_both) ? 8 : 0;
    uint64_t placements = 0;
    for (int k = 0; k < len; ++k) {
      int s = sq[pos + k];
      int below = 0;
      for (int j = 0; j < pos; ++j) below += sq[j] < s;
      int reduced = s - below - skip;
      if (reduced < 0) return -1;
      placements += m.binom[reduced][k + 1];
    }
    idx += placements * l.factor[g];
    pos += len;
  }
  return idx < l.size ? int64_t(idx) : -1;
}

}  // namespace lcpipe::tb::index
