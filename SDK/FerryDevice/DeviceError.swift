#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call on a device, with enough context to tell the user what to do.
public struct DeviceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errno the call failed with.
    public var errno: Int32
    /// The operation, e.g. "open", "ioctl I2C_SMBUS", "read".
    public var operation: String
    /// The device path, when known.
    public var path: String?
    /// Extra context from the driver, e.g. "address 0x48".
    public var detail: String?

    public init(errno: Int32, operation: String, path: String? = nil, detail: String? = nil) {
        (self.errno, self.operation, self.path, self.detail) = (errno, operation, path, detail)
    }

    /// The same error with the device path (and optionally a detail) filled in.
    public func at(_ path: String, detail: String? = nil) -> DeviceError {
        var copy = self
        if copy.path == nil { copy.path = path }
        if let detail, copy.detail == nil { copy.detail = detail }
        return copy
    }

    /// A retry-later error: the device exists but did not answer this time (a bus NACK, a timeout,
    /// a busy device, an interrupted call). The next capture tick may well succeed.
    public var isTransient: Bool {
        switch errno {
        case EREMOTEIO, ENXIO, EIO, ETIMEDOUT, EAGAIN, EBUSY, EINTR, EPROTO: true
        default: false
        }
    }

    public var description: String {
        let device = path ?? "the device"
        let context = detail.map { " (\($0))" } ?? ""
        let what = "\(operation) on \(device)\(context) failed: \(DeviceError.systemMessage(errno)) (errno \(errno))"
        return "\(what); \(advice)"
    }

    /// What to do about it, by errno.
    public var advice: String {
        let device = path ?? "the device"
        switch errno {
        case ENOENT, ENODEV:
            return "no such device \(device): check the path, and that the kernel driver is loaded (e.g. i2c-dev, the SoC's GPIO or video driver)"
        case EACCES, EPERM:
            return "permission denied on \(device): add the user to the device's group (i2c, gpio, video) or install a udev rule"
        case EBUSY:
            return "\(device) is busy: another process (or another component in this config) holds it; the next capture retries"
        case EREMOTEIO, ENXIO:
            return "no device answered\(detail.map { " at \($0)" } ?? ""): check the wiring, the address and the bus; the next capture retries"
        case ETIMEDOUT, EAGAIN, EINTR:
            return "the device did not answer in time; the next capture retries"
        case EIO, EPROTO:
            return "the bus reported an I/O error; check the wiring and pull-ups; the next capture retries"
        case EINVAL, ENOTTY:
            return "\(device) does not support this request: is it the right kind of device?"
        default:
            return "check the device and its driver"
        }
    }

    static func systemMessage(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
