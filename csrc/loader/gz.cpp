#include "loader/gz.h"

#include <zlib.h>

#include <cstring>

namespace lcl {

std::string gunzip(const uint8_t* in, size_t n, Bytes& out) {
  out.clear();
  if (n < 18) return n == 0 ? "empty file" : "truncated gzip stream";
  // The trailer holds the uncompressed size (mod 2^32) of the last member:
  // a good first guess for the output size, so we rarely grow the buffer.
  uint32_t isize;
  std::memcpy(&isize, in + n - 4, 4);
  size_t guess = isize > 0 && isize < (1u << 30) ? isize : n * 8;
  out.resize(guess + 1);
  size_t produced = 0;
  size_t pos = 0;
  std::string problem;
  while (pos < n) {
    z_stream zs;
    std::memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return "zlib init failed";
    zs.next_in = const_cast<Bytef*>(in + pos);
    zs.avail_in = static_cast<uInt>(n - pos);
    int rc = Z_OK;
    while (true) {
      if (produced == out.size()) out.resize(out.size() * 2);
      zs.next_out = out.data() + produced;
      zs.avail_out = static_cast<uInt>(out.size() - produced);
      rc = inflate(&zs, Z_NO_FLUSH);
      produced = out.size() - zs.avail_out;
      if (rc == Z_STREAM_END) break;
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;
      break;
    }
    size_t consumed = (n - pos) - zs.avail_in;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
      problem = (rc == Z_BUF_ERROR) ? "truncated gzip stream" : "corrupt gzip data";
      break;
    }
    pos += consumed;
    // Trailing zero padding after the last member is tolerated.
    size_t k = pos;
    while (k < n && in[k] == 0) ++k;
    if (k == n) break;
  }
  out.resize(produced);
  return problem;
}

}  // namespace lcl
