// CRC-32 by polynomial folding. The math, in our words:
//
// Reading the data as a polynomial over GF(2) (first byte's low bit = highest
// power), the CRC is M(x) * x^32 mod P(x). A 128-bit block loaded little-endian
// has bit k as the coefficient of x^(127-k). Carrying a block A forward past
// D more bits means A * x^D; split A = H * x^64 + L and replace x^(D+64) and
// x^D by their remainders mod P (32-bit constants): two 64x32-bit carry-less
// products that fit in 128 bits. In this bit order a carry-less product comes
// out multiplied by an extra x, so the constants are x^(D+63) and x^(D-1)
// mod P. Once everything is folded into one block, its 16 bytes followed by
// the last < 16 bytes of data have the same CRC as the whole message, and a
// byte table finishes the job.
#include "loader/crc32.h"

#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LCL_CRC_CLMUL 1
#endif

namespace lcl {

namespace {

constexpr uint32_t kPoly = 0xedb88320u;  // reflected: bit j is the coefficient of x^(31-j)

struct Table {
  uint32_t t[256];
  Table() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t r = b;
      for (int k = 0; k < 8; ++k) r = (r >> 1) ^ ((r & 1) ? kPoly : 0);
      t[b] = r;
    }
  }
};
const Table kTable;

// Register in, register out (no inversions).
uint32_t bytewise_raw(uint32_t r, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) r = kTable.t[(r ^ p[i]) & 0xff] ^ (r >> 8);
  return r;
}

#ifdef LCL_CRC_CLMUL
// x^k mod P in the reflected 32-bit form, placed where a 64-bit reflected
// operand of the carry-less multiply keeps it (the upper half).
uint64_t xpow(unsigned k) {
  uint32_t r = 0x80000000u;  // x^0
  for (unsigned i = 0; i < k; ++i) r = (r >> 1) ^ ((r & 1) ? kPoly : 0);
  return static_cast<uint64_t>(r) << 32;
}

struct Constants {
  uint64_t by512[2], by128[2];
  bool usable;
  Constants() {
    by512[0] = xpow(512 + 63);  // multiplies the low 64 bits of a block (its higher powers)
    by512[1] = xpow(512 - 1);
    by128[0] = xpow(128 + 63);
    by128[1] = xpow(128 - 1);
    usable = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  }
};
const Constants kC;

__attribute__((target("pclmul,sse4.1"))) inline __m128i fold(__m128i a, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00), _mm_clmulepi64_si128(a, k, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) uint32_t clmul_raw(uint32_t r, const uint8_t* p, size_t n) {
  const __m128i k512 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kC.by512));
  const __m128i k128 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kC.by128));
  auto load = [](const uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  // The register joins the data: xor it into the first 32 bits.
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(r)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    x0 = _mm_xor_si128(fold(x0, k512), load(p));
    x1 = _mm_xor_si128(fold(x1, k512), load(p + 16));
    x2 = _mm_xor_si128(fold(x2, k512), load(p + 32));
    x3 = _mm_xor_si128(fold(x3, k512), load(p + 48));
  }
  __m128i x = _mm_xor_si128(fold(x0, k128), x1);
  x = _mm_xor_si128(fold(x, k128), x2);
  x = _mm_xor_si128(fold(x, k128), x3);
  for (; n >= 16; p += 16, n -= 16) x = _mm_xor_si128(fold(x, k128), load(p));
  uint8_t rest[32];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rest), x);
  std::memcpy(rest + 16, p, n);
  return bytewise_raw(0, rest, 16 + n);
}
#endif

}  // namespace

uint32_t crc32_bytewise(uint32_t crc, const uint8_t* p, size_t n) { return ~bytewise_raw(~crc, p, n); }

uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) {
#ifdef LCL_CRC_CLMUL
  if (n >= 64 && kC.usable) return ~clmul_raw(~crc, p, n);
#endif
  return crc32_bytewise(crc, p, n);
}

}  // namespace lcl
