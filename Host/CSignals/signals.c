#define _GNU_SOURCE
#include "ferry_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

// Written once, before any handler that reads it is installed.
static int write_end = -1;

static void write_signal_number(int number) {
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    // Non-blocking: with the pipe full (64 KiB of unread signals) the signal is dropped rather
    // than the thread that took it blocked inside a handler.
    (void)write(write_end, &byte, 1);
    errno = saved;
}

int ferry_signals_route_to_pipe(const int *signals, int count) {
    if (write_end >= 0) {
        errno = EBUSY;
        return -1;
    }
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return -1;
    if (fcntl(ends[1], F_SETFL, O_NONBLOCK) != 0) {
        int saved = errno;
        close(ends[0]);
        close(ends[1]);
        errno = saved;
        return -1;
    }
    write_end = ends[1];
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = write_signal_number;
    action.sa_flags = SA_RESTART;
    sigfillset(&action.sa_mask);
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) {
            // All or nothing: a signal routed to a pipe nobody reads would be swallowed.
            int saved = errno;
            for (int j = 0; j < i; j++) signal(signals[j], SIG_DFL);
            write_end = -1;
            close(ends[0]);
            close(ends[1]);
            errno = saved;
            return -1;
        }
    }
    return ends[0];
}
