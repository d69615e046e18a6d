# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import os
import random
import struct

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _signature, _sysfs
from ansible_collections.pmem.dax.plugins.module_utils._signature import (
    HEAD_BYTES, device_signatures, find_signatures, read_head)

MIB = 1024 * 1024
GIB = 1024 * MIB


def head(*patches, **options):
    """A zeroed head (``size`` bytes, default HEAD_BYTES) with each (offset, bytes) patch written in."""
    data = bytearray(options.get('size', HEAD_BYTES))
    for offset, value in patches:
        data[offset:offset + len(value)] = value
    return bytes(data)


def random_head(seed, size=HEAD_BYTES):
    return random.Random(seed).getrandbits(8 * size).to_bytes(size, 'little')


def le16(value):
    return struct.pack('<H', value)


def le32(value):
    return struct.pack('<I', value)


def ext_superblock(compat, incompat, ro_compat, log_block_size=2):
    """The patches of an ext2/3/4 superblock at 1024: magic, block size and the three feature words."""
    return [(0x438, le16(0xEF53)), (0x418, le32(log_block_size)),
            (0x45C, le32(compat)), (0x460, le32(incompat)), (0x464, le32(ro_compat))]


# what mke2fs sets (ext_attr, resize_inode, dir_index | filetype | sparse_super, large_file) ...
EXT2 = ext_superblock(compat=0x38, incompat=0x2, ro_compat=0x3)
# ... plus has_journal ...
EXT3 = ext_superblock(compat=0x3C, incompat=0x2, ro_compat=0x3)
# ... plus extents, 64bit, flex_bg | huge_file, dir_nlink, extra_isize, metadata_csum
EXT4 = ext_superblock(compat=0x3C, incompat=0x2C2, ro_compat=0x46B)

BOOT_SIGNATURE = (510, b'\x55\xaa')


def mbr_entry(index, boot_flag, partition_type):
    return (446 + 16 * index, struct.pack('<B3xB11x', boot_flag, partition_type))


LINUX_PARTITION = mbr_entry(0, 0x80, 0x83)
PROTECTIVE_MBR = [mbr_entry(0, 0x00, 0xEE), BOOT_SIGNATURE]
# boot code where a partition table would be: bytes a DOS probe must not take for one
BOOT_CODE = (446, bytes(bytearray(range(1, 65))))


def zfs_uberblocks(count, fmt='<Q', label_start=0):
    return [(label_start + 128 * 1024 + index * 1024, struct.pack(fmt, 0x00BAB10C)) for index in range(count)]


FOUND = [
    ('zeros', head(), []),
    ('empty', b'', []),
    ('one sector of zeros', head(size=512), []),
    ('random bytes', random_head(20260101), []),
    ('random short', random_head(7, size=4000), []),
    # ext2/3/4
    ('ext2', head(*EXT2), ['ext2']),
    ('ext3', head(*EXT3), ['ext3']),
    ('ext3 needing recovery', head(*ext_superblock(compat=0x3C, incompat=0x6, ro_compat=0x3)), ['ext3']),
    ('ext4', head(*EXT4), ['ext4']),
    ('ext4 by incompat only (extents)', head(*ext_superblock(compat=0x3C, incompat=0x42, ro_compat=0x3)), ['ext4']),
    ('ext4 by ro_compat only (huge_file)', head(*ext_superblock(compat=0x3C, incompat=0x2, ro_compat=0xB)), ['ext4']),
    ('ext4 without a journal', head(*ext_superblock(compat=0x38, incompat=0x2C2, ro_compat=0x46B)), ['ext4']),
    ('ext journal device', head(*ext_superblock(compat=0, incompat=0x8, ro_compat=0)), ['ext3/4 journal device']),
    ('ext 1 KiB blocks', head(*ext_superblock(0x3C, 0x2C2, 0x46B, log_block_size=0)), ['ext4']),
    ('ext 64 KiB blocks', head(*ext_superblock(0x3C, 0x2C2, 0x46B, log_block_size=6)), ['ext4']),
    ('ext head cut inside the superblock', head(*EXT4)[:0x440], ['ext2/3/4']),
    ('ext magic without room for features', head(*EXT4)[:0x43A], ['ext2/3/4']),
    ('ext magic cut in half', head(*EXT4)[:0x439], []),
    ('ext magic two bytes late', head((0x43A, le16(0xEF53))), []),
    ('ext magic at 0x38 (superblock offset, not device)', head((0x38, le16(0xEF53))), []),
    ('ext magic big-endian', head((0x438, b'\xef\x53')), []),
    ('ext magic with an impossible block size', head(*ext_superblock(0x3C, 0x2C2, 0x46B, log_block_size=7)), []),
    # other filesystems
    ('xfs', head((0, b'XFSB'), (4, le32(4096))), ['xfs']),
    ('xfs lower case', head((0, b'xfsb')), []),
    ('btrfs', head((0x10040, b'_BHRfS_M')), ['btrfs']),
    ('btrfs magic cut short', head((0x10040, b'_BHRfS_M'))[:0x10046], []),
    ('btrfs magic at 64 KiB (the superblock, not its magic)', head((0x10000, b'_BHRfS_M')), []),
    ('f2fs', head((0x400, le32(0xF2F52010))), ['f2fs']),
    ('f2fs magic big-endian', head((0x400, struct.pack('>I', 0xF2F52010))), []),
    ('iso9660', head((0x8000, b'\x01CD001\x01')), ['iso9660']),
    ('iso9660 magic at 32 KiB (one byte early)', head((0x8000, b'CD001')), []),
    ('squashfs', head((0, b'hsqs')), ['squashfs']),
    ('squashfs big-endian', head((0, b'sqsh')), ['squashfs']),
    ('vfat FAT16', head((3, b'mkfs.fat'), (0x36, b'FAT16   '), BOOT_CODE, BOOT_SIGNATURE), ['vfat']),
    ('vfat FAT12', head((0x36, b'FAT12   '), BOOT_SIGNATURE), ['vfat']),
    ('vfat FAT32', head((0x52, b'FAT32   '), BOOT_CODE, BOOT_SIGNATURE), ['vfat']),
    ('FAT32 label without 55AA', head((0x52, b'FAT32   ')), []),
    ('FAT32 label at the FAT16 offset', head((0x36, b'FAT32   '), BOOT_SIGNATURE), []),
    ('ntfs', head((3, b'NTFS    '), BOOT_CODE, BOOT_SIGNATURE), ['ntfs']),
    ('exfat', head((3, b'EXFAT   '), BOOT_CODE, BOOT_SIGNATURE), ['exfat']),
    # swap: the signature ends the first page of the host that ran mkswap
    ('swap 4 KiB pages', head((4086, b'SWAPSPACE2')), ['swap']),
    ('swap old format', head((4086, b'SWAP-SPACE')), ['swap']),
    ('swap 64 KiB pages', head((65526, b'SWAPSPACE2')), ['swap']),
    ('swap signature at 4096', head((4096, b'SWAPSPACE2')), []),
    ('swap signature cut short', head((4086, b'SWAPSPACE2'))[:4095], []),
    # containers
    ('LUKS1', head((0, b'LUKS\xba\xbe\x00\x01')), ['LUKS']),
    ('LUKS2', head((0, b'LUKS\xba\xbe\x00\x02')), ['LUKS']),
    ('LUKS magic without its two high bytes', head((0, b'LUKS')), []),
    ('LVM2 PV label in sector 1', head((512, b'LABELONE'), (512 + 0x18, b'LVM2 001')), ['LVM2 physical volume']),
    ('LVM2 PV label in sector 0', head((0, b'LABELONE'), (0x18, b'LVM2 001')), ['LVM2 physical volume']),
    ('LVM2 PV label in sector 3', head((1536, b'LABELONE'), (1536 + 0x18, b'LVM2 001')), ['LVM2 physical volume']),
    ('LVM2 PV label in sector 4 (too far)', head((2048, b'LABELONE'), (2048 + 0x18, b'LVM2 001')), []),
    ('LABELONE of another type', head((512, b'LABELONE'), (512 + 0x18, b'XXXX 001')), []),
    ('LABELONE cut before its type', head((512, b'LABELONE'), (512 + 0x18, b'LVM2 001'))[:540], []),
    ('md raid 1.2', head((4096, le32(0xA92B4EFC))), ['linux raid member']),
    ('md raid 1.1', head((0, le32(0xA92B4EFC))), ['linux raid member']),
    ('bcache', head((4096 + 24, b'\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81')), ['bcache']),
    ('zfs little-endian', head(*zfs_uberblocks(4)), ['zfs']),
    ('zfs big-endian', head(*zfs_uberblocks(4, fmt='>Q')), ['zfs']),
    ('zfs counted across both labels', head(*(zfs_uberblocks(2) + zfs_uberblocks(2, label_start=256 * 1024))), ['zfs']),
    ('zfs too few uberblocks', head(*zfs_uberblocks(3)), []),
    ('zfs uberblocks cut off', head(*zfs_uberblocks(4))[:128 * 1024 + 3 * 1024], []),
    # partition tables
    ('gpt', head(*(PROTECTIVE_MBR + [(512, b'EFI PART')])), ['gpt partition table']),
    ('gpt 4 KiB sectors', head(*(PROTECTIVE_MBR + [(4096, b'EFI PART')])), ['gpt partition table']),
    ('gpt header without its MBR', head((512, b'EFI PART')), ['gpt partition table']),
    ('protective MBR alone', head(*PROTECTIVE_MBR), ['dos partition table']),
    ('dos', head(LINUX_PARTITION, BOOT_SIGNATURE), ['dos partition table']),
    ('dos fourth entry only', head(mbr_entry(3, 0x00, 0x07), BOOT_SIGNATURE), ['dos partition table']),
    ('dos entries without 55AA', head(LINUX_PARTITION), []),
    ('55AA with an empty partition table', head(BOOT_SIGNATURE), []),
    ('55AA with boot code (bad boot flags)', head(BOOT_CODE, BOOT_SIGNATURE), []),
    ('55AA cut off', head(LINUX_PARTITION, BOOT_SIGNATURE)[:511], []),
    # several at once, in SIGNATURES order
    ('ext4 over a stale MBR', head(*(EXT4 + [LINUX_PARTITION, BOOT_SIGNATURE])), ['ext4', 'dos partition table']),
    ('xfs explains its own sector 0', head((0, b'XFSB'), LINUX_PARTITION, BOOT_SIGNATURE), ['xfs']),
    ('LUKS explains its own sector 0', head((0, b'LUKS\xba\xbe\x00\x01'), LINUX_PARTITION, BOOT_SIGNATURE), ['LUKS']),
    ('hybrid iso9660', head((0x8001, b'CD001'), LINUX_PARTITION, BOOT_SIGNATURE), ['iso9660', 'dos partition table']),
    ('LVM2 PV behind an MBR', head(LINUX_PARTITION, BOOT_SIGNATURE, (512, b'LABELONE'), (512 + 0x18, b'LVM2 001')),
     ['LVM2 physical volume', 'dos partition table']),
    ('ext4 and swap leftovers', head(*(EXT4 + [(4086, b'SWAPSPACE2')])), ['ext4', 'swap']),
]


@pytest.mark.parametrize('data, expected', [case[1:] for case in FOUND], ids=[case[0] for case in FOUND])
def test_find_signatures(data, expected):
    assert find_signatures(data) == expected


# Every length a probe looks at ends somewhere in here: a head cut there must never raise.
CUTS = sorted(set([0, 1, 3, 4, 8, 0x37, 0x53, 446, 450, 510, 511, 512, 520, 537, 1024, 1025, 0x439, 0x43A,
                   0x45D, 0x461, 0x465, 0x468, 4086, 4090, 4096, 4100, 4120, 4130, 0x8003, 0x10044,
                   65530, 128 * 1024 + 4, 128 * 1024 + 3 * 1024 + 4, HEAD_BYTES]))


@pytest.mark.parametrize('data', [case[1] for case in FOUND], ids=[case[0] for case in FOUND])
def test_find_signatures_on_every_cut(data):
    for cut in CUTS:
        found = find_signatures(data[:cut])
        assert isinstance(found, list)
        # a shorter head can only lose signatures, except an ext magic seen without its features and
        # a protective MBR seen without the GPT header after it
        assert set(found) - set(find_signatures(data)) <= {'ext2/3/4', 'dos partition table'}


def test_find_signatures_accepts_bytearray_and_memoryview():
    data = head(*EXT4)
    assert find_signatures(bytearray(data)) == ['ext4']
    assert find_signatures(memoryview(data).tobytes()) == ['ext4']


# read_head / device_signatures on files

@pytest.mark.parametrize('size, length, expected', [
    (0, HEAD_BYTES, 0),
    (4096, HEAD_BYTES, 4096),
    (HEAD_BYTES + 12345, HEAD_BYTES, HEAD_BYTES),
    (3 * MIB, 2 * MIB + 1, 2 * MIB + 1),
    (8192, 100, 100),
], ids=['empty file', 'short file', 'longer file', 'length asked', 'length smaller than file'])
def test_read_head_regular_file(tmp_path, size, length, expected):
    path = tmp_path / 'device'
    content = random_head(size, size=size)
    path.write_bytes(content)
    data = read_head(str(path), length)
    assert isinstance(data, bytes)
    assert data == content[:expected]


def test_read_head_opens_read_only(tmp_path, monkeypatch):
    path = tmp_path / 'device'
    path.write_bytes(head(*EXT4))
    opened = []
    real_open = os.open

    def recording_open(name, flags, *args):
        opened.append(flags)
        return real_open(name, flags, *args)

    monkeypatch.setattr(_signature.os, 'open', recording_open)
    read_head(str(path))
    assert opened == [os.O_RDONLY]


def test_device_signatures_of_a_file(tmp_path):
    path = tmp_path / 'pmem0'
    path.write_bytes(head(*EXT4))
    assert device_signatures(str(path)) == (['ext4'], None)
    path.write_bytes(head())
    assert device_signatures(str(path)) == ([], None)


def test_device_signatures_words_errors(tmp_path):
    missing = str(tmp_path / 'dax9.9')
    assert device_signatures(missing) == ([], 'cannot read %s: [Errno 2] No such file or directory' % missing)
    directory = str(tmp_path)
    assert device_signatures(directory) == ([], 'cannot read %s: [Errno 21] Is a directory' % directory)
    with pytest.raises((OSError, IOError)):
        read_head(missing)


# read_head on a character device: /dev/zero stands in for a device-DAX (it too can be mapped shared)

needs_dev_zero = pytest.mark.skipif(not os.path.exists('/dev/zero'), reason='no /dev/zero')


class FakeMapping(object):
    def __init__(self, size):
        self.size = size
        self.closed = False

    def __getitem__(self, item):
        # zeros, as many as the slice asks for (without making a GiB of them)
        return bytes(bytearray(len(range(*item.indices(self.size)))))

    def close(self):
        self.closed = True


class FakeMmap(object):
    """Stands in for mmap.mmap: records each size asked, refuses those not in ``accepted``."""

    def __init__(self, accepted):
        self.accepted = accepted
        self.calls = []
        self.mappings = []

    def __call__(self, fd, size, flags, prot):
        self.calls.append((size, flags, prot))
        if size not in self.accepted:
            raise OSError(errno.EINVAL, 'Invalid argument')
        mapping = FakeMapping(size)
        self.mappings.append(mapping)
        return mapping


def sysfs_tree(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


MAPPED = [
    # (id, sysfs files, sizes the device accepts, length, sizes tried)
    ('align from the dax bus', {'sys/bus/dax/devices/zero/align': '4096\n'}, (MIB,), HEAD_BYTES, [MIB]),
    ('align from the dax class', {'sys/class/dax/zero/align': '1073741824\n'}, (GIB,), HEAD_BYTES, [GIB]),
    ('no align in sysfs: 2 MiB first', {}, (2 * MIB,), HEAD_BYTES, [2 * MIB]),
    ('no align in sysfs: then 1 GiB', {}, (GIB,), HEAD_BYTES, [2 * MIB, GIB]),
    ('wrong align in sysfs: then the guesses', {'sys/bus/dax/devices/zero/align': '65536'}, (GIB,), HEAD_BYTES,
     [MIB, 2 * MIB, GIB]),
    ('unreadable align', {'sys/bus/dax/devices/zero/align': 'n/a'}, (2 * MIB,), HEAD_BYTES, [2 * MIB]),
    ('sysfs align equal to a guess is tried once', {'sys/bus/dax/devices/zero/align': '2097152'}, (GIB,),
     HEAD_BYTES, [2 * MIB, GIB]),
    ('length beyond one alignment', {}, (GIB,), 3 * MIB, [4 * MIB, GIB]),
]


@needs_dev_zero
@pytest.mark.parametrize('files, accepted, length, tried', [case[1:] for case in MAPPED], ids=[case[0] for case in MAPPED])
def test_read_head_maps_character_devices(tmp_path, monkeypatch, files, accepted, length, tried):
    sysfs_tree(tmp_path, files)
    monkeypatch.setattr(_sysfs, 'DEFAULT_ROOT', str(tmp_path))
    fake = FakeMmap(accepted)
    monkeypatch.setattr(_signature.mmap, 'mmap', fake)
    data = read_head('/dev/zero', length)
    assert data == bytes(bytearray(length))
    assert [size for size, _flags, _prot in fake.calls] == tried
    assert all(flags == _signature.mmap.MAP_SHARED and prot == _signature.mmap.PROT_READ
               for _size, flags, prot in fake.calls)
    assert all(mapping.closed for mapping in fake.mappings)


@needs_dev_zero
def test_read_head_reports_the_first_mapping_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_sysfs, 'DEFAULT_ROOT', str(tmp_path))
    monkeypatch.setattr(_signature.mmap, 'mmap', FakeMmap(accepted=()))
    with pytest.raises(OSError) as raised:
        read_head('/dev/zero')
    assert raised.value.errno == errno.EINVAL
    assert device_signatures('/dev/zero') == ([], 'cannot read /dev/zero: [Errno 22] Invalid argument')


@needs_dev_zero
def test_read_head_really_maps_dev_zero(tmp_path, monkeypatch):
    monkeypatch.setattr(_sysfs, 'DEFAULT_ROOT', str(tmp_path))
    assert read_head('/dev/zero') == bytes(bytearray(HEAD_BYTES))
    assert device_signatures('/dev/zero') == ([], None)
