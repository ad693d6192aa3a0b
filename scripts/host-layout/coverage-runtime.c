// SanitizerCoverage callbacks for the host's code-layout profile (scripts/host-symbol-order.sh).
// The first time an instrumented function runs, its address less the executable's load bias is
// appended to $FERRY_LAYOUT_TRACE/<command>.<pid>, so the trace lists functions in first-run order.
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int traceFD = -1;
static uintptr_t loadBias;

static int firstObject(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    loadBias = info->dlpi_addr;  // the first object listed is the executable itself
    return 1;
}

// The ferry subcommand (argv[1]), so each process of a scenario has its own trace.
static void commandName(char *name, size_t capacity) {
    char cmdline[256] = {0};
    int fd = open("/proc/self/cmdline", O_RDONLY);
    ssize_t n = fd < 0 ? 0 : read(fd, cmdline, sizeof cmdline - 1);
    if (fd >= 0) close(fd);
    size_t first = strnlen(cmdline, (size_t)(n > 0 ? n : 0));
    snprintf(name, capacity, "%s", (ssize_t)first + 1 < n ? cmdline + first + 1 : "none");
}

void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop) {
    static uint32_t next;
    if (start == stop || *start) return;
    const char *directory = getenv("FERRY_LAYOUT_TRACE");
    if (traceFD < 0 && directory) {
        char command[64], path[4096];
        commandName(command, sizeof command);
        snprintf(path, sizeof path, "%s/%s.%d", directory, command, (int)getpid());
        traceFD = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dl_iterate_phdr(firstObject, NULL);
    }
    for (uint32_t *guard = start; guard < stop; guard++) *guard = ++next;
}

void __sanitizer_cov_trace_pc_guard(uint32_t *guard) {
    if (!*guard) return;
    *guard = 0;  // two threads may both record a function; the order file keeps its first place
    if (traceFD < 0) return;
    uintptr_t pc = (uintptr_t)__builtin_return_address(0) - loadBias;
    (void)!write(traceFD, &pc, sizeof pc);
}
