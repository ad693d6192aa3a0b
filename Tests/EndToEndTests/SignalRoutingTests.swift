import CFerrySignals
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// `ferry_signals_route_to_pipe`, which `ferry run` and `ferry serve` stop by: every signal that
/// reaches the process is one byte on the pipe, whichever thread the kernel gives it to. Here in
/// the test process with SIGUSR2 (routing is once per process, so one test does it all).
@Suite(.ownThreads) struct SignalRoutingTests {
    /// Reads one byte, or nil if none comes within `milliseconds`.
    func nextByte(_ readEnd: Int32, milliseconds: Int32 = 10_000) -> UInt8? {
        var descriptor = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) == 1 else { return nil }
        var byte: UInt8 = 0
        return read(readEnd, &byte, 1) == 1 ? byte : nil
    }

    @Test func everySignalReachesThePipeWhicheverThreadTakesIt() throws {
        // All or nothing: SIGKILL cannot be caught, so SIGUSR1 before it goes back to its default.
        var unroutable = [SIGUSR1, SIGKILL]
        #expect(ferry_signals_route_to_pipe(&unroutable, 2) == -1 && errno == EINVAL)
        var action = sigaction()
        sigaction(SIGUSR1, nil, &action)
        #expect(action.__sigaction_handler.sa_handler == nil, "SIGUSR1 kept a handler after the routing failed")

        var signals = [SIGUSR2]
        let readEnd = ferry_signals_route_to_pipe(&signals, 1)
        try #require(readEnd >= 0, "\(String(cString: strerror(errno)))")
        // The read end stays open, as in ferry: the handler outlives the test, and a write to a pipe
        // without a reader would raise SIGPIPE.
        // A second routing is refused: the handlers write to the first pipe.
        #expect(ferry_signals_route_to_pipe(&signals, 1) == -1 && errno == EBUSY)

        // Sent to the process: the kernel picks any thread that does not block it.
        for round in 0..<50 {
            kill(getpid(), SIGUSR2)
            #expect(nextByte(readEnd) == UInt8(SIGUSR2), "process-directed signal \(round) was lost")
        }
        // Sent to a thread that does not block it, and to the process while one thread blocks it
        // (another takes it).
        for blocks in [false, true] {
            let ready = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
            let target = Mutex<pthread_t?>(nil)
            let thread = Thread {
                var mask = sigset_t()
                sigemptyset(&mask)
                sigaddset(&mask, SIGUSR2)
                pthread_sigmask(blocks ? SIG_BLOCK : SIG_UNBLOCK, &mask, nil)
                target.withLock { $0 = pthread_self() }
                ready.signal()
                done.wait()
            }
            thread.start()
            ready.wait()
            if !blocks {
                for round in 0..<20 {
                    pthread_kill(target.withLock { $0! }, SIGUSR2)
                    #expect(nextByte(readEnd) == UInt8(SIGUSR2), "signal \(round) to a thread that takes it was lost")
                }
            } else {
                kill(getpid(), SIGUSR2)
                #expect(nextByte(readEnd) == UInt8(SIGUSR2), "a signal sent while a thread blocks it was lost")
            }
            done.signal()
        }
        // Nothing left over: one byte per signal, not more.
        #expect(nextByte(readEnd, milliseconds: 100) == nil)
    }
}
