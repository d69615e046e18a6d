# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Look for data on a device before a namespace is destroyed: the probe blkid / ``wipefs -n`` make.

Only the start of a device is read (``HEAD_BYTES``) and nothing is ever written. A signature found
means "this may hold data"; finding none does not prove the device is empty (a raw application
layout has no magic), so callers use this to refuse, never to allow.

API (stable; additions only):
    ``HEAD_BYTES``              -> how many bytes of a device are probed (1 MiB)
    ``find_signatures(head)``   -> ["ext4", ...]: pure, names of what the bytes ``head`` (the start
                                   of a device, possibly shorter than HEAD_BYTES) hold, in the
                                   order of ``SIGNATURES`` below; [] when nothing is recognised
    ``read_head(path, length=HEAD_BYTES)`` -> the first ``length`` bytes of a regular file, block
                                   device or device-DAX character device (read through mmap, the
                                   only access it has); raises OSError/IOError
    ``device_signatures(path)`` -> (signatures, error): error is None, or "cannot read PATH: ..."
                                   when the device could not be read (then signatures is [])
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import mmap
import os
import stat
import struct

from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs, parse_int

HEAD_BYTES = 1024 * 1024

MIB = 1024 * 1024
GIB = 1024 * MIB
# A device-DAX mapping must be a multiple of the device's alignment; these are the alignments ndctl
# offers (4 KiB divides both), tried when sysfs does not say.
DAX_ALIGN_GUESSES = (2 * MIB, GIB)

SECTOR = 512

# ext2/3/4 superblock: 1024 bytes into the device; field offsets from the ext4 on-disk layout.
EXT_SUPERBLOCK = 1024
EXT_LOG_BLOCK_SIZE = EXT_SUPERBLOCK + 0x18
EXT_MAGIC_OFFSET = EXT_SUPERBLOCK + 0x38
EXT_FEATURE_COMPAT = EXT_SUPERBLOCK + 0x5C
EXT_FEATURE_INCOMPAT = EXT_SUPERBLOCK + 0x60
EXT_FEATURE_RO_COMPAT = EXT_SUPERBLOCK + 0x64
EXT_MAGIC = 0xEF53
# Block sizes go from 1 KiB (0) to 64 KiB (6); a larger value means the two magic bytes are chance.
EXT_MAX_LOG_BLOCK_SIZE = 6
EXT_COMPAT_HAS_JOURNAL = 0x0004
EXT_INCOMPAT_JOURNAL_DEV = 0x0008
# What ext3 understands; a filesystem using any other incompat or ro_compat feature (extents,
# flex_bg, 64bit, huge_file, metadata_csum, ...) needs ext4.
EXT3_INCOMPAT = 0x0002 | 0x0004 | 0x0010        # filetype, needs_recovery, meta_bg
EXT3_RO_COMPAT = 0x0001 | 0x0002 | 0x0004       # sparse_super, large_file, btree_dir

# Boot sector and DOS partition table (MBR).
BOOT_SIGNATURE_OFFSET = 510
BOOT_SIGNATURE = b'\x55\xaa'
MBR_PARTITIONS_OFFSET = 446
MBR_PARTITION_ENTRY = 16
MBR_PARTITION_COUNT = 4
MBR_BOOT_FLAGS = (0x00, 0x80)
GPT_PROTECTIVE_TYPE = 0xEE

# GPT header: in LBA 1, which is 512 bytes in for 512-byte sectors and 4096 for 4 KiB ones.
GPT_MAGIC = b'EFI PART'
GPT_HEADER_OFFSETS = (512, 4096)

# swap: the signature ends the first page; the page size of the host that ran mkswap decides where.
SWAP_MAGICS = (b'SWAPSPACE2', b'SWAP-SPACE')
SWAP_PAGE_SIZES = (4096, 8192, 16384, 32768, 65536)

# LVM2: a label in one of the first four sectors, its type 24 bytes into the label.
LVM_LABEL = b'LABELONE'
LVM_TYPE = b'LVM2 001'
LVM_TYPE_OFFSET = 0x18
LVM_LABEL_SECTORS = 4

# Linux md RAID, superblock format 1.1 (at 0) and 1.2 (at 4 KiB, mdadm's default); 0.90 and 1.0 sit
# at the end of the device, out of reach of a head.
MD_MAGIC = 0xA92B4EFC
MD_SUPERBLOCK_OFFSETS = (0, 4096)

# bcache: superblock at sector 8, its 16-byte magic after csum, offset and version (3 x 8 bytes).
BCACHE_MAGIC_OFFSET = 4096 + 24
BCACHE_MAGIC = b'\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81'

# ZFS: each 256 KiB vdev label (L0 at 0, L1 right after it) ends in a 128 KiB array of uberblocks of
# at least 1 KiB each, every one starting with a 64-bit magic in the pool's byte order. Several
# valid ones are asked for, as one 8-byte match could be chance.
ZFS_LABEL_SIZE = 256 * 1024
ZFS_UBERBLOCKS_OFFSET = 128 * 1024
ZFS_UBERBLOCK_STEP = 1024
ZFS_UBERBLOCK_MAGIC = 0x00BAB10C
ZFS_LABELS_IN_HEAD = 2
ZFS_UBERBLOCKS_WANTED = 4


def _at(head, offset, magic):
    """True when ``magic`` is at ``offset``; a head too short to hold it simply does not match."""
    return head[offset:offset + len(magic)] == magic


def _unpack(head, offset, fmt):
    """One number at ``offset`` (struct format ``fmt``), or None when the head is too short."""
    size = struct.calcsize(fmt)
    chunk = head[offset:offset + size]
    if len(chunk) != size:
        return None
    return struct.unpack(fmt, chunk)[0]


def _ext(head):
    if _unpack(head, EXT_MAGIC_OFFSET, '<H') != EXT_MAGIC:
        return None
    log_block_size = _unpack(head, EXT_LOG_BLOCK_SIZE, '<I')
    if log_block_size is None or log_block_size > EXT_MAX_LOG_BLOCK_SIZE:
        return None
    compat = _unpack(head, EXT_FEATURE_COMPAT, '<I')
    incompat = _unpack(head, EXT_FEATURE_INCOMPAT, '<I')
    ro_compat = _unpack(head, EXT_FEATURE_RO_COMPAT, '<I')
    if ro_compat is None:
        # a head cut off inside the superblock: the magic is there, the features are not
        return 'ext2/3/4'
    if incompat & EXT_INCOMPAT_JOURNAL_DEV:
        return 'ext3/4 journal device'
    if incompat & ~EXT3_INCOMPAT or ro_compat & ~EXT3_RO_COMPAT:
        return 'ext4'
    if compat & EXT_COMPAT_HAS_JOURNAL:
        return 'ext3'
    return 'ext2'


def _xfs(head):
    return _at(head, 0, b'XFSB')


def _btrfs(head):
    return _at(head, 0x10040, b'_BHRfS_M')


def _f2fs(head):
    return _unpack(head, 0x400, '<I') == 0xF2F52010


def _vfat(head):
    if not _at(head, BOOT_SIGNATURE_OFFSET, BOOT_SIGNATURE):
        return False
    return _at(head, 0x36, b'FAT12') or _at(head, 0x36, b'FAT16') or _at(head, 0x52, b'FAT32')


def _ntfs(head):
    return _at(head, 3, b'NTFS    ')


def _exfat(head):
    return _at(head, 3, b'EXFAT   ')


def _iso9660(head):
    return _at(head, 0x8001, b'CD001')


def _squashfs(head):
    # written in the byte order of the host that made it
    return _at(head, 0, b'hsqs') or _at(head, 0, b'sqsh')


def _swap(head):
    return any(_at(head, page - 10, magic) for page in SWAP_PAGE_SIZES for magic in SWAP_MAGICS)


def _luks(head):
    # LUKS1 and LUKS2 share the first header's magic
    return _at(head, 0, b'LUKS\xba\xbe')


def _lvm2(head):
    for sector in range(LVM_LABEL_SECTORS):
        offset = sector * SECTOR
        if _at(head, offset, LVM_LABEL) and _at(head, offset + LVM_TYPE_OFFSET, LVM_TYPE):
            return True
    return False


def _md_raid(head):
    return any(_unpack(head, offset, '<I') == MD_MAGIC for offset in MD_SUPERBLOCK_OFFSETS)


def _bcache(head):
    return _at(head, BCACHE_MAGIC_OFFSET, BCACHE_MAGIC)


def _zfs(head):
    found = 0
    for label in range(ZFS_LABELS_IN_HEAD):
        start = label * ZFS_LABEL_SIZE + ZFS_UBERBLOCKS_OFFSET
        for offset in range(start, start + ZFS_LABEL_SIZE - ZFS_UBERBLOCKS_OFFSET, ZFS_UBERBLOCK_STEP):
            if ZFS_UBERBLOCK_MAGIC in (_unpack(head, offset, '<Q'), _unpack(head, offset, '>Q')):
                found += 1
                if found >= ZFS_UBERBLOCKS_WANTED:
                    return True
    return False


def _gpt(head):
    return any(_at(head, offset, GPT_MAGIC) for offset in GPT_HEADER_OFFSETS)


def _dos(head):
    """A DOS partition table: 55AA and at least one used entry, all with a valid boot flag."""
    if not _at(head, BOOT_SIGNATURE_OFFSET, BOOT_SIGNATURE):
        return False
    used = 0
    for index in range(MBR_PARTITION_COUNT):
        entry = MBR_PARTITIONS_OFFSET + index * MBR_PARTITION_ENTRY
        boot_flag = _unpack(head, entry, 'B')
        partition_type = _unpack(head, entry + 4, 'B')
        if boot_flag not in MBR_BOOT_FLAGS:
            return False
        if partition_type:
            used += 1
    return used > 0


# (name, probe, owns the first sector). A probe returns True (the name applies), a name of its own,
# or a false value. Sector-0 owners explain a 55AA there, so a DOS table is not reported beside them
# (nor beside GPT, whose protective MBR is one).
SIGNATURES = (
    ('ext2/3/4', _ext, False),
    ('xfs', _xfs, True),
    ('btrfs', _btrfs, False),
    ('f2fs', _f2fs, False),
    ('vfat', _vfat, True),
    ('ntfs', _ntfs, True),
    ('exfat', _exfat, True),
    ('iso9660', _iso9660, False),
    ('squashfs', _squashfs, True),
    ('swap', _swap, False),
    ('LUKS', _luks, True),
    ('LVM2 physical volume', _lvm2, False),
    ('linux raid member', _md_raid, False),
    ('bcache', _bcache, False),
    ('zfs', _zfs, False),
    ('gpt partition table', _gpt, True),
)
DOS_PARTITION_TABLE = 'dos partition table'


def find_signatures(head):
    """Names of the signatures in ``head`` (bytes from the start of a device), in SIGNATURES order."""
    found = []
    first_sector_explained = False
    for name, probe, owns_first_sector in SIGNATURES:
        result = probe(head)
        if not result:
            continue
        found.append(result if result is not True else name)
        first_sector_explained = first_sector_explained or owns_first_sector
    if not first_sector_explained and _dos(head):
        found.append(DOS_PARTITION_TABLE)
    return found


def _read_fd(fd, length):
    chunks = []
    remaining = length
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b''.join(chunks)


def _dax_alignments(path):
    """Mapping alignments to try for a device-DAX: the one sysfs states first, then the guesses."""
    name = os.path.basename(os.path.realpath(path))
    sysfs = Sysfs()
    alignments = []
    for parts in (('sys/bus/dax/devices', name, 'align'), ('sys/class/dax', name, 'align')):
        align = parse_int(sysfs.read(*parts))
        if align and align > 0:
            alignments.append(align)
            break
    alignments.extend(guess for guess in DAX_ALIGN_GUESSES if guess not in alignments)
    return alignments


def _map_head(fd, path, length):
    """Copy the head of a device-DAX out of a read-only shared mapping (it has no read())."""
    first_error = None
    for align in _dax_alignments(path):
        size = max(align, -(-length // align) * align)
        try:
            mapping = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        except (OSError, IOError) as error:
            # the wrong alignment gives EINVAL: try the next one, report the first failure
            first_error = first_error or error
            continue
        try:
            return mapping[:length]
        finally:
            mapping.close()
    raise first_error


def read_head(path, length=HEAD_BYTES):
    """The first ``length`` bytes of ``path`` (fewer when it is shorter); raises OSError/IOError."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if stat.S_ISCHR(os.fstat(fd).st_mode):
            return _map_head(fd, path, length)
        return _read_fd(fd, length)
    finally:
        os.close(fd)


def _describe_error(error):
    # OSError's own text repeats the path; the caller's message names the device once.
    if getattr(error, 'errno', None) and getattr(error, 'strerror', None):
        return '[Errno %d] %s' % (error.errno, error.strerror)
    return str(error)


def device_signatures(path):
    """(signatures, error): what read_head(path) holds, or ([], "cannot read PATH: ...")."""
    try:
        head = read_head(path)
    except (OSError, IOError, ValueError) as error:
        return [], 'cannot read %s: %s' % (path, _describe_error(error))
    return find_signatures(head), None
