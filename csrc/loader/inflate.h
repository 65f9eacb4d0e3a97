// Whole-buffer DEFLATE decoder (RFC 1951), written for this loader.
//
// A chunk is small (tens of KB) and arrives whole, so the decoder does not
// need zlib's resumable state machine: it reads from one buffer and writes
// into one growable buffer, refills a 64-bit bit buffer with one unaligned
// load, and decodes literal/length and distance codes with one table lookup
// (a second one only for codes longer than the first-level table).
#pragma once
#include <cstddef>
#include <cstdint>

#include "loader/gz.h"

namespace lcl {

struct InflateResult {
  const char* error = nullptr;  // nullptr: the final block was decoded
  size_t consumed = 0;          // input bytes used (rounded up to a whole byte)
};

// Decodes one raw DEFLATE stream from in[0..n) and appends what it produces
// to out starting at out_pos (out grows as needed; out.size() is left at the
// end of the produced bytes). On error, out holds every byte produced by
// symbols that were read completely before the damage. Decoding stops with
// kInflateTooLarge once the output passes max_out bytes (a gzip bomb): out
// never grows far beyond max_out.
InflateResult inflate_raw(const uint8_t* in, size_t n, Bytes& out, size_t out_pos, size_t max_out = SIZE_MAX);

}  // namespace lcl
