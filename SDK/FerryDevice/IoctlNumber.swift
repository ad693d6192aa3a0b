/// Linux's `_IO`, `_IOR`, `_IOW` and `_IOWR` request encodings (asm-generic/ioctl.h), which C
/// macros hide from Swift. x86-64, arm64 and riscv use this layout (dir:2 size:14 type:8 nr:8).
public enum IoctlNumber {
    static let none: UInt = 0, write: UInt = 1, read: UInt = 2

    static func encode(_ direction: UInt, _ type: UInt8, _ number: UInt8, _ size: Int) -> UInt {
        (direction << 30) | (UInt(size) << 16) | (UInt(type) << 8) | UInt(number)
    }

    public static func io(_ type: UInt8, _ number: UInt8) -> UInt { encode(none, type, number, 0) }
    public static func ior(_ type: UInt8, _ number: UInt8, size: Int) -> UInt { encode(read, type, number, size) }
    public static func iow(_ type: UInt8, _ number: UInt8, size: Int) -> UInt { encode(write, type, number, size) }
    public static func iowr(_ type: UInt8, _ number: UInt8, size: Int) -> UInt {
        encode(read | write, type, number, size)
    }
}
