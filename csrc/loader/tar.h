// Index of the regular-file members of an uncompressed tar, read with pread
// from an open descriptor. Handles ustar, old-style (type '\0'), PAX 'x'/'g'
// headers, GNU long names ('L'/'K') and base-256 sizes; skips directories,
// links and other entries; resyncs after broken headers; reports truncation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lcl {

struct TarMember {
  std::string name;
  uint64_t offset;  // of the data
  uint64_t size;
};

struct TarIndex {
  std::vector<TarMember> members;
  std::vector<std::string> problems;
  uint64_t skipped_entries = 0;
};

// Invalid UTF-8 sequences replaced by U+FFFD (names and messages reach Python).
std::string utf8_lossy(const std::string& s);

// Reads headers of the file open on `fd` (size `total`).
void index_tar(int fd, uint64_t total, TarIndex& out);

// Same for a tar held in memory (used by the fuzz tests).
void index_tar_bytes(const uint8_t* data, size_t n, TarIndex& out);

}  // namespace lcl
