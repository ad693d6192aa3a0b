#define _GNU_SOURCE
#include "ferry_shared_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

static const int required_seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

int ferry_ring_memfd(const char *name, size_t size) {
    int descriptor = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (descriptor < 0) return -1;
    if (ftruncate(descriptor, (off_t)size) != 0 || fcntl(descriptor, F_ADD_SEALS, required_seals) != 0) {
        int saved = errno;
        close(descriptor);
        errno = saved;
        return -1;
    }
    return descriptor;
}

int ferry_ring_is_sealed(int descriptor) {
    int seals = fcntl(descriptor, F_GET_SEALS);
    return seals >= 0 && (seals & required_seals) == required_seals;
}

int ferry_ring_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
