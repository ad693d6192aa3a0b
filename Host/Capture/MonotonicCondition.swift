import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A pthread mutex with a condition variable whose timed waits run on CLOCK_MONOTONIC, so setting
/// the wall clock never moves a schedule. The lock guards whatever its owner says it guards.
final class MonotonicCondition: @unchecked Sendable {
    // @unchecked: the pthread objects live at fixed addresses and are used only through pthread calls.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func signal() { pthread_cond_signal(condition) }

    /// Waits (the lock held) until signalled.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits (the lock held) until signalled or `timeout` has passed.
    func wait(for timeout: Duration) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanos = max(timeout.inNanoseconds, 0)
        var deadline = timespec()
        let total = Int64(now.tv_nsec) + nanos % 1_000_000_000
        deadline.tv_sec = now.tv_sec + Int(nanos / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(condition, mutex, &deadline)
    }
}

/// The calling thread's Linux id, and asking the kernel to wake it within `nanoseconds` of a timed
/// wait's deadline instead of the default 50 µs (a 20 kHz schedule has 50 µs between ticks).
enum ThreadTuning {
    static func setTimerSlack(nanoseconds: Int) {
        // /proc/thread-self links to "PID/task/TID"; the slack file lives at /proc/TID.
        var link = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &link, link.count - 1)
        guard length > 0, let tid = String(decoding: link[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: "/").last
        else { return }
        let fd = open("/proc/\(tid)/timerslack_ns", O_WRONLY)
        guard fd >= 0 else { return }  // older kernels: keep the default slack
        let text = Array(String(nanoseconds).utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
