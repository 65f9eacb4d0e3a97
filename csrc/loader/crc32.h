// CRC-32 of gzip (the reflected polynomial 0xEDB88320), same results as
// zlib's crc32(). With PCLMULQDQ (checked at run time) 64-byte blocks are
// folded with carry-less multiplies, several times faster than zlib's
// table method; otherwise a byte table is used.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lcl {

uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n);
uint32_t crc32_bytewise(uint32_t crc, const uint8_t* p, size_t n);  // the portable path, for tests

}  // namespace lcl
