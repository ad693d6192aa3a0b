#!/usr/bin/python3
"""A scripted /dev/i2c-N for umockdev: runs a program with the bus described by a JSON script.

    umockdev-wrapper /usr/bin/python3 i2c_bus.py SCRIPT.json -- PROGRAM ARGS...

The script names the bus and the devices on it:

    {"bus": "/dev/i2c-1",
     "devices": {"0x48": {"kind": "words", "registers": {"0x00": 6400}, "nack_first": 2},
                 "0x49": {"kind": "ads1115", "channels": [16384, -8192, 0, 32767]}}}

`registers` devices are byte-wide register files with auto-increment (BME280...); `words`
devices hold 16-bit registers sent most significant byte first (TMP102: {"0x00": 6400});
`ads1115` devices hold 16-bit registers and finish a conversion one config read after it starts.
`nack_first` makes a device NACK (EREMOTEIO) its first N transfers, as a loose wire does.
The handler answers the I2C_SLAVE and I2C_SMBUS ioctls exactly as the kernel's i2c-dev does;
any other ioctl fails with ENOTTY. SIGTERM and SIGINT are forwarded to the program, and the
harness exits with its status. Run under umockdev-wrapper (it preloads the interposer), with
/usr/bin/python3 (Debian's gi bindings).
"""
import errno
import os
import struct

from umockdev_harness import UMockdev, arguments, run, trace

I2C_SLAVE, I2C_SLAVE_FORCE, I2C_FUNCS, I2C_SMBUS = 0x0703, 0x0706, 0x0705, 0x0720
SMBUS_READ = 1
SIZES = {2: "byte_data", 3: "word_data", 8: "i2c_block_data"}


class RegisterFile:
    def __init__(self, spec):
        self.registers = {}
        for start, values in spec.get("registers", {}).items():
            for i, value in enumerate(values if isinstance(values, list) else [values]):
                self.registers[(int(start, 0) + i) & 0xFF] = value & 0xFF

    def read(self, register, count):
        return bytes(self.registers.get((register + i) & 0xFF, 0) for i in range(count))

    def write(self, register, data):
        for i, byte in enumerate(data):
            self.registers[(register + i) & 0xFF] = byte


class WordRegisters:
    """16-bit registers selected by a pointer byte, most significant byte first (TMP102)."""

    def __init__(self, spec):
        self.registers = {int(k, 0): v & 0xFFFF for k, v in spec.get("registers", {}).items()}

    def read(self, register, count):
        return struct.pack(">H", self.registers.get(register, 0))[:count]

    def write(self, register, data):
        if len(data) == 2:
            self.registers[register] = struct.unpack(">H", bytes(data))[0]


class ADS1115:
    def __init__(self, spec):
        self.channels = spec.get("channels", [0, 0, 0, 0])
        self.config = 0x8583
        self.busy = 0

    def read(self, register, count):
        if register == 1:
            word = self.config & 0x7FFF if self.busy > 0 else self.config | 0x8000
            self.busy = max(self.busy - 1, 0)
        else:
            channel = ((self.config >> 12) & 7) - 4
            word = self.channels[channel] & 0xFFFF if 0 <= channel < 4 else 0
        return struct.pack(">H", word)[:count]

    def write(self, register, data):
        if register == 1 and len(data) == 2:
            self.config = struct.unpack(">H", bytes(data))[0]
            if self.config & 0x8000:
                self.busy = 1


class Bus(UMockdev.IoctlBase):
    def __init__(self, devices):
        super().__init__()
        self.devices = devices
        self.nacks = {address: spec.get("nack_first", 0) for address, (_, spec) in devices.items()}
        # The address each open descriptor selected (i2c-dev keeps it per file); keyed by the
        # client object umockdev creates per open, which this dict also keeps alive.
        self.selected = {}

    def do_handle_ioctl(self, client):
        request = client.get_request()
        arg = client.get_arg()
        try:
            if request in (I2C_SLAVE, I2C_SLAVE_FORCE):
                self.selected[client] = struct.unpack("<Q", bytes(arg.retrieve()))[0]
                trace("I2C_SLAVE 0x%02x" % self.selected[client])
                client.complete(0, 0)
            elif request == I2C_SMBUS:
                client.complete(*self.smbus(arg, self.selected.get(client)))
            else:
                client.complete(-1, errno.ENOTTY)
        except Exception as error:  # a harness bug must not hang the program under test
            trace("harness error: %r" % error)
            client.complete(-1, errno.EIO)
        return True

    def smbus(self, arg, address):
        request = arg.resolve(0, 16)
        read_write, command, size = struct.unpack("<BBxxI", bytes(request.retrieve())[:8])
        if size not in SIZES:
            return -1, errno.EINVAL
        if address is None:
            return -1, errno.EINVAL  # i2c-dev answers this when no I2C_SLAVE came first
        device = self.devices.get(address)
        if device is None:
            trace("NACK: nothing at 0x%02x" % address)
            return -1, errno.EREMOTEIO
        if self.nacks[address] > 0:
            self.nacks[address] -= 1
            trace("NACK (scripted) at 0x%02x" % address)
            return -1, errno.EREMOTEIO
        data = request.resolve(8, 34)
        payload = bytes(data.retrieve())
        count = {2: 1, 3: 2}.get(size) or min(payload[0], 32)
        offset = 1 if size == 8 else 0
        chip = device[0]
        if read_write == SMBUS_READ:
            answer = chip.read(command, count)
            data.update(offset, answer)
            trace("read 0x%02x reg 0x%02x -> %s" % (address, command, answer.hex()))
        else:
            chip.write(command, payload[offset:offset + count])
            trace("write 0x%02x reg 0x%02x <- %s" % (address, command, payload[offset:offset + count].hex()))
        return 0, 0


def main():
    script, program = arguments("i2c_bus.py SCRIPT.json -- PROGRAM ARGS...")
    kinds = {"registers": RegisterFile, "words": WordRegisters, "ads1115": ADS1115}
    devices = {int(address, 0): (kinds[spec.get("kind", "registers")](spec), spec) for address, spec in script["devices"].items()}

    bus = script.get("bus", "/dev/i2c-1")
    name = os.path.basename(bus)
    testbed = UMockdev.Testbed.new()
    testbed.add_from_string(
        "P: /devices/platform/i2c/%s/i2c-dev/%s\nN: %s\nE: DEVNAME=%s\nE: SUBSYSTEM=i2c-dev\n" % (name, name, name, bus))
    handler = Bus(devices)
    testbed.attach_ioctl(bus, handler)

    run(testbed, program)


if __name__ == "__main__":
    main()
