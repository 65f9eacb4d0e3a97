// One compressed value stream of a Syzygy file (one side-to-move of one file
// slice): canonical Huffman codes over a "recursive pairing" symbol tree,
// stored in fixed-size blocks, with a sparse index to find the block holding
// a given position. Every read is checked against the mapped file's bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lcpipe::tb {

class PairsData {
 public:
  // Reads the stream's header at *offset (advanced past it) in the mapped
  // file [file, file + size). `positions` is the slice's index range; DTZ
  // streams hold 12-bit values and a single-value DTZ stream means 0. False
  // when the header is inconsistent or runs past the end of the file.
  bool read_header(const uint8_t* file, size_t size, size_t* offset, uint64_t positions, bool dtz);

  uint8_t flags() const { return flags_; }
  // Bytes of the three regions the file lays out after all headers.
  uint64_t sparse_bytes() const { return sparse_entries_ * 6; }
  uint64_t block_length_bytes() const { return uint64_t(block_lengths_) * 2; }
  uint64_t data_bytes() const { return uint64_t(blocks_) << block_log_; }
  void place(size_t sparse_offset, size_t block_length_offset, size_t data_offset);

  // The value stored at `index`, or -1 when the data is inconsistent.
  int value(uint64_t index) const;

 private:
  uint32_t u16(size_t at) const;
  uint32_t u32(size_t at) const;
  uint32_t be32_or_zero(size_t at, size_t end) const;  // bytes at or past `end` read as 0

  const uint8_t* file_ = nullptr;
  size_t size_ = 0;
  uint8_t flags_ = 0;
  bool single_value_ = false;
  int single_ = 0;
  bool dtz_ = false;
  uint64_t positions_ = 0;
  int block_log_ = 0;  // log2 of the block size in bytes
  int span_log_ = 0;   // log2 of the positions between sparse index entries
  uint64_t sparse_entries_ = 0;
  uint32_t blocks_ = 0;
  uint64_t block_lengths_ = 0;  // blocks plus padding
  int min_len_ = 0;
  int max_len_ = 0;
  size_t lowest_symbol_ = 0;       // uint16 per code length: first symbol of that length
  size_t tree_ = 0;                // 3 bytes per symbol: two 12-bit children
  std::vector<uint64_t> base_;     // per code length, left-aligned first code
  std::vector<uint32_t> expands_;  // per symbol: values it expands to, minus one
  size_t sparse_ = 0, block_length_ = 0, data_ = 0;
};

}  // namespace lcpipe::tb
