// gzip decoding: several members allowed, keeps what was decoded before
// damage and says what went wrong. Our own DEFLATE decoder does the work;
// zlib is the reference and the fallback for damaged streams.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace lcl {

// A growable byte buffer that, unlike std::vector, does not zero what it
// allocates (inflate overwrites it anyway; zeroing cost ~10% of a decode).
class Bytes {
 public:
  uint8_t* data() { return p_.get(); }
  const uint8_t* data() const { return p_.get(); }
  size_t size() const { return n_; }
  void clear() { n_ = 0; }
  void resize(size_t k) {
    if (k > cap_) {
      size_t cap = std::max(k, cap_ * 2);
      std::unique_ptr<uint8_t[]> q(new uint8_t[cap]);
      if (n_) std::memcpy(q.get(), p_.get(), n_);
      p_ = std::move(q);
      cap_ = cap;
    }
    n_ = k;
  }

 private:
  std::unique_ptr<uint8_t[]> p_;
  size_t n_ = 0, cap_ = 0;
};

enum class Inflater { Native, Zlib };

struct GzOptions {
  Inflater inflater = Inflater::Native;
  bool check_crc = true;         // CRC-32 of each member (the size is always checked)
  size_t max_output = SIZE_MAX;  // a stream inflating beyond this is refused (kInflateTooLarge)
  size_t max_input = SIZE_MAX;   // a chunk (a .gz file or a tar member) larger than this is not read
};

// The error gunzip returns for a stream that inflates beyond GzOptions::max_output.
extern const char* const kInflateTooLarge;

// Inflates `in` into `out` (cleared first). Returns "" on success, else a
// description of the damage (out then holds the bytes decoded before it).
// Any problem the native path meets is decoded again by zlib, so damaged
// input gives exactly zlib's bytes and message.
std::string gunzip(const uint8_t* in, size_t n, Bytes& out, const GzOptions& opt = GzOptions());

// The same with zlib only.
std::string gunzip_zlib(const uint8_t* in, size_t n, Bytes& out, size_t max_output = SIZE_MAX);

// For benchmarks: the DEFLATE data of a one-member gzip stream inflated by
// zlib as a raw stream (no checksum); "" or what went wrong.
std::string inflate_zlib_raw(const uint8_t* in, size_t n, Bytes& out);

}  // namespace lcl
