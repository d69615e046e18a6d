"""Places pages on node 1, then touches them from a CPU on node 0 until the kernel promotes some (pgpromote_success
in /proc/vmstat rises) or the time is up. Prints one JSON line: the counter before and after, seconds taken.

The pages are placed with set_mempolicy(MPOL_PREFERRED, node 1) at first touch; the policy then goes back to the
default (local allocation) so that node 0 is where a hint fault finds them misplaced, which is what promotion in
memory tiering mode acts on.
"""
import ctypes
import json
import sys
import time

SYS_SET_MEMPOLICY = 238  # x86_64
MPOL_DEFAULT, MPOL_PREFERRED = 0, 1
PAGE = 4096


def set_mempolicy(mode, nodes):
    libc = ctypes.CDLL(None, use_errno=True)
    mask = ctypes.c_ulong(sum(1 << node for node in nodes))
    if libc.syscall(SYS_SET_MEMPOLICY, mode, ctypes.byref(mask) if nodes else None, 64 if nodes else 0) != 0:
        raise OSError(ctypes.get_errno(), 'set_mempolicy')


def promoted():
    with open('/proc/vmstat') as handle:
        for line in handle:
            name, value = line.split()
            if name == 'pgpromote_success':
                return int(value)
    return None


def main(megabytes=128, seconds=240):
    set_mempolicy(MPOL_PREFERRED, [1])
    buffer = bytearray(megabytes << 20)
    for offset in range(0, len(buffer), PAGE):
        buffer[offset] = 1
    set_mempolicy(MPOL_DEFAULT, [])
    before = promoted()
    start = time.time()
    while time.time() - start < seconds:
        for offset in range(0, len(buffer), PAGE):
            buffer[offset] = (buffer[offset] + 1) & 0xff
        if promoted() > before:
            break
        time.sleep(0.5)
    print(json.dumps({'before': before, 'after': promoted(), 'seconds': round(time.time() - start, 1)}))


if __name__ == '__main__':
    main(*[int(arg) for arg in sys.argv[1:]])
