#include "chess/policy.h"

#include <atomic>
#include <stdexcept>
#include <string>

namespace lcpipe::chess {

namespace {

constexpr int kFlip = 1, kMirror = 2, kTranspose = 4;

struct PolicyTable {
  int16_t index[64][64][4];  // [from][to][promotion code] in white's view, -1 if none
  int16_t from[kPolicySize];
  int16_t to[kPolicySize];
  int8_t promotion[kPolicySize];
};

PolicyTable g_table;
std::atomic<bool> g_installed{false};

int promotion_code(int promotion) {
  switch (promotion) {
    case kQueen: return 1;
    case kRook: return 2;
    case kBishop: return 3;
    default: return 0;  // none, or a knight (lc0 writes it as the plain move)
  }
}

const PolicyTable& table() {
  if (!g_installed.load(std::memory_order_acquire))
    throw std::logic_error("lc0 policy table not installed: import lcpipe._native (it installs lcpipe.lc0.policy's)");
  return g_table;
}

}  // namespace

void install_policy_table(const int16_t* from, const int16_t* to, const int8_t* promotion, int n) {
  if (n != kPolicySize) throw std::invalid_argument("policy table must have 1858 moves");
  if (g_installed.load(std::memory_order_acquire)) return;  // one source: every install is the same table
  PolicyTable& t = g_table;                                 // readers wait for g_installed
  for (auto& a : t.index)
    for (auto& b : a)
      for (int16_t& c : b) c = -1;
  for (int i = 0; i < n; ++i) {
    if (from[i] < 0 || from[i] > 63 || to[i] < 0 || to[i] > 63 || promotion[i] < 0 || promotion[i] > 3)
      throw std::invalid_argument("policy table: square or promotion out of range at index " + std::to_string(i));
    if (t.index[from[i]][to[i]][promotion[i]] != -1)
      throw std::invalid_argument("policy table: move listed twice at index " + std::to_string(i));
    t.index[from[i]][to[i]][promotion[i]] = int16_t(i);
    t.from[i] = from[i];
    t.to[i] = to[i];
    t.promotion[i] = promotion[i];
  }
  g_installed.store(true, std::memory_order_release);
}

bool policy_table_installed() { return g_installed.load(std::memory_order_acquire); }

void policy_move(int index, int* from, int* to, int* promotion) {
  const PolicyTable& t = table();
  if (index < 0 || index >= kPolicySize) throw std::out_of_range("policy index out of range");
  *from = t.from[index];
  *to = t.to[index];
  *promotion = t.promotion[index];
}

int move_transform(int transform) { return (transform & kTranspose) ? (kFlip | kMirror) : transform; }

int transform_square(int sq, int transform) {
  int r = sq / 8, f = sq % 8;
  if (transform & kFlip) f = 7 - f;
  if (transform & kMirror) r = 7 - r;
  if (transform & kTranspose) {
    const int r2 = 7 - f, f2 = 7 - r;
    r = r2;
    f = f2;
  }
  return r * 8 + f;
}

int policy_index(const Position& p, const Move& m, int transform) {
  const PolicyTable& t = table();
  // lc0's view: the side to move plays up the board; castling is king takes rook.
  const int flip = p.to_move == kBlack ? 56 : 0;
  int from = m.from ^ flip, to = m.to ^ flip;
  const int mt = move_transform(transform);
  if (mt) {
    from = transform_square(from, mt);
    to = transform_square(to, mt);
  }
  return t.index[from][to][promotion_code(m.promotion)];
}

bool move_from_policy_index(const Position& p, int index, int transform, Move* out) {
  if (index < 0 || index >= kPolicySize) return false;
  MoveList moves;
  legal_moves(p, &moves);
  for (const Move& m : moves)
    if (policy_index(p, m, transform) == index) {
      *out = m;
      return true;
    }
  return false;
}

}  // namespace lcpipe::chess
