// Sanitizer fuzz of the Syzygy table reader (not part of the extension):
// real table files, truncated or with bytes changed, each copy in a heap
// block of exactly its size, so AddressSanitizer reports any read past the
// end; then random positions of the table's material are probed. Build and run:
//   make fuzz-syzygy SYZYGY_DIR=.venv/syzygy-test   (ITERATIONS=n to change)
#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "chess/board.h"
#include "syzygy/table.h"

using namespace lcpipe::tb;

namespace {

struct TableBytes {
  std::string name;
  TableFile::Kind kind;
  Material material;
  std::vector<uint8_t> bytes;
};

bool material_of(const std::string& stem, Material* m) {
  static const std::string kLetters = "PNBRQK";
  int colour = 0;
  for (char ch : stem) {
    if (ch == 'v') {
      colour = 1;
      continue;
    }
    size_t t = kLetters.find(ch);
    if (t == std::string::npos) return false;
    ++m->count[colour][t];
  }
  return colour == 1;
}

// A valid position with the material (colours swapped when `swap`).
Position random_position(std::mt19937_64& rng, const Material& m, bool swap) {
  while (true) {
    Position p;
    p.to_move = Color(rng() & 1);
    bool ok = true;
    for (int c = 0; c < 2 && ok; ++c)
      for (int t = kPawn; t <= kKing && ok; ++t)
        for (int i = 0; i < m.count[c][t]; ++i) {
          int sq = int(rng() % 64), tries = 0;
          while (((occupied(p) >> sq) & 1) || (t == kPawn && (sq < 8 || sq >= 56))) {
            sq = int(rng() % 64);
            if (++tries > 200) break;
          }
          const int colour = swap ? 1 - c : c;
          p.by_color[colour] |= bit(sq);
          p.by_type[t] |= bit(sq);
        }
    if (is_valid(p) && p.piece_count() == m.total()) return p;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: syzygy_fuzz TABLE_DIR [ITERATIONS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const long iterations = argc > 2 ? std::atol(argv[2]) : 2000;
  std::vector<TableBytes> tables;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() < 6) continue;
      std::string ext = name.substr(name.size() - 5);
      if (ext != ".rtbw" && ext != ".rtbz") continue;
      TableBytes t;
      t.name = name;
      t.kind = ext == ".rtbw" ? TableFile::Kind::kWdl : TableFile::Kind::kDtz;
      if (!material_of(name.substr(0, name.size() - 5), &t.material)) continue;
      std::ifstream in(dir + "/" + name, std::ios::binary);
      t.bytes.assign(std::istreambuf_iterator<char>(in), {});
      tables.push_back(std::move(t));
    }
    closedir(d);
  }
  if (tables.empty()) {
    std::fprintf(stderr, "no tables in %s\n", dir.c_str());
    return 2;
  }
  std::mt19937_64 rng(12345);
  long accepted = 0, rejected = 0, probes = 0, ok = 0, unreadable = 0;
  // The untouched files must open and answer.
  for (const TableBytes& t : tables) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[t.bytes.size()]);
    std::copy(t.bytes.begin(), t.bytes.end(), copy.get());
    TableFile f(t.kind, t.material);
    std::string error;
    if (!f.attach(copy.get(), t.bytes.size(), &error)) {
      std::fprintf(stderr, "intact %s rejected: %s\n", t.name.c_str(), error.c_str());
      return 1;
    }
  }
  for (long it = 0; it < iterations; ++it) {
    const TableBytes& t = tables[rng() % tables.size()];
    std::vector<uint8_t> bytes = t.bytes;
    switch (rng() % 4) {
      case 0:  // truncate
        bytes.resize(rng() % bytes.size());
        break;
      case 1:  // a few bytes anywhere
        for (int i = 0, n = 1 + int(rng() % 4); i < n; ++i) bytes[rng() % bytes.size()] ^= uint8_t(1 + rng() % 255);
        break;
      default:  // the headers, where the structure lives
        for (int i = 0, n = 1 + int(rng() % 3); i < n; ++i) {
          size_t at = rng() % std::min<size_t>(bytes.size(), 96);
          bytes[at] = uint8_t(rng());
        }
    }
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() ? bytes.size() : 1]);
    std::copy(bytes.begin(), bytes.end(), copy.get());
    TableFile f(t.kind, t.material);
    std::string error;
    if (!f.attach(copy.get(), bytes.size(), &error)) {
      ++rejected;
      continue;
    }
    ++accepted;
    for (int i = 0; i < 20; ++i) {
      const bool swap = !t.material.symmetric() && (rng() & 1);
      Position p = random_position(rng, t.material, swap);
      static constexpr int kWdls[4] = {-2, -1, 1, 2};
      TableFile::Result r = f.probe(p, swap, kWdls[rng() % 4]);
      ++probes;
      if (r.status == TableFile::Status::kOk) {
        ++ok;
        const bool in_range = t.kind == TableFile::Kind::kWdl ? (r.value >= -2 && r.value <= 2) : r.value >= 0;
        if (!in_range) {
          std::fprintf(stderr, "%s: value %d out of range\n", t.name.c_str(), r.value);
          return 1;
        }
      } else if (r.status == TableFile::Status::kCorrupt) {
        ++unreadable;
      }
    }
  }
  std::printf(
      "syzygy fuzz: %ld mutated files, %ld rejected at open, %ld probed: %ld probes, %ld answered, %ld unreadable\n",
      iterations, rejected, accepted, probes, ok, unreadable);
  return 0;
}
