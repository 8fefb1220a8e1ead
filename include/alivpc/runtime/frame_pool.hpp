// Where coroutine frames come from: per-thread free lists, one per 64-byte size class up to
// 4 KiB, in front of operator new.
//
// Why: every awaited call is a frame (a store call is four: the observing wrapper, the store,
// the KV, its round trip), made and freed in a moment. glibc keeps only seven freed blocks of a
// size per thread; beyond that each frame takes its slow path. The simulator makes and frees
// millions an hour of virtual time (5,000 nodes), where this was a fifth of the run. The daemon
// makes a few a second and gains little, but nothing either.
//
// A freed frame goes to the freeing thread's list (a frame made on one thread and ended on
// another is fine). The lists keep what they get until the thread ends: at most the peak of
// frames alive at once. Under AddressSanitizer, ThreadSanitizer or MemorySanitizer frames come
// straight from operator new, so that a use after free in a coroutine is still caught.
#pragma once

#include <array>
#include <cstddef>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALIVPC_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define ALIVPC_FRAME_POOL 0
#endif
#endif
#ifndef ALIVPC_FRAME_POOL
#define ALIVPC_FRAME_POOL 1
#endif

namespace alivpc::detail {

inline constexpr std::size_t frame_granule = 64;
inline constexpr std::size_t frame_classes = 64;  // blocks of 64 .. 4,032 bytes are pooled

struct frame_free_lists {
  std::array<void*, frame_classes> head{};
  ~frame_free_lists();
};

// Trivially destructible, so still readable while the thread's other locals are destroyed: a
// frame freed after the lists are gone goes straight back to operator delete.
inline thread_local bool frame_lists_gone = false;
inline thread_local frame_free_lists frame_lists;

inline frame_free_lists::~frame_free_lists() {
  frame_lists_gone = true;
  for (void* p : head)
    while (p) {
      void* next = *static_cast<void**>(p);
      ::operator delete(p);
      p = next;
    }
}

inline void* allocate_frame(std::size_t n) {
  const std::size_t c = (n + frame_granule - 1) / frame_granule;
  if (!ALIVPC_FRAME_POOL || c >= frame_classes || frame_lists_gone) return ::operator new(n);
  void*& head = frame_lists.head[c];
  if (void* p = head) {
    head = *static_cast<void**>(p);
    return p;
  }
  return ::operator new(c* frame_granule);
}

inline void free_frame(void* p, std::size_t n) noexcept {
  const std::size_t c = (n + frame_granule - 1) / frame_granule;
  if (!ALIVPC_FRAME_POOL || c >= frame_classes || frame_lists_gone) {
    ::operator delete(p);
    return;
  }
  void*& head = frame_lists.head[c];
  *static_cast<void**>(p) = head;
  head = p;
}

}  // namespace alivpc::detail
