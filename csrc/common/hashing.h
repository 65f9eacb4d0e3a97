// Stable hashing of chunk keys: the same key always lands in the same split,
// on every machine and across restarts.
#pragma once
#include <cstdint>
#include <string_view>

namespace lcpipe {

// 64-bit FNV-1a, then a final avalanche so nearby keys spread evenly.
uint64_t stable_hash(std::string_view key, uint64_t seed = 0);

// Uniform number in [0, 1) derived from stable_hash.
double unit_interval(std::string_view key, uint64_t seed = 0);

}  // namespace lcpipe
