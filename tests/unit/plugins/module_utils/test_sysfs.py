# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.pmem.dax.plugins.module_utils._sysfs import (
    NameError_, Sysfs, parse_cpulist, parse_int, validate_dax, validate_namespace, validate_region,
)

MIB128 = 128 * 1024 * 1024


@pytest.mark.parametrize('value, expected', [('region0', 'region0'), ('0', 'region0'), (1, 'region1'), (' region12 ', 'region12')])
def test_validate_region(value, expected):
    assert validate_region(value) == expected


@pytest.mark.parametrize('check, value', [
    (validate_region, 'region'), (validate_region, '../region0'), (validate_region, 'region0; rm'), (validate_region, None),
    (validate_region, '-1'), (validate_namespace, 'namespace0'), (validate_namespace, 'namespace0.0/..'),
    (validate_dax, 'dax0'), (validate_dax, '/dev/dax0.0x'), (validate_dax, 'dax0.0\nx'), (validate_region, 'region0\n1'),
])
def test_validation_refuses(check, value):
    with pytest.raises(NameError_):
        check(value)


def test_validate_dax_accepts_dev_path():
    assert validate_dax('/dev/dax1.0') == 'dax1.0'
    assert validate_namespace('namespace1.2') == 'namespace1.2'


@pytest.mark.parametrize('start, size, expected', [
    # 1 GiB devdax namespace at 5 GiB: dax range starts 18 MiB in, 1054867456 bytes -> blocks 41-47
    (5387583488, 1054867456, list(range(41, 48))),
    (5 * 1024 ** 3, 1024 ** 3, list(range(40, 48))),
    (5387583488, 100 * 1024 * 1024, []),
    (None, 1024 ** 3, []),
])
def test_block_range(start, size, expected):
    assert Sysfs.block_range(start, size, MIB128) == expected


def test_parsers():
    assert parse_int('0x8000000') == MIB128
    assert parse_int('12\n') == 12
    assert parse_int('n/a') is None
    assert parse_cpulist('0-2,4') == [0, 1, 2, 4]
    assert parse_cpulist('') == []


def test_reads_under_root(tmp_path):
    root = tmp_path
    (root / 'sys/devices/system/memory/memory3/node1').mkdir(parents=True)
    (root / 'sys/devices/system/memory/memory3/state').write_text('online\n')
    (root / 'sys/devices/system/memory/memory3/valid_zones').write_text('Movable\n')
    (root / 'sys/devices/system/memory/memory3/removable').write_text('1\n')
    (root / 'sys/devices/system/memory/block_size_bytes').write_text('8000000\n')
    (root / 'sys/devices/system/node/node1').mkdir(parents=True)
    (root / 'sys/devices/system/node/node1/meminfo').write_text('Node 1 MemTotal:  917504 kB\nNode 1 MemFree:  1024 kB\n')
    (root / 'proc').mkdir()
    (root / 'proc/meminfo').write_text('MemTotal: 2000 kB\nHugePages_Total: 0\n')
    sysfs = Sysfs(str(root))
    assert sysfs.block_size() == MIB128
    assert sysfs.memory_block(3) == {'index': 3, 'state': 'online', 'zone': 'Movable', 'valid_zones': ['Movable'],
                                     'removable': True, 'node': 1}
    assert sysfs.node_meminfo(1) == {'MemTotal': 917504 * 1024, 'MemFree': 1024 * 1024}
    assert sysfs.meminfo() == {'MemTotal': 2000 * 1024, 'HugePages_Total': 0}
    assert sysfs.hotremove() is True
    assert sysfs.dax_model() is None
    assert sysfs.online_memory(sysfs.memory_blocks(), MIB128) == {1: {'Movable': MIB128}}
