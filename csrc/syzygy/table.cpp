// One Syzygy table file (see table.h). File layout: magic, a flag
// byte, per file slice the slot-order nibbles and piece codes (low nibble:
// white to move, high nibble: black to move), then per slice the stream
// headers, the DTZ value maps, the sparse indices, the block lengths and the
// 64-byte aligned compressed blocks.
#include "syzygy/table.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "chess/board.h"

namespace lcpipe::tb {

namespace {

constexpr uint8_t kWdlMagic[4] = {0x71, 0xE8, 0x23, 0x5D};
constexpr uint8_t kDtzMagic[4] = {0xD7, 0x66, 0x0C, 0xA5};
constexpr uint8_t kSplitFlag = 1;  // WDL: both sides to move stored
constexpr uint8_t kPawnFlag = 2;

// DTZ stream flags.
constexpr uint8_t kStoredSideFlag = 1;  // which side to move the DTZ file holds
constexpr uint8_t kMappedFlag = 2;      // values go through a per-WDL map
constexpr uint8_t kWideMapFlag = 16;    // map entries are 16-bit
// Per WDL -2..2: which of the four maps, and which flag says the stored
// distance is already in plies (else it is in moves and doubles).
constexpr int kWdlToMap[5] = {1, 3, 0, 2, 0};
constexpr uint8_t kPliesFlag[5] = {8, 0, 0, 0, 4};

int code_colour(uint8_t code) { return code >> 3; }
int code_type(uint8_t code) { return (code & 7) - 1; }
uint8_t make_code(int colour, int type) { return uint8_t(colour << 3 | (type + 1)); }

}  // namespace

int Material::total() const {
  int n = 0;
  for (const auto& side : count)
    for (int c : side) n += c;
  return n;
}

bool Material::symmetric() const { return std::memcmp(count[0], count[1], sizeof(count[0])) == 0; }

TableFile::~TableFile() {
  if (data_ && mapped_) munmap(const_cast<uint8_t*>(data_), size_);
}

bool TableFile::attach(const uint8_t* data, size_t size, std::string* error) {
  data_ = data;
  size_ = size;
  return parse(error);
}

bool TableFile::open(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    *error = path + ": empty or unreadable";
    return false;
  }
  void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    *error = path + ": mmap failed: " + std::strerror(errno);
    return false;
  }
  data_ = static_cast<const uint8_t*>(p);
  size_ = size_t(st.st_size);
  mapped_ = true;
  if (!parse(error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

bool TableFile::check_codes(const uint8_t* codes) const {
  const int n = material_.total();
  int seen[16] = {};
  for (int k = 0; k < n; ++k) {
    const uint8_t c = codes[k];
    if (c > 15 || code_type(c) < kPawn || code_type(c) > kKing) return false;
    // Identical pieces sit together: their squares are filled in one run.
    if (k > 0 && c != codes[k - 1] && seen[c]) return false;
    ++seen[c];
  }
  for (int colour = 0; colour < 2; ++colour)
    for (int type = kPawn; type <= kKing; ++type)
      if (seen[make_code(colour, type)] != material_.count[colour][type]) return false;
  return true;
}

bool TableFile::parse(std::string* error) {
  const bool dtz = kind_ == Kind::kDtz;
  const int n = material_.total();
  auto fail = [&](const char* why) {
    *error = why;
    return false;
  };
  if (n < 3 || n > index::kMaxPieces) return fail("unsupported piece count");
  if (size_ < 6) return fail("truncated header");
  if (std::memcmp(data_, dtz ? kDtzMagic : kWdlMagic, 4) != 0) return fail("bad magic bytes");
  pawns_ = material_.has_pawns();
  if (bool(data_[4] & kPawnFlag) != pawns_) return fail("pawn flag does not match the file name");
  sides_ = (!dtz && !material_.symmetric()) ? 2 : 1;
  if (!dtz && bool(data_[4] & kSplitFlag) != (sides_ == 2)) return fail("side flag does not match the file name");
  files_ = pawns_ ? 4 : 1;
  const bool both_pawns = material_.count[kWhite][kPawn] > 0 && material_.count[kBlack][kPawn] > 0;
  int unique_kinds = 0;
  for (const auto& side : material_.count)
    for (int c : side) unique_kinds += c == 1;

  // Piece codes and slot orders of every slice.
  size_t off = 5;
  int order[2][4] = {}, order2[2][4] = {};
  for (int f = 0; f < files_; ++f) {
    const size_t header = 1 + both_pawns;
    if (off + header + n > size_) return fail("truncated piece list");
    for (int s = 0; s < sides_; ++s) {
      auto nibble = [&](uint8_t b) { return s ? b >> 4 : b & 0xF; };
      order[s][f] = nibble(data_[off]);
      order2[s][f] = both_pawns ? nibble(data_[off + 1]) : 0xF;
      for (int k = 0; k < n; ++k) slices_[s][f].codes[k] = uint8_t(nibble(data_[off + header + k]));
    }
    off += header + n;
  }
  int other_pawns = 0;
  if (pawns_) {
    lead_code_ = slices_[0][0].codes[0];
    if (lead_code_ > 15 || code_type(lead_code_) != kPawn) return fail("leading piece is not a pawn");
    lead_count_ = material_.count[code_colour(lead_code_)][kPawn];
    other_pawns = material_.count[1 - code_colour(lead_code_)][kPawn];
  }
  for (int f = 0; f < files_; ++f)
    for (int s = 0; s < sides_; ++s) {
      Slice& sl = slices_[s][f];
      if (!check_codes(sl.codes)) return fail("piece list does not match the file name");
      for (int k = 0; k < lead_count_ + other_pawns; ++k) {
        uint8_t want = k < lead_count_ ? lead_code_ : uint8_t(lead_code_ ^ 8);
        if (sl.codes[k] != want) return fail("pawns do not lead the piece list");
      }
      if (!index::make_layout(sl.codes, n, unique_kinds >= 3, lead_count_, other_pawns, f, order[s][f], order2[s][f],
                              &sl.layout))
        return fail("inconsistent group layout");
    }
  off += off & 1;

  for (int f = 0; f < files_; ++f)
    for (int s = 0; s < sides_; ++s)
      if (!slices_[s][f].pairs.read_header(data_, size_, &off, slices_[s][f].layout.size, dtz))
        return fail("bad or truncated compression header");

  if (dtz) {
    map_ = off;
    for (int f = 0; f < files_; ++f) {
      const uint8_t flags = slices_[0][f].pairs.flags();
      if (!(flags & kMappedFlag)) continue;
      if (flags & kWideMapFlag) {
        off += off & 1;
        for (uint32_t& start : slices_[0][f].map_index) {
          if (off + 2 > size_) return fail("truncated value map");
          start = uint32_t((off + 2 - map_) / 2);
          off += 2 + 2 * size_t(data_[off] | data_[off + 1] << 8);
        }
      } else {
        for (uint32_t& start : slices_[0][f].map_index) {
          if (off + 1 > size_) return fail("truncated value map");
          start = uint32_t(off + 1 - map_);
          off += 1 + size_t(data_[off]);
        }
      }
    }
    off += off & 1;
  }

  // The three regions, each for all slices in turn.
  size_t sparse[2][4], lengths[2][4], blocks[2][4];
  auto take = [&](uint64_t bytes, size_t* at) {
    if (off > size_ || bytes > size_ - off) return false;
    *at = off;
    off += size_t(bytes);
    return true;
  };
  for (int f = 0; f < files_; ++f)
    for (int s = 0; s < sides_; ++s)
      if (!take(slices_[s][f].pairs.sparse_bytes(), &sparse[s][f])) return fail("truncated sparse index");
  for (int f = 0; f < files_; ++f)
    for (int s = 0; s < sides_; ++s)
      if (!take(slices_[s][f].pairs.block_length_bytes(), &lengths[s][f])) return fail("truncated block lengths");
  for (int f = 0; f < files_; ++f)
    for (int s = 0; s < sides_; ++s) {
      off = (off + 63) & ~size_t(63);
      if (!take(slices_[s][f].pairs.data_bytes(), &blocks[s][f])) return fail("truncated data blocks");
    }
  // Files end with a 16-byte checksum after 64-byte alignment: a shorter file
  // was cut off, even where the cut only reached padding.
  if (((off + 63) & ~size_t(63)) + 16 > size_) return fail("truncated: shorter than its layout and checksum");
  for (int f = 0; f < files_; ++f)
    for (int s = 0; s < sides_; ++s) slices_[s][f].pairs.place(sparse[s][f], lengths[s][f], blocks[s][f]);
  return true;
}

TableFile::Result TableFile::probe(const Position& pos, bool flip, int wdl) const {
  Result r;
  const int stm = int(pos.to_move) ^ int(flip);
  // Squares by table piece code; with colours swapped the board is also
  // mirrored top to bottom (a byte swap of the bitboard).
  uint64_t by_code[16] = {};
  for (int c = 0; c < 2; ++c)
    for (int t = kPawn; t <= kKing; ++t) {
      uint64_t b = pos.by_color[c] & pos.by_type[t];
      by_code[make_code(c ^ int(flip), t)] = flip ? __builtin_bswap64(b) : b;
    }
  int squares[index::kMaxPieces];
  int file = 0, k = 0;
  if (pawns_) {
    // The leading pawn picks the file slice.
    uint64_t lead = by_code[lead_code_];
    if (!lead) return r;
    int best = lsb(lead);
    for (uint64_t b = lead; b; b &= b - 1)
      if (index::pawn_lead_rank(lsb(b)) > index::pawn_lead_rank(best)) best = lsb(b);
    file = std::min(best & 7, 7 - (best & 7));
    squares[k++] = best;
    by_code[lead_code_] &= ~bit(best);
  }
  const Slice& sl = slice(kind_ == Kind::kWdl && sides_ == 2 ? stm : 0, file);
  if (kind_ == Kind::kDtz) {
    const int stored = sl.pairs.flags() & kStoredSideFlag;
    if (stored != stm && (pawns_ || !material_.symmetric())) {
      r.status = Status::kOtherSide;
      return r;
    }
  }
  const int n = material_.total();
  for (; k < n; ++k) {
    uint64_t& b = by_code[sl.codes[k]];
    if (!b) return r;  // material does not match: treat as unreadable
    squares[k] = lsb(b);
    b &= b - 1;
  }
  const int64_t idx = index::encode(sl.layout, squares);
  if (idx < 0) return r;
  int v = sl.pairs.value(uint64_t(idx));
  if (v < 0) return r;
  if (kind_ == Kind::kWdl) {
    if (v > 4) return r;
    r.status = Status::kOk;
    r.value = v - 2;
    return r;
  }
  if (wdl < -2 || wdl > 2) return r;
  const uint8_t flags = sl.pairs.flags();
  if (flags & kMappedFlag) {
    const size_t start = sl.map_index[kWdlToMap[wdl + 2]];
    if (flags & kWideMapFlag) {
      const size_t at = map_ + 2 * (start + size_t(v));
      if (at + 2 > size_) return r;
      v = data_[at] | data_[at + 1] << 8;
    } else {
      const size_t at = map_ + start + size_t(v);
      if (at >= size_) return r;
      v = data_[at];
    }
  }
  if (!(flags & kPliesFlag[wdl + 2]) || (wdl & 1)) v *= 2;
  r.status = Status::kOk;
  r.value = v;
  return r;
}

}  // namespace lcpipe::tb
