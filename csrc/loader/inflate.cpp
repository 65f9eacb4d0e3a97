// DEFLATE decoding from RFC 1951. See inflate.h for the why.
#include "loader/inflate.h"

#include <cstring>

namespace lcl {

namespace {

// ---- decode table entries ------------------------------------------------
// One uint32 per entry: bits 0-4 code length, bits 8-11 extra bits to read
// after the code, bits 12-15 kind, bits 16-31 value (literal byte, length or
// distance base, or the offset of a second-level table).
enum Kind : uint32_t { kLit = 0, kBase = 1, kEnd = 2, kLink = 3, kBad = 4 };

constexpr uint32_t entry(Kind k, uint32_t value, uint32_t len, uint32_t extra) {
  return (value << 16) | (static_cast<uint32_t>(k) << 12) | (extra << 8) | len;
}
inline uint32_t e_len(uint32_t e) { return e & 31; }
inline uint32_t e_extra(uint32_t e) { return (e >> 8) & 15; }
inline uint32_t e_kind(uint32_t e) { return (e >> 12) & 15; }
inline uint32_t e_value(uint32_t e) { return e >> 16; }

constexpr uint32_t kBadEntry = entry(kBad, 0, 0, 0);

constexpr int kMaxBits = 15;  // longest code RFC 1951 allows
constexpr int kLitBits = 10;  // first-level table sizes (bits)
constexpr int kDistBits = 8;
constexpr int kClBits = 7;  // code-length codes are at most 7 bits: no second level
// First level plus, at worst, one second-level table per long code.
constexpr size_t kLitTable = (1u << kLitBits) + 288u * (1u << (kMaxBits - kLitBits));
constexpr size_t kDistTable = (1u << kDistBits) + 32u * (1u << (kMaxBits - kDistBits));

// Lengths 3..258 and distances 1..32768 (RFC 1951 section 3.2.5): a base
// per symbol plus a number of extra bits read after the code.
struct BaseTables {
  uint16_t len_base[29], dist_base[30];
  uint8_t len_extra[29], dist_extra[30];
  BaseTables() {
    uint32_t base = 3;
    for (int i = 0; i < 28; ++i) {
      len_extra[i] = static_cast<uint8_t>(i < 8 ? 0 : (i - 4) / 4);
      len_base[i] = static_cast<uint16_t>(base);
      base += 1u << len_extra[i];
    }
    len_base[28] = 258;  // symbol 285 is 258 exactly, not the next step
    len_extra[28] = 0;
    base = 1;
    for (int i = 0; i < 30; ++i) {
      dist_extra[i] = static_cast<uint8_t>(i < 4 ? 0 : (i - 2) / 2);
      dist_base[i] = static_cast<uint16_t>(base);
      base += 1u << dist_extra[i];
    }
  }
};
const BaseTables kBases;

enum class Alphabet { LitLen, Dist, CodeLen };

uint32_t symbol_entry(Alphabet a, int sym, uint32_t len) {
  switch (a) {
    case Alphabet::LitLen:
      if (sym < 256) return entry(kLit, static_cast<uint32_t>(sym), len, 0);
      if (sym == 256) return entry(kEnd, 0, len, 0);
      if (sym <= 285) return entry(kBase, kBases.len_base[sym - 257], len, kBases.len_extra[sym - 257]);
      return entry(kBad, 0, len, 0);  // 286, 287: exist in the fixed code, never valid
    case Alphabet::Dist:
      if (sym < 30) return entry(kBase, kBases.dist_base[sym], len, kBases.dist_extra[sym]);
      return entry(kBad, 0, len, 0);  // 30, 31
    case Alphabet::CodeLen: return entry(kLit, static_cast<uint32_t>(sym), len, 0);
  }
  return kBadEntry;
}

uint32_t reverse_bits(uint32_t code, uint32_t len) {
  uint32_t r = 0;
  for (uint32_t i = 0; i < len; ++i) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

// Builds a decode table for canonical Huffman code lengths (RFC 1951 3.2.2).
// DEFLATE sends codes most-significant bit first into an LSB-first stream,
// so tables are indexed by the bit-reversed code. Returns an error message
// or nullptr. Codes longer than `bits` go to second-level tables whose
// size covers the longest code.
const char* build_table(const uint8_t* lens, int nsym, Alphabet a, int bits, uint32_t* table) {
  int count[kMaxBits + 1] = {0};
  for (int s = 0; s < nsym; ++s) count[lens[s]]++;
  count[0] = 0;
  int max_len = 0, used = 0;
  for (int l = 1; l <= kMaxBits; ++l) {
    if (count[l]) max_len = l;
    used += count[l];
  }
  const uint32_t primary = 1u << bits;
  for (uint32_t i = 0; i < primary; ++i) table[i] = kBadEntry;
  if (used == 0) return nullptr;  // an empty code: any use of it is an error
  // Kraft sum: more codes than the lengths allow is an error; fewer is
  // accepted only for the one-code case the RFC mentions (a single
  // distance or literal code of one bit), never for code-length codes.
  int left = 1;
  for (int l = 1; l <= kMaxBits; ++l) {
    left = (left << 1) - count[l];
    if (left < 0) return "over-subscribed Huffman code";
  }
  if (left > 0 && (a == Alphabet::CodeLen || max_len != 1)) return "incomplete Huffman code";
  uint32_t next[kMaxBits + 2];
  uint32_t code = 0;
  for (int l = 1; l <= kMaxBits; ++l) {
    code = (code + static_cast<uint32_t>(count[l - 1])) << 1;
    next[l] = code;
  }
  const uint32_t sub_bits = max_len > bits ? static_cast<uint32_t>(max_len - bits) : 0;
  uint32_t free_at = primary;
  for (int s = 0; s < nsym; ++s) {
    const uint32_t len = lens[s];
    if (len == 0) continue;
    const uint32_t r = reverse_bits(next[len]++, len);
    const uint32_t e = symbol_entry(a, s, len);
    if (len <= static_cast<uint32_t>(bits)) {
      for (uint32_t i = r; i < primary; i += 1u << len) table[i] = e;
      continue;
    }
    uint32_t& link = table[r & (primary - 1)];
    if (e_kind(link) != kLink) {
      link = entry(kLink, free_at, 0, sub_bits);
      for (uint32_t i = 0; i < (1u << sub_bits); ++i) table[free_at + i] = kBadEntry;
      free_at += 1u << sub_bits;
    }
    uint32_t* sub = table + e_value(link);
    for (uint32_t i = r >> bits; i < (1u << sub_bits); i += 1u << (len - bits)) sub[i] = e;
  }
  return nullptr;
}

struct Fixed {
  uint32_t lit[kLitTable], dist[kDistTable];
  Fixed() {
    uint8_t l[288], d[32];
    for (int s = 0; s < 288; ++s) l[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    for (int s = 0; s < 32; ++s) d[s] = 5;
    build_table(l, 288, Alphabet::LitLen, kLitBits, lit);
    build_table(d, 32, Alphabet::Dist, kDistBits, dist);
  }
};

// ---- bit input -----------------------------------------------------------
// LSB-first bit buffer. Past the end of the input it feeds zero bytes and
// counts them; a symbol that used any of those bits means the stream was
// truncated (`overrun`), and its output is discarded.
struct BitIn {
  const uint8_t* p;
  const uint8_t* end;
  uint64_t buf = 0;
  uint32_t cnt = 0;
  size_t phantom = 0;

  // Afterwards at least 56 bits are buffered.
  inline void refill() {
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      buf |= w << cnt;
      p += (63 - cnt) >> 3;  // whole bytes that fit; the rest is loaded again next time
      cnt |= 56;
    } else {
      while (cnt <= 56) {
        uint64_t b = 0;
        if (p < end)
          b = *p++;
        else
          ++phantom;
        buf |= b << cnt;
        cnt += 8;
      }
    }
  }
  inline uint32_t peek(uint32_t n) const { return static_cast<uint32_t>(buf & ((uint64_t(1) << n) - 1)); }
  inline void drop(uint32_t n) {
    buf >>= n;
    cnt -= n;
  }
  inline uint32_t take(uint32_t n) {
    uint32_t v = peek(n);
    drop(n);
    return v;
  }
  inline bool overrun() const { return phantom * 8 > cnt; }
  // Bytes of input used so far, a partly used byte counting as used.
  size_t used(const uint8_t* start) const { return static_cast<size_t>(p - start) + phantom - cnt / 8; }
};

struct Tables {
  uint32_t lit[kLitTable], dist[kDistTable], cl[1u << kClBits];
};

// Table lookup including the second level.
inline uint32_t lookup(const uint32_t* t, int bits, const BitIn& in) {
  uint32_t e = t[in.buf & ((1u << bits) - 1)];
  if (e_kind(e) == kLink) e = t[e_value(e) + ((in.buf >> bits) & ((1u << e_extra(e)) - 1))];
  return e;
}

const char* read_dynamic(BitIn& in, Tables& t) {
  static const uint8_t kOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  in.refill();
  const int hlit = static_cast<int>(in.take(5)) + 257;
  const int hdist = static_cast<int>(in.take(5)) + 1;
  const int hclen = static_cast<int>(in.take(4)) + 4;
  if (hlit > 286 || hdist > 30) return "too many length or distance symbols";
  uint8_t cl_lens[19] = {0};
  for (int i = 0; i < hclen; ++i) {
    if (in.cnt < 3) in.refill();
    cl_lens[kOrder[i]] = static_cast<uint8_t>(in.take(3));
  }
  if (in.overrun()) return "truncated";
  if (const char* err = build_table(cl_lens, 19, Alphabet::CodeLen, kClBits, t.cl)) return err;
  uint8_t lens[286 + 30];
  const int total = hlit + hdist;
  int i = 0;
  while (i < total) {
    in.refill();
    const uint32_t e = t.cl[in.peek(kClBits)];
    if (e_kind(e) == kBad) return "invalid code length code";
    in.drop(e_len(e));
    const uint32_t sym = e_value(e);
    if (sym < 16) {
      lens[i++] = static_cast<uint8_t>(sym);
      continue;
    }
    int rep;
    uint8_t val = 0;
    if (sym == 16) {
      if (i == 0) return "length repeat with no previous length";
      val = lens[i - 1];
      rep = 3 + static_cast<int>(in.take(2));
    } else if (sym == 17) {
      rep = 3 + static_cast<int>(in.take(3));
    } else {
      rep = 11 + static_cast<int>(in.take(7));
    }
    if (i + rep > total) return "too many code lengths";
    std::memset(lens + i, val, static_cast<size_t>(rep));
    i += rep;
  }
  if (in.overrun()) return "truncated";
  if (lens[256] == 0) return "no end-of-block code";
  if (const char* err = build_table(lens, hlit, Alphabet::LitLen, kLitBits, t.lit)) return err;
  if (const char* err = build_table(lens + hlit, hdist, Alphabet::Dist, kDistBits, t.dist)) return err;
  return nullptr;
}

// Copies a match of `len` bytes from `dist` back. May write up to 15 bytes
// past the end of the match (the caller keeps that much room).
inline void copy_match(uint8_t* dst, size_t dist, size_t len) {
  uint8_t* const end = dst + len;
  if (dist >= 16) {
    const uint8_t* src = dst - dist;  // never overlaps within one 16-byte step
    do {
      std::memcpy(dst, src, 16);
      dst += 16;
      src += 16;
    } while (dst < end);
    return;
  }
  if (len <= 16) {
    for (size_t k = 0; k < len; ++k) dst[k] = dst[k - dist];
    return;
  }
  // Short period (lc0's runs of -1.0f give 4): build 16 bytes of the
  // repeating pattern once, then store it every `step` bytes, step being the
  // largest multiple of the period that fits in 16. Loading from just-written
  // bytes instead would wait on store forwarding at every step.
  uint8_t pat[16];
  for (size_t k = 0; k < 16; ++k) pat[k] = k < dist ? dst[k - dist] : pat[k - dist];
  const size_t step = 16 - 16 % dist;
  for (; dst < end; dst += step) std::memcpy(dst, pat, 16);
}

constexpr size_t kRoom = 258 + 16;  // one longest match plus the copy overshoot

}  // namespace

const char* const kInflateTooLarge = "inflates beyond the size limit";

InflateResult inflate_raw(const uint8_t* src, size_t n, Bytes& out, size_t out_pos, size_t max_out) {
  static const Fixed fixed;
  thread_local Tables dyn;  // ~50 KB: kept per thread rather than on the stack
  InflateResult res;
  BitIn in{src, src + n};
  const size_t start = out_pos;  // distances may not reach before this stream
  size_t pos = out_pos;
  if (out.size() < pos + kRoom) out.resize(pos + kRoom + n * 4);
  uint8_t* o = out.data();
  size_t cap = out.size();
  bool last = false;
  const char* err = nullptr;
  while (!last && !err) {
    in.refill();
    last = in.take(1) != 0;
    const uint32_t type = in.take(2);
    if (in.overrun()) {
      err = "truncated";
      break;
    }
    if (type == 0) {  // stored: byte-aligned LEN, NLEN, then LEN raw bytes
      in.drop(in.cnt & 7);
      const uint32_t len = in.take(16);
      const uint32_t nlen = in.take(16);
      if (in.overrun()) {
        err = "truncated";
        break;
      }
      if ((len ^ 0xffff) != nlen) {
        err = "stored block length mismatch";
        break;
      }
      const size_t at = in.used(src);
      in = BitIn{src + at, src + n};
      const size_t avail = std::min<size_t>(len, n - at);
      if (pos + avail > max_out) {
        err = kInflateTooLarge;
        break;
      }
      if (cap < pos + avail + kRoom) {
        out.resize(pos + avail + kRoom + n);
        o = out.data();
        cap = out.size();
      }
      std::memcpy(o + pos, src + at, avail);
      pos += avail;
      in.p += avail;
      if (avail < len) err = "truncated";
      continue;
    }
    const uint32_t* lit = fixed.lit;
    const uint32_t* dist = fixed.dist;
    if (type == 2) {
      err = read_dynamic(in, dyn);
      if (err) break;
      lit = dyn.lit;
      dist = dyn.dist;
    } else if (type != 1) {
      err = "invalid block type";
      break;
    }
    while (true) {
      if (cap - pos < kRoom) {
        if (pos > max_out) {
          err = kInflateTooLarge;
          break;
        }
        out.resize(cap * 2);
        o = out.data();
        cap = out.size();
      }
      in.refill();  // 56 bits: enough for a length, its extra bits, a distance and its extra bits
      uint32_t e = lookup(lit, kLitBits, in);
      in.drop(e_len(e));
      const uint32_t kind = e_kind(e);
      if (kind == kLit) {
        if (in.phantom && in.overrun()) {
          err = "truncated";
          break;
        }
        o[pos++] = static_cast<uint8_t>(e_value(e));
        continue;
      }
      if (kind == kEnd) {
        if (in.phantom && in.overrun()) err = "truncated";
        break;
      }
      if (kind != kBase) {
        err = "invalid literal/length code";
        break;
      }
      const size_t len = e_value(e) + in.take(e_extra(e));
      e = lookup(dist, kDistBits, in);
      if (e_kind(e) != kBase) {
        err = "invalid distance code";
        break;
      }
      in.drop(e_len(e));
      const size_t d = e_value(e) + in.take(e_extra(e));
      if (in.phantom && in.overrun()) {
        err = "truncated";
        break;
      }
      if (d > pos - start) {
        err = "distance too far back";
        break;
      }
      copy_match(o + pos, d, len);
      pos += len;
    }
  }
  if (!err && in.overrun()) err = "truncated";
  out.resize(pos);
  res.error = err;
  res.consumed = std::min(in.used(src), n);
  return res;
}

}  // namespace lcl
