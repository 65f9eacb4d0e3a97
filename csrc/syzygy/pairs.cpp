// Decoding of one Syzygy value stream (see pairs.h).
#include "syzygy/pairs.h"

namespace lcpipe::tb {

namespace {
constexpr uint8_t kSingleValue = 0x80;
constexpr uint32_t kLeaf = 0xFFF;          // right child of a symbol that is a plain value
constexpr uint32_t kMaxExpansion = 65535;  // a block holds at most 65536 values
constexpr int kMaxCodeLength = 33;         // the bit buffer holds at least 33 unread bits
}  // namespace

uint32_t PairsData::u16(size_t at) const { return uint32_t(file_[at]) | uint32_t(file_[at + 1]) << 8; }

uint32_t PairsData::u32(size_t at) const { return u16(at) | u16(at + 2) << 16; }

uint32_t PairsData::be32_or_zero(size_t at, size_t end) const {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | (at + i < end ? file_[at + i] : 0);
  return v;
}

bool PairsData::read_header(const uint8_t* file, size_t size, size_t* offset, uint64_t positions, bool dtz) {
  file_ = file;
  size_ = size;
  dtz_ = dtz;
  positions_ = positions;
  const size_t p = *offset;
  if (p + 2 > size) return false;
  flags_ = file[p];
  if (flags_ & kSingleValue) {
    // Every position holds one value; a DTZ stream's is 0 whatever the byte says
    // (python-chess reads it so, and so do we).
    single_value_ = true;
    single_ = dtz ? 0 : file[p + 1];
    *offset = p + 2;
    return true;
  }
  if (p + 12 > size) return false;
  block_log_ = file[p + 1];
  span_log_ = file[p + 2];
  const uint32_t padding = file[p + 3];
  blocks_ = u32(p + 4);
  max_len_ = file[p + 8];
  min_len_ = file[p + 9];
  if (block_log_ < 3 || block_log_ > 30 || span_log_ < 1 || span_log_ > 40) return false;
  if (min_len_ < 1 || max_len_ < min_len_ || max_len_ > kMaxCodeLength) return false;
  const int lengths = max_len_ - min_len_ + 1;
  lowest_symbol_ = p + 10;
  const size_t count_at = lowest_symbol_ + 2 * size_t(lengths);
  if (count_at + 2 > size) return false;
  const uint32_t symbols = u16(count_at);
  tree_ = count_at + 2;
  const size_t end = tree_ + 3 * size_t(symbols) + (symbols & 1);
  if (symbols == 0 || end > size) return false;
  sparse_entries_ = (positions + (uint64_t(1) << span_log_) - 1) >> span_log_;
  block_lengths_ = uint64_t(blocks_) + padding;

  // Canonical Huffman: codes of one length are consecutive numbers, longer
  // codes numerically smaller. base_[i] is the smallest code of length
  // min_len_ + i, left-aligned in 64 bits, so a code's length is found by
  // comparing the bit buffer against base_ in turn.
  base_.assign(lengths, 0);
  for (int i = lengths - 2; i >= 0; --i) {
    int64_t twice =
        int64_t(base_[i + 1]) + int64_t(u16(lowest_symbol_ + 2 * i)) - int64_t(u16(lowest_symbol_ + 2 * (i + 1)));
    if (twice < 0) return false;
    base_[i] = uint64_t(twice) / 2;
  }
  for (int i = 0; i < lengths; ++i) {
    const int len = min_len_ + i;
    if (base_[i] >> len) return false;
    base_[i] <<= 64 - len;
  }

  // Symbol expansions: a symbol is a value or a pair of earlier symbols.
  // Depth-first without recursion; a cycle or an out-of-range child means a
  // corrupt file. expands_[s] = expands_[left] + expands_[right] + 1 makes the
  // descent in value() strictly shrink, so it always ends.
  expands_.assign(symbols, 0);
  std::vector<uint8_t> state(symbols, 0);  // 0 new, 1 on the current path, 2 done
  std::vector<uint32_t> stack;
  for (uint32_t s = 0; s < symbols; ++s) {
    if (state[s]) continue;
    stack.push_back(s);
    while (!stack.empty()) {
      const uint32_t t = stack.back();
      const size_t at = tree_ + 3 * size_t(t);
      const uint32_t left = ((file[at + 1] & 0xF) << 8) | file[at];
      const uint32_t right = (uint32_t(file[at + 2]) << 4) | (file[at + 1] >> 4);
      if (state[t] == 2) {
        stack.pop_back();
      } else if (right == kLeaf) {
        state[t] = 2;
        stack.pop_back();
      } else if (left >= symbols || right >= symbols) {
        return false;
      } else if (state[t] == 0) {
        state[t] = 1;
        for (uint32_t c : {left, right}) {
          if (state[c] == 1) return false;
          if (state[c] == 0) stack.push_back(c);
        }
      } else {
        const uint64_t e = uint64_t(expands_[left]) + expands_[right] + 1;
        if (e > kMaxExpansion) return false;
        expands_[t] = uint32_t(e);
        state[t] = 2;
        stack.pop_back();
      }
    }
  }
  *offset = end;
  return true;
}

void PairsData::place(size_t sparse_offset, size_t block_length_offset, size_t data_offset) {
  sparse_ = sparse_offset;
  block_length_ = block_length_offset;
  data_ = data_offset;
}

int PairsData::value(uint64_t index) const {
  if (single_value_) return single_;
  if (index >= positions_) return -1;
  // The sparse index names the block and in-block offset of the middle
  // position of every span; walk block lengths from there to `index`.
  const uint64_t k = index >> span_log_;
  if (k >= sparse_entries_) return -1;
  const size_t entry = sparse_ + 6 * size_t(k);
  uint64_t block = u32(entry);
  const uint64_t span = uint64_t(1) << span_log_;
  int64_t offset = int64_t(u16(entry + 4)) + int64_t(index & (span - 1)) - int64_t(span / 2);
  // The last entries may name padding blocks past the real ones (their middle
  // position lies beyond the end); the walk back reaches a real block.
  if (block >= block_lengths_) return -1;
  while (offset < 0) {
    if (block == 0) return -1;
    --block;
    offset += int64_t(u16(block_length_ + 2 * block)) + 1;
  }
  while (true) {
    if (block >= block_lengths_) return -1;
    const int64_t len = u16(block_length_ + 2 * block);
    if (offset <= len) break;
    offset -= len + 1;
    ++block;
  }

  if (block >= blocks_) return -1;
  // Decode symbols from the block's start until the one covering `offset`.
  const size_t start = data_ + (size_t(block) << block_log_);
  const size_t end = start + (size_t(1) << block_log_);
  const uint64_t block_bits = uint64_t(1) << (block_log_ + 3);
  uint64_t buf = uint64_t(be32_or_zero(start, end)) << 32 | be32_or_zero(start + 4, end);
  size_t next = start + 8;
  int avail = 64;
  uint64_t used = 0;
  const uint32_t symbols = uint32_t(expands_.size());
  uint32_t sym;
  while (true) {
    int i = 0;
    while (buf < base_[i]) ++i;  // base_.back() is 0: always stops
    const int len = min_len_ + i;
    sym = u16(lowest_symbol_ + 2 * i) + uint32_t((buf - base_[i]) >> (64 - len));
    if (sym >= symbols) return -1;
    if (offset <= int64_t(expands_[sym])) break;
    offset -= int64_t(expands_[sym]) + 1;
    used += len;
    if (used > block_bits) return -1;
    buf <<= len;
    avail -= len;
    if (avail <= 32) {
      buf |= uint64_t(be32_or_zero(next, end)) << (32 - avail);
      next += 4;
      avail += 32;
    }
  }
  // Descend the pair tree to the value at `offset` within the symbol.
  while (expands_[sym]) {
    const size_t at = tree_ + 3 * size_t(sym);
    const uint32_t left = ((file_[at + 1] & 0xF) << 8) | file_[at];
    if (offset <= int64_t(expands_[left])) {
      sym = left;
    } else {
      offset -= int64_t(expands_[left]) + 1;
      sym = (uint32_t(file_[at + 2]) << 4) | (file_[at + 1] >> 4);
    }
  }
  const size_t at = tree_ + 3 * size_t(sym);
  return dtz_ ? int(((file_[at + 1] & 0xF) << 8) | file_[at]) : int(file_[at]);
}

}  // namespace lcpipe::tb
