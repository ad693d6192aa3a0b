#!/usr/bin/env python3
"""Turns a coverage trace (addresses of functions in first-run order, from coverage-runtime.c) into an
lld symbol ordering file: the functions' symbol names, first run first, each once, followed by the
functions they call directly that the trace cannot show (some of the compiler's own helpers, such as
outlined copies, are not instrumented), found by disassembling the traced ones.

    order.py BINARY TRACE > order.txt       (BINARY: the instrumented ferry that wrote TRACE)
"""
import bisect, re, struct, subprocess, sys

binary, trace = sys.argv[1], sys.argv[2]
symbols = []  # (start, end, name) of the binary's functions
nm = subprocess.run(["llvm-nm", "--defined-only", "--print-size", "--numeric-sort", "--no-demangle", binary],
                    check=True, capture_output=True, text=True).stdout
for line in nm.splitlines():
    parts = line.split()
    if len(parts) == 4 and parts[2] in "tTwW" and int(parts[1], 16) > 0:
        start = int(parts[0], 16)
        symbols.append((start, start + int(parts[1], 16), parts[3]))
starts = [s[0] for s in symbols]
function_at = {start: name for start, _, name in reversed(symbols)}

def function_containing(address):
    i = bisect.bisect_right(starts, address) - 1
    return symbols[i][2] if i >= 0 and address < symbols[i][1] else None

data = open(trace, "rb").read()
order, unknown = [], 0
for (address,) in struct.iter_unpack("<Q", data[: len(data) // 8 * 8]):
    name = function_containing(address)
    if name is None:
        unknown += 1
    else:
        order.append(name)
order = list(dict.fromkeys(order))
traced = len(order)

# Direct callees, breadth first, until no new function is reached: a function that ran but is not in
# the trace is one the instrumentation skipped (some of the compiler's helpers).
known, frontier = set(order), order
call = re.compile(r"\s(?:call|jmp)\s+0x([0-9a-f]+) <")
while frontier:
    listing = "".join(  # in chunks: one argument may not exceed 128 KiB
        subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", "--no-leading-addr",
                        "--disassemble-symbols=" + ",".join(frontier[i:i + 500]), binary],
                       check=True, capture_output=True, text=True).stdout
        for i in range(0, len(frontier), 500))
    found = []
    for match in call.finditer(listing):
        name = function_at.get(int(match.group(1), 16))
        if name and name not in known and not name.startswith("__sanitizer_cov"):
            known.add(name)
            found.append(name)
    order += found
    frontier = found

print("\n".join(order))
print(f"{traced} functions traced ({unknown} of {len(data) // 8} trace entries outside any symbol), "
      f"{len(order) - traced} functions they call directly", file=sys.stderr)
