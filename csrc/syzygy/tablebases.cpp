// Syzygy probing (see tablebases.h): finds table files by name, opens each on
// first use (std::call_once per file, no lock afterwards), and resolves what
// the tables leave open: WDL files may store any value where a capture is at
// least as good, so captures are searched; en passant is never stored; DTZ
// files hold one side to move, the other side is found by a one-ply search.
// The searches follow python-chess's chess.syzygy so values agree exactly.
#include "syzygy/tablebases.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "chess/board.h"
#include "syzygy/table.h"

namespace lcpipe::tb {

namespace {

// One table file of a material signature, opened on first use.
struct TableSlot {
  std::string path;  // empty: no such file
  std::once_flag once;
  std::unique_ptr<TableFile> table;  // null when missing or unreadable
  std::string error;
};

struct Entry {
  Material material;  // white = the name's first part
  TableSlot wdl, dtz;
};

// Non-king piece counts, 4 bits each: the lookup key of a material signature.
uint64_t material_key(const int (&count)[2][6]) {
  uint64_t key = 0;
  for (int c = 0; c < 2; ++c)
    for (int t = kPawn; t < kKing; ++t) key |= uint64_t(count[c][t] & 0xF) << (4 * (c * 5 + t));
  return key;
}

// "KRPvKN" -> material; false for anything that is not a table name.
bool parse_table_name(const std::string& stem, Material* m) {
  const size_t v = stem.find('v');
  if (v == std::string::npos) return false;
  const std::string sides[2] = {stem.substr(0, v), stem.substr(v + 1)};
  static const std::string kLetters = "PNBRQ";
  *m = Material();
  for (int c = 0; c < 2; ++c) {
    if (sides[c].empty() || sides[c][0] != 'K') return false;
    m->count[c][kKing] = 1;
    for (size_t i = 1; i < sides[c].size(); ++i) {
      size_t t = kLetters.find(sides[c][i]);
      if (t == std::string::npos) return false;
      ++m->count[c][t];
    }
  }
  return true;
}

constexpr int kMaxDtzDepth = 4;  // the one-ply DTZ search never needs more than 2
constexpr int kWdlToDtz[5] = {-1, -101, 0, 101, 1};

int dtz_before_zeroing(int wdl) {
  if (wdl == 0) return 0;
  const int magnitude = (wdl == 2 || wdl == -2) ? 1 : 101;
  return wdl > 0 ? magnitude : -magnitude;
}

bool only_en_passant_moves(const MoveList& moves) {
  for (const Move& m : moves)
    if (!m.en_passant) return false;
  return true;
}

}  // namespace

struct Tablebases::Impl {
  std::vector<std::unique_ptr<Entry>> entries;
  // Material of a position -> its table, and whether the colours are swapped.
  std::unordered_map<uint64_t, std::pair<Entry*, bool>> by_key;
  int max_pieces = 0;
  size_t wdl_count = 0, dtz_count = 0;

  void add(const std::string& dir, const std::string& name) {
    const bool wdl = name.size() > 5 && name.compare(name.size() - 5, 5, ".rtbw") == 0;
    const bool dtz = name.size() > 5 && name.compare(name.size() - 5, 5, ".rtbz") == 0;
    Material m;
    if ((!wdl && !dtz) || !parse_table_name(name.substr(0, name.size() - 5), &m)) return;
    if (m.total() > index::kMaxPieces) return;
    const uint64_t key = material_key(m.count);
    auto it = by_key.find(key);
    Entry* e;
    if (it != by_key.end()) {
      e = it->second.first;
      if (it->second.second) return;  // a differently named copy of a table we have
    } else {
      entries.push_back(std::make_unique<Entry>());
      e = entries.back().get();
      e->material = m;
      by_key[key] = {e, false};
      Material swapped;
      for (int t = kPawn; t <= kKing; ++t) {
        swapped.count[kWhite][t] = m.count[kBlack][t];
        swapped.count[kBlack][t] = m.count[kWhite][t];
      }
      if (!m.symmetric()) by_key[material_key(swapped.count)] = {e, true};
    }
    TableSlot& slot = wdl ? e->wdl : e->dtz;
    if (!slot.path.empty()) return;  // the first directory wins
    slot.path = dir + "/" + name;
    if (wdl) {
      ++wdl_count;
      max_pieces = std::max(max_pieces, m.total());
    } else {
      ++dtz_count;
    }
  }

  static const TableFile* open(TableSlot& slot, TableFile::Kind kind, const Material& m) {
    std::call_once(slot.once, [&] {
      if (slot.path.empty()) return;
      auto t = std::make_unique<TableFile>(kind, m);
      if (t->open(slot.path, &slot.error)) slot.table = std::move(t);
    });
    return slot.table.get();
  }

  // The table for the position's material and whether to swap colours.
  Entry* find(const Position& p, bool* flip) const {
    int count[2][6] = {};
    for (int c = 0; c < 2; ++c)
      for (int t = kPawn; t <= kKing; ++t) count[c][t] = popcount(p.by_color[c] & p.by_type[t]);
    auto it = by_key.find(material_key(count));
    if (it == by_key.end()) return nullptr;
    Entry* e = it->second.first;
    // Symmetric tables hold white to move only: black to move is the mirror.
    *flip = it->second.second || (e->material.symmetric() && p.to_move == kBlack);
    return e;
  }

  // ---- The searches (python-chess's probe_ab, probe_wdl, probe_dtz) ----

  // The stored WDL value; bare kings are a draw without a table.
  std::optional<int> table_wdl(const Position& p) const {
    if (p.piece_count() == 2) return 0;
    bool flip = false;
    Entry* e = find(p, &flip);
    if (!e) return std::nullopt;
    const TableFile* t = open(e->wdl, TableFile::Kind::kWdl, e->material);
    if (!t) return std::nullopt;
    TableFile::Result r = t->probe(p, flip, 0);
    if (r.status != TableFile::Status::kOk) return std::nullopt;
    return r.value;
  }

  // Value with captures resolved (en passant aside): the table's value unless
  // a capture does at least as well. *best_is_capture: a capture decides it
  // (python-chess's "success == 2").
  bool search_captures(const Position& p, int alpha, int beta, int* value, bool* best_is_capture) const {
    MoveList moves;
    legal_moves(p, &moves, /*captures_only=*/true);
    for (const Move& m : moves) {
      if (m.en_passant) continue;
      int child;
      bool unused;
      if (!search_captures(make_move(p, m), -beta, -alpha, &child, &unused)) return false;
      const int v = -child;
      if (v > alpha) {
        if (v >= beta) {
          *value = v;
          *best_is_capture = true;
          return true;
        }
        alpha = v;
      }
    }
    std::optional<int> stored = table_wdl(p);
    if (!stored) return false;
    if (alpha >= *stored) {
      *value = alpha;
      *best_is_capture = alpha > 0;
    } else {
      *value = *stored;
      *best_is_capture = false;
    }
    return true;
  }

  // Best value over the legal en-passant captures, -3 when there is none.
  bool best_en_passant(const Position& p, const MoveList& moves, int* best) const {
    *best = -3;
    for (const Move& m : moves) {
      if (!m.en_passant) continue;
      int child;
      bool unused;
      if (!search_captures(make_move(p, m), -2, 2, &child, &unused)) return false;
      *best = std::max(*best, -child);
    }
    return true;
  }

  std::optional<int> wdl(const Position& p) const {
    int v;
    bool unused;
    if (!search_captures(p, -2, 2, &v, &unused)) return std::nullopt;
    if (p.ep_square < 0) return v;
    MoveList moves;
    legal_moves(p, &moves);
    int ep;
    if (!best_en_passant(p, moves, &ep)) return std::nullopt;
    if (ep > -3) {
      if (ep >= v)
        v = ep;
      else if (v == 0 && only_en_passant_moves(moves))
        v = ep;  // forced to play the losing en-passant capture
    }
    return v;
  }

  // Stored DTZ; *other_side when the file holds only the other side to move.
  std::optional<int> table_dtz(const Position& p, int wdl, bool* other_side) const {
    *other_side = false;
    bool flip = false;
    Entry* e = find(p, &flip);
    if (!e) return std::nullopt;
    const TableFile* t = open(e->dtz, TableFile::Kind::kDtz, e->material);
    if (!t) return std::nullopt;
    TableFile::Result r = t->probe(p, flip, wdl);
    if (r.status == TableFile::Status::kOtherSide) {
      *other_side = true;
      return 0;
    }
    if (r.status != TableFile::Status::kOk) return std::nullopt;
    return r.value;
  }

  std::optional<int> dtz_no_ep(const Position& p, int depth) const {
    int wdl;
    bool capture_decides;
    if (!search_captures(p, -2, 2, &wdl, &capture_decides)) return std::nullopt;
    if (wdl == 0) return 0;
    if (capture_decides) return dtz_before_zeroing(wdl);
    MoveList moves;
    legal_moves(p, &moves);
    if (wdl > 0) {
      // A pawn push that keeps the result zeroes at once.
      for (const Move& m : moves) {
        if (!m.pawn || m.capture) continue;
        std::optional<int> child = this->wdl(make_move(p, m));
        if (!child) return std::nullopt;
        if (-*child == wdl) return wdl == 2 ? 1 : 101;
      }
    }
    bool other_side;
    std::optional<int> stored = table_dtz(p, wdl, &other_side);
    if (!stored) return std::nullopt;
    if (!other_side) return dtz_before_zeroing(wdl) + (wdl > 0 ? *stored : -*stored);
    if (depth >= kMaxDtzDepth) return std::nullopt;
    // One ply deeper, where the file holds the side to move.
    if (wdl > 0) {
      int best = 0xFFFF;
      for (const Move& m : moves) {
        if (m.pawn || m.capture) continue;
        const Position child = make_move(p, m);
        std::optional<int> d = dtz(child, depth + 1);
        if (!d) return std::nullopt;
        const int v = -*d;
        if (v == 1 && is_checkmate(child))
          best = 1;
        else if (v > 0 && v + 1 < best)
          best = v + 1;
      }
      return best;
    }
    int best = -1;
    for (const Move& m : moves) {
      const Position child = make_move(p, m);
      int v;
      if (m.zeroing()) {
        if (wdl == -2) {
          v = -1;
        } else {
          int child_wdl;
          bool unused;
          if (!search_captures(child, 1, 2, &child_wdl, &unused)) return std::nullopt;
          v = child_wdl == 2 ? 0 : -101;
        }
      } else {
        std::optional<int> d = dtz(child, depth + 1);
        if (!d) return std::nullopt;
        v = -*d - 1;
      }
      best = std::min(best, v);
    }
    return best;
  }

  std::optional<int> dtz(const Position& p, int depth) const {
    std::optional<int> v = dtz_no_ep(p, depth);
    if (!v || p.ep_square < 0) return v;
    MoveList moves;
    legal_moves(p, &moves);
    int ep;
    if (!best_en_passant(p, moves, &ep)) return std::nullopt;
    if (ep == -3) return v;
    // Replace the value when the en-passant capture is better for the side to move.
    const int e = kWdlToDtz[ep + 2];
    int& d = *v;
    if (d < -100) {
      if (e >= 0) d = e;
    } else if (d < 0) {
      if (e >= 0 || e < -100) d = e;
    } else if (d > 100) {
      if (e > 0) d = e;
    } else if (d > 0) {
      if (e == 1) d = e;
    } else if (e >= 0) {
      d = e;
    } else if (only_en_passant_moves(moves)) {
      d = e;
    }
    return v;
  }

  bool covered(const Position& p) const { return !p.has_castling() && p.piece_count() <= max_pieces && is_valid(p); }
};

Tablebases::Tablebases(const std::vector<std::string>& dirs) : impl_(new Impl) {
  for (const std::string& dir : dirs) {
    DIR* d = opendir(dir.c_str());
    if (!d) {
      std::string why = std::strerror(errno);
      delete impl_;
      throw std::runtime_error("cannot read Syzygy directory " + dir + ": " + why);
    }
    while (dirent* ent = readdir(d)) impl_->add(dir, ent->d_name);
    closedir(d);
  }
}

Tablebases::~Tablebases() { delete impl_; }

int Tablebases::max_pieces() const { return impl_->max_pieces; }
size_t Tablebases::wdl_tables() const { return impl_->wdl_count; }
size_t Tablebases::dtz_tables() const { return impl_->dtz_count; }

std::optional<Wdl> Tablebases::probe_wdl(const Position& pos) const {
  if (!impl_->covered(pos)) return std::nullopt;
  std::optional<int> v = impl_->wdl(pos);
  if (!v) return std::nullopt;
  return static_cast<Wdl>(*v);
}

std::optional<int> Tablebases::probe_dtz(const Position& pos) const {
  if (!impl_->covered(pos)) return std::nullopt;
  return impl_->dtz(pos, 0);
}

}  // namespace lcpipe::tb
