#ifndef FERRY_SIGNALS_H
#define FERRY_SIGNALS_H

/// Routes `signals` to a pipe: from now on every one of them that reaches the process, whichever
/// thread the kernel hands it to, writes one byte (its number) to the pipe. Returns the pipe's
/// read end (close-on-exec, blocking), or -1 with errno set and none of `signals` routed (those
/// already set go back to their default action).
/// Once per process: a second call fails with EBUSY.
///
/// Why not a dispatch signal source: on Linux it reads a signalfd, and a thread that does not
/// block the signal (dispatch parks the main thread in sigsuspend with nothing blocked) can take
/// the signal first; dispatch then re-sends it to one thread, and a stop request that goes astray
/// is a host that never stops. A handler runs on whichever thread takes the signal, so nothing
/// can race it.
int ferry_signals_route_to_pipe(const int *signals, int count);

#endif
