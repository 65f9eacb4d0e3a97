#include "loader/gz.h"

#include "loader/crc32.h"
#include "loader/inflate.h"

#include <zlib.h>

#include <cstring>

namespace lcl {

std::string gunzip_zlib(const uint8_t* in, size_t n, Bytes& out, size_t max_output) {
  out.clear();
  if (n < 18) return n == 0 ? "empty file" : "truncated gzip stream";
  // The trailer holds the uncompressed size (mod 2^32) of the last member:
  // a good first guess for the output size, so we rarely grow the buffer.
  uint32_t isize;
  std::memcpy(&isize, in + n - 4, 4);
  size_t guess = isize > 0 && isize < (1u << 30) ? isize : n * 8;
  out.resize(std::min(guess, max_output) + 1);
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
      if (produced == out.size()) {
        if (produced > max_output) {  // the +1 byte past the limit was written: too large
          inflateEnd(&zs);
          out.resize(max_output);
          return kInflateTooLarge;
        }
        out.resize(std::min(out.size() * 2, max_output + 1));
      }
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

namespace {

uint32_t le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Length of the gzip member header at in[0..n) (RFC 1952), 0 if it is not
// one we can read.
size_t header_size(const uint8_t* in, size_t n) {
  if (n < 10 || in[0] != 0x1f || in[1] != 0x8b || in[2] != 8 || (in[3] & 0xe0)) return 0;
  const uint8_t flags = in[3];
  size_t pos = 10;
  if (flags & 4) {  // FEXTRA
    if (n - pos < 2) return 0;
    pos += 2 + (in[pos] | (in[pos + 1] << 8));
  }
  for (int bit : {8, 16}) {  // FNAME, FCOMMENT: zero-terminated
    if (!(flags & bit)) continue;
    while (pos < n && in[pos] != 0) ++pos;
    ++pos;
  }
  if (flags & 2) pos += 2;  // FHCRC
  return pos < n ? pos : 0;
}

// Native path; false on anything unexpected (the caller then asks zlib), or
// too_large set when the output passes max_output (no point asking zlib).
bool gunzip_native(const uint8_t* in, size_t n, Bytes& out, bool check_crc, size_t max_output, bool& too_large) {
  if (n < 18) return false;
  const uint32_t isize = le32(in + n - 4);
  out.resize(std::min<size_t>(isize > 0 && isize < (1u << 30) ? isize + 512 : n * 8, max_output + 512));
  size_t produced = 0, pos = 0;
  while (pos < n) {
    const size_t h = header_size(in + pos, n - pos);
    if (h == 0) return false;
    pos += h;
    const size_t member_start = produced;
    InflateResult r = inflate_raw(in + pos, n - pos, out, produced, max_output);
    if (r.error == kInflateTooLarge || (!r.error && out.size() > max_output)) {
      too_large = true;
      return false;
    }
    if (r.error) return false;
    pos += r.consumed;
    produced = out.size();
    if (n - pos < 8) return false;
    const uint32_t len = static_cast<uint32_t>(produced - member_start);
    if (le32(in + pos + 4) != len) return false;
    if (check_crc && le32(in + pos) != crc32(0, out.data() + member_start, len)) return false;
    pos += 8;
    size_t k = pos;  // trailing zero padding after the last member is tolerated
    while (k < n && in[k] == 0) ++k;
    if (k == n) break;
  }
  out.resize(produced);
  return true;
}

}  // namespace

std::string inflate_zlib_raw(const uint8_t* in, size_t n, Bytes& out) {
  const size_t h = header_size(in, n);
  if (h == 0 || n < h + 8) return "not a gzip stream";
  const uint32_t isize = le32(in + n - 4);
  out.resize(isize);
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return "zlib init failed";
  zs.next_in = const_cast<Bytef*>(in + h);
  zs.avail_in = static_cast<uInt>(n - h);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? "" : "raw inflate failed";
}

std::string gunzip(const uint8_t* in, size_t n, Bytes& out, const GzOptions& opt) {
  bool too_large = false;
  if (opt.inflater == Inflater::Native && gunzip_native(in, n, out, opt.check_crc, opt.max_output, too_large))
    return "";
  if (too_large) {
    out.clear();
    return kInflateTooLarge;
  }
  std::string err = gunzip_zlib(in, n, out, opt.max_output);
  if (err == kInflateTooLarge) out.clear();
  return err;
}

}  // namespace lcl
