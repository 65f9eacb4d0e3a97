// Size-class allocator for compact frames. Frames are 1-2.3 KB, made by
// decoder threads and freed by batch threads; glibc serves that size from
// its slow "large bin" path, which cost more than inflating. Here: 64-byte
// size classes, per-thread caches, batches moved through a shared list.
#pragma once
#include <cstddef>

namespace lcl {

void* frame_alloc(size_t bytes);
void frame_free(void* p, size_t bytes);
size_t frame_alloc_reserved_bytes();  // memory held by the allocator (metrics)

}  // namespace lcl
