#!/usr/bin/env python3
"""Hand-edits a LittleFS image for tests/integration/fs_cli.sh."""
import struct, sys, zlib
# lfs_patch.py IMAGE BLOCK_SIZE OLD NEW [--no-crc]: replaces bytes OLD by NEW
# (same length) and, unless --no-crc, recomputes the CRC of every commit in
# the blocks it touched (littlefs v2.0 commits: no FCRC).
img, bs = sys.argv[1], int(sys.argv[2], 0)
old, new = sys.argv[3].encode('latin1').decode('unicode_escape').encode('latin1'), \
    sys.argv[4].encode('latin1').decode('unicode_escape').encode('latin1')
assert len(old) == len(new)
data = bytearray(open(img, 'rb').read())
touched = set()
at = data.find(old)
while at >= 0:
    data[at:at + len(old)] = new
    touched.add(at // bs)
    at = data.find(old, at + len(new))
if not touched:
    sys.exit("pattern not found")
if '--no-crc' not in sys.argv:
    for b in touched:
        base, off, start, ptag = b * bs, 4, 0, 0xffffffff
        while off + 4 <= bs:
            tag = struct.unpack('>I', data[base + off:base + off + 4])[0] ^ ptag
            if tag & 0x80000000:
                break
            size = tag & 0x3ff
            size = 0 if size == 0x3ff else size
            if (tag >> 20) & 0x700 == 0x500:
                crc = zlib.crc32(bytes(data[base + start:base + off + 4])) ^ 0xffffffff
                data[base + off + 4:base + off + 8] = struct.pack('<I', crc)
                ptag = tag ^ ((tag >> 20) & 1) << 31
                off += 4 + size
                start = off
                continue
            ptag = tag
            off += 4 + size
open(img, 'wb').write(data)
