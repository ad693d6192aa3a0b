#!/usr/bin/python3
"""A scripted /dev/videoN (a V4L2 capture device) for umockdev: runs a program with the camera
described by a JSON script.

    umockdev-wrapper /usr/bin/python3 v4l2_camera.py SCRIPT.json -- PROGRAM ARGS...

    {"device": "/dev/video0", "card": "Scripted Camera",
     "formats": [{"fourcc": "MJPG", "sizes": [[320, 240]], "frame": "/path/to/320x240.jpg"},
                 {"fourcc": "YUYV", "sizes": [[320, 240], [640, 480]]}],
     "busy": false, "unplug_after_reads": 3}

The handler answers VIDIOC_QUERYCAP (a capture device with the read() I/O method only: umockdev
cannot emulate mmap, so V4L2_CAP_STREAMING is not offered and the driver must fall back to read()),
VIDIOC_ENUM_FMT, VIDIOC_ENUM_FRAMESIZES, VIDIOC_G_FMT, VIDIOC_S_FMT (which, like a real driver,
replaces an unknown format or size with the first it has), VIDIOC_S_PARM and read(). MJPG frames are
the script's JPEG file; YUYV frames are generated colour bars. `busy` makes S_FMT fail with EBUSY, as
when another program streams; `unplug_after_reads` makes the read after that many frames fail with
ENODEV once (a USB unplug as the driver sees it), after which the camera answers again. Every
request is appended to $FERRY_UMOCKDEV_LOG when set. Struct layouts are those of 64-bit Linux.
Run under umockdev-wrapper with /usr/bin/python3 (Debian's gi bindings).
"""
import errno
import os
import struct

from umockdev_harness import UMockdev, arguments, run, trace

QUERYCAP, ENUM_FMT, G_FMT, S_FMT = 0x80685600, 0xC0405602, 0xC0D05604, 0xC0D05605
S_PARM, ENUM_FRAMESIZES, REQBUFS = 0xC0CC5616, 0xC02C564A, 0xC0145608
NAMES = {QUERYCAP: "VIDIOC_QUERYCAP", ENUM_FMT: "VIDIOC_ENUM_FMT", G_FMT: "VIDIOC_G_FMT", S_FMT: "VIDIOC_S_FMT",
         S_PARM: "VIDIOC_S_PARM", ENUM_FRAMESIZES: "VIDIOC_ENUM_FRAMESIZES", REQBUFS: "VIDIOC_REQBUFS"}
CAP_VIDEO_CAPTURE, CAP_READWRITE, CAP_DEVICE_CAPS = 0x1, 0x01000000, 0x80000000
BUF_TYPE_VIDEO_CAPTURE, FIELD_NONE, FRMSIZE_TYPE_DISCRETE = 1, 1, 1


def fourcc(text):
    return struct.unpack("<I", text.encode())[0]


class Camera(UMockdev.IoctlBase):
    def __init__(self, script):
        super().__init__()
        self.card = script.get("card", "Scripted Camera").encode()[:31]
        self.formats = script["formats"]
        self.busy = script.get("busy", False)
        self.unplug_after = script.get("unplug_after_reads")
        self.format = self.formats[0]
        self.size = tuple(self.format["sizes"][0])
        self.reads = 0
        self.frames = {}

    def do_handle_ioctl(self, client):
        request = client.get_request()
        arg = client.get_arg()
        try:
            handlers = {QUERYCAP: self.querycap, ENUM_FMT: self.enum_fmt, ENUM_FRAMESIZES: self.enum_framesizes,
                        G_FMT: self.get_format, S_FMT: self.set_format, S_PARM: self.set_parm}
            handler = handlers.get(request)
            if handler is None:
                trace("%s -> ENOTTY" % NAMES.get(request, hex(request)))
                client.complete(-1, errno.ENOTTY)
            else:
                client.complete(*handler(arg))
        except Exception as error:  # a harness bug must not hang the program under test
            trace("harness error: %r" % error)
            client.complete(-1, errno.EIO)
        return True

    def querycap(self, arg):
        data = arg.resolve(0, 104)
        cap = bytearray(104)
        cap[0:8] = b"scripted"
        cap[16:16 + len(self.card)] = self.card
        cap[48:60] = b"platform:fake"[:12]
        caps = CAP_VIDEO_CAPTURE | CAP_READWRITE
        struct.pack_into("<III", cap, 80, 0x00060100, caps | CAP_DEVICE_CAPS, caps)
        data.update(0, cap)
        trace("VIDIOC_QUERYCAP")
        return 0, 0

    def enum_fmt(self, arg):
        data = arg.resolve(0, 64)
        desc = bytearray(data.retrieve())
        index, kind = struct.unpack_from("<II", desc, 0)
        if kind != BUF_TYPE_VIDEO_CAPTURE or index >= len(self.formats):
            return -1, errno.EINVAL
        name = self.formats[index]["fourcc"]
        desc[12:44] = name.encode().ljust(32, b"\0")
        struct.pack_into("<I", desc, 44, fourcc(name))
        data.update(0, desc)
        trace("VIDIOC_ENUM_FMT %d %s" % (index, name))
        return 0, 0

    def find(self, code):
        return next((f for f in self.formats if fourcc(f["fourcc"]) == code), None)

    def enum_framesizes(self, arg):
        data = arg.resolve(0, 44)
        size = bytearray(data.retrieve())
        index, code = struct.unpack_from("<II", size, 0)
        spec = self.find(code)
        if spec is None or index >= len(spec["sizes"]):
            return -1, errno.EINVAL
        struct.pack_into("<III", size, 8, FRMSIZE_TYPE_DISCRETE, *spec["sizes"][index])
        data.update(0, size)
        return 0, 0

    def fill_format(self, fmt):
        width, height = self.size
        yuyv = self.format["fourcc"] == "YUYV"
        struct.pack_into("<IIIIIII", fmt, 8, width, height, fourcc(self.format["fourcc"]), FIELD_NONE,
                         width * 2 if yuyv else 0, width * height * 2, 8)

    def get_format(self, arg):
        data = arg.resolve(0, 208)
        fmt = bytearray(data.retrieve())
        if struct.unpack_from("<I", fmt, 0)[0] != BUF_TYPE_VIDEO_CAPTURE:
            return -1, errno.EINVAL
        self.fill_format(fmt)
        data.update(0, fmt)
        return 0, 0

    def set_format(self, arg):
        data = arg.resolve(0, 208)
        fmt = bytearray(data.retrieve())
        kind, = struct.unpack_from("<I", fmt, 0)
        width, height, code = struct.unpack_from("<III", fmt, 8)
        if kind != BUF_TYPE_VIDEO_CAPTURE:
            return -1, errno.EINVAL
        if self.busy:
            trace("VIDIOC_S_FMT -> EBUSY")
            return -1, errno.EBUSY
        self.format = self.find(code) or self.formats[0]
        sizes = [tuple(s) for s in self.format["sizes"]]
        self.size = (width, height) if (width, height) in sizes else sizes[0]
        self.fill_format(fmt)
        data.update(0, fmt)
        trace("VIDIOC_S_FMT %s %dx%d" % (self.format["fourcc"], self.size[0], self.size[1]))
        return 0, 0

    def set_parm(self, arg):
        data = arg.resolve(0, 204)
        numerator, denominator = struct.unpack_from("<II", bytes(data.retrieve()), 12)
        trace("VIDIOC_S_PARM %d/%d" % (numerator, denominator))
        return 0, 0

    def frame(self):
        width, height = self.size
        if self.format["fourcc"] != "YUYV":
            path = self.format["frame"]
            if path not in self.frames:
                with open(path, "rb") as f:
                    self.frames[path] = f.read()
            return self.frames[path]
        bars = [(235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34), (106, 202, 222), (81, 90, 240)]
        row = bytearray()
        for x in range(0, width, 2):
            y, u, v = bars[x * len(bars) // width]
            row += bytes((y, u, y, v))
        return bytes(row) * height

    def do_handle_read(self, client):
        arg = client.get_arg()
        try:
            wanted = len(arg.retrieve())
            if self.unplug_after is not None and self.reads == self.unplug_after:
                self.unplug_after = None
                trace("read -> ENODEV (unplugged)")
                client.complete(-1, errno.ENODEV)
                return True
            frame = self.frame()[:wanted]
            arg.update(0, frame)
            self.reads += 1
            trace("read %d bytes (%s %dx%d)" % (len(frame), self.format["fourcc"], self.size[0], self.size[1]))
            client.complete(len(frame), 0)
        except Exception as error:
            trace("harness error: %r" % error)
            client.complete(-1, errno.EIO)
        return True


def main():
    script, program = arguments("v4l2_camera.py SCRIPT.json -- PROGRAM ARGS...")

    device = script.get("device", "/dev/video0")
    name = os.path.basename(device)
    testbed = UMockdev.Testbed.new()
    testbed.add_from_string(
        "P: /devices/virtual/video4linux/%s\nN: %s\nE: DEVNAME=%s\nE: SUBSYSTEM=video4linux\n" % (name, name, device))
    handler = Camera(script)
    testbed.attach_ioctl(device, handler)

    run(testbed, program)


if __name__ == "__main__":
    main()
