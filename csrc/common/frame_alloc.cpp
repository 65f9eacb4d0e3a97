#include "common/frame_alloc.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace lcl {

namespace {

constexpr size_t kGrain = 64;
constexpr size_t kClasses = 64;    // up to 4 KB; larger go to malloc
constexpr size_t kLocalMax = 256;  // per-thread cache per class
constexpr size_t kMove = 128;      // moved between local and shared at once
constexpr size_t kSlab = 256 * 1024;

struct Node {
  Node* next;
};

struct Shared {
  std::mutex m;
  std::vector<Node*> free;  // shared free list of this class
};

Shared g_shared[kClasses];
std::atomic<size_t> g_reserved{0};

struct Local {
  std::vector<Node*> free[kClasses];
  ~Local() {
    // A thread ending gives its cached blocks back for others to use.
    for (size_t c = 0; c < kClasses; ++c) {
      if (free[c].empty()) continue;
      std::lock_guard<std::mutex> l(g_shared[c].m);
      g_shared[c].free.insert(g_shared[c].free.end(), free[c].begin(), free[c].end());
    }
  }
};

thread_local Local t_local;

void refill(size_t c) {
  auto& local = t_local.free[c];
  {
    std::lock_guard<std::mutex> l(g_shared[c].m);
    auto& sh = g_shared[c].free;
    size_t n = std::min(kMove, sh.size());
    local.insert(local.end(), sh.end() - n, sh.end());
    sh.resize(sh.size() - n);
  }
  if (!local.empty()) return;
  // Carve a new slab into blocks of this class (slabs are kept for reuse).
  const size_t size = (c + 1) * kGrain;
  char* slab = static_cast<char*>(std::malloc(kSlab));
  if (!slab) throw std::bad_alloc();
  g_reserved += kSlab;
  for (size_t off = 0; off + size <= kSlab; off += size) local.push_back(reinterpret_cast<Node*>(slab + off));
}

}  // namespace

void* frame_alloc(size_t bytes) {
  size_t c = (bytes + kGrain - 1) / kGrain - 1;
  if (c >= kClasses) {
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  auto& local = t_local.free[c];
  if (local.empty()) refill(c);
  Node* n = local.back();
  local.pop_back();
  return n;
}

void frame_free(void* p, size_t bytes) {
  if (!p) return;
  size_t c = (bytes + kGrain - 1) / kGrain - 1;
  if (c >= kClasses) {
    std::free(p);
    return;
  }
  auto& local = t_local.free[c];
  local.push_back(static_cast<Node*>(p));
  if (local.size() > kLocalMax) {
    std::lock_guard<std::mutex> l(g_shared[c].m);
    g_shared[c].free.insert(g_shared[c].free.end(), local.end() - kMove, local.end());
    local.resize(local.size() - kMove);
  }
}

size_t frame_alloc_reserved_bytes() { return g_reserved.load(); }

}  // namespace lcl
