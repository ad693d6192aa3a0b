import CFerrySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A thread of its own (a capture lane, a blocking read of signals or a child's output), started
/// with pthreads rather than Foundation's `Thread`, so the host (`ferry-host`) links no Foundation.
package enum OSThread {
    /// Starts `body` on a new detached thread named `name` (at most 15 bytes show in `top -H`),
    /// with `stackSize` bytes of stack when given.
    package static func detach(name: String? = nil, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        final class Start {
            let name: String?
            let body: @Sendable () -> Void
            init(name: String?, body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN))) }
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            if let name = start.name { _ = ferry_set_thread_name(name) }
            start.body()
            return nil
        }, start)
        guard status == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            fatalError("cannot start a thread (pthread_create: \(String(cString: strerror(status))))")
        }
    }
}

/// A pthread mutex (Foundation's NSLock and NSRecursiveLock without Foundation). `recursive`: its
/// holder may take it again (a simulated clock's tick that re-enters the scheduler).
package final class Lock: @unchecked Sendable {
    // @unchecked: the mutex is the synchronisation; it lives at a fixed heap address for the
    // lock's lifetime (allocated here, never moved, destroyed in deinit).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init(recursive: Bool = false) {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        if recursive { pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE)) }
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
    /// Takes the lock if no other thread holds it; false (without waiting) if one does.
    package func `try`() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    package func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
