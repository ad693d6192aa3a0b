/* What Swift cannot say about memory two processes share: sequentially consistent atomics on
   32-bit words at raw addresses (Swift's Atomic lives at an address the compiler owns, not in a
   mapping), the CPU's spin-wait hint, and a sealed memfd (memfd_create and its seals are behind
   _GNU_SOURCE, hidden from Swift's Glibc module), and an eventfd. For the shared-memory fast path of the plugin
   channel (Host/Isolation/SharedRing.swift). */
#ifndef FERRY_SHARED_RING_H
#define FERRY_SHARED_RING_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t ferry_ring_load(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }
static inline void ferry_ring_store(uint32_t *word, uint32_t value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }
static inline uint32_t ferry_ring_exchange(uint32_t *word, uint32_t value) {
    return __atomic_exchange_n(word, value, __ATOMIC_SEQ_CST);
}

/* The pause (x86) or yield (Arm) instruction: tells the core this is a spin-wait loop. */
static inline void ferry_ring_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* A close-on-exec memfd of `size` bytes whose size is then sealed (no shrink, no grow, no more
   seals), so the other process cannot truncate it under this one's mapping (which would make
   this process's reads fault with SIGBUS). Returns the descriptor, or -1 with errno set. */
int ferry_ring_memfd(const char *name, size_t size);

/* A close-on-exec, non-blocking eventfd: a sleeping side's doorbell. Its wake-up is not a "sync"
   one as a Unix socket write's is, so the scheduler may wake the sleeper on an idle core instead
   of pulling it onto the waker's. Returns the descriptor, or -1 with errno set. */
int ferry_ring_eventfd(void);

/* Whether `descriptor` carries the seals ferry_ring_memfd sets: a mapping of it cannot be cut short. */
int ferry_ring_is_sealed(int descriptor);

#endif
