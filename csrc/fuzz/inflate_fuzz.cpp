// Sanitizer fuzz of our DEFLATE decoder against zlib (not part of the
// extension). Every input sits in a heap block of exactly its size, so
// AddressSanitizer reports any read past its end. Build and run:
//   make fuzz-inflate        (see the Makefile; ITERATIONS=n to change)
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "loader/crc32.h"
#include "loader/gz.h"
#include "loader/inflate.h"

namespace {

std::vector<uint8_t> deflate_raw(const std::vector<uint8_t>& in, int level, int strategy, int mem) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, level, Z_DEFLATED, -15, mem, strategy);
  std::vector<uint8_t> out(deflateBound(&zs, in.size()) + 16);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  return out;
}

// zlib's view: ok (whole stream) and its output.
bool zlib_raw(const uint8_t* p, size_t n, std::vector<uint8_t>& out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  inflateInit2(&zs, -15);
  zs.next_in = const_cast<Bytef*>(p);
  zs.avail_in = static_cast<uInt>(n);
  out.clear();
  uint8_t buf[65536];
  int rc;
  do {
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), buf, buf + (sizeof(buf) - zs.avail_out));
  } while (rc == Z_OK && (zs.avail_in > 0 || zs.avail_out == 0));
  inflateEnd(&zs);
  return rc == Z_STREAM_END;
}

std::vector<uint8_t> sample(std::mt19937_64& rng) {
  size_t n = rng() % 20000;
  std::vector<uint8_t> d(n);
  switch (rng() % 4) {
    case 0:
      for (auto& b : d) b = static_cast<uint8_t>(rng());
      break;
    case 1:
      for (auto& b : d) b = static_cast<uint8_t>(rng() % 3);
      break;
    case 2: {
      size_t period = 1 + rng() % 15;
      for (size_t i = 0; i < n; ++i) d[i] = i < period ? static_cast<uint8_t>(rng()) : d[i - period];
      break;
    }
    default: {  // lc0-like: runs of -1.0f with some values
      const uint8_t m1[4] = {0, 0, 0x80, 0xbf};
      for (size_t i = 0; i < n; ++i) d[i] = m1[i % 4];
      for (int k = 0; k < 30 && n; ++k) d[rng() % n] = static_cast<uint8_t>(rng());
    }
  }
  return d;
}

int failures = 0;

bool same(const uint8_t* a, const uint8_t* b, size_t n) { return n == 0 || std::memcmp(a, b, n) == 0; }

void check(const std::vector<uint8_t>& stream, const char* what, long it) {
  uint8_t* exact = static_cast<uint8_t*>(std::malloc(stream.size() ? stream.size() : 1));
  if (!stream.empty()) std::memcpy(exact, stream.data(), stream.size());
  lcl::Bytes out;
  lcl::InflateResult r = lcl::inflate_raw(exact, stream.size(), out, 0);
  std::vector<uint8_t> want;
  bool zok = zlib_raw(exact, stream.size(), want);
  bool ok = r.error == nullptr;
  // Whole streams: the same bytes. Damage: an error exactly when zlib has
  // one, and only bytes zlib also produced.
  if (ok != zok || (ok && (out.size() != want.size() || !same(out.data(), want.data(), want.size()))) ||
      (!ok && (out.size() > want.size() || !same(out.data(), want.data(), out.size()))) || r.consumed > stream.size()) {
    if (++failures < 10)
      std::printf("iteration %ld (%s): ours %s, zlib %s\n", it, what, r.error ? r.error : "ok", zok ? "ok" : "error");
  }
  std::free(exact);
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::atol(argv[1]) : 20000;
  std::mt19937_64 rng(argc > 2 ? std::atoll(argv[2]) : 1);
  const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
  for (long it = 0; it < iterations; ++it) {
    std::vector<uint8_t> data = sample(rng);
    std::vector<uint8_t> s = deflate_raw(data, static_cast<int>(rng() % 10), strategies[rng() % 5], 1 + rng() % 9);
    check(s, "whole", it);
    std::vector<uint8_t> cut(s.begin(), s.begin() + static_cast<long>(rng() % (s.size() + 1)));
    check(cut, "truncated", it);
    std::vector<uint8_t> bad = s;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n && !bad.empty(); ++k)
      bad[rng() % bad.size()] ^= 1u << (rng() % 8);
    check(bad, "bit flips", it);
    std::vector<uint8_t> junk(rng() % 400);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    check(junk, "garbage", it);
    // CRC-32 against zlib's.
    // (zlib treats a null buffer as "give the initial value": never pass one)
    uint32_t c = static_cast<uint32_t>(rng());
    const uint8_t none = 0;
    const uint8_t* p = data.empty() ? &none : data.data();
    if (lcl::crc32(c, p, data.size()) != crc32_z(c, p, data.size())) {
      if (++failures < 10) std::printf("iteration %ld: crc32 differs (%zu bytes)\n", it, data.size());
    }
  }
  std::printf("%ld iterations, %d failures\n", iterations, failures);
  return failures ? 1 : 0;
}
