# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.pmem.dax.plugins.module_utils._sysfs import (
    NameError_, Sysfs, parse_bool, parse_cpulist, parse_int, validate_dax, validate_namespace, validate_region,
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


def _write_tree(root, files):
    for relpath, content in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


@pytest.mark.parametrize('text, expected', [('true\n', True), ('false', False), ('Y', True), ('N', False), ('1', True),
                                            ('0', False), (None, None)])
def test_parse_bool(text, expected):
    assert parse_bool(text) is expected


def test_numa_tiering_reads_switches_and_nodes(tmp_path):
    # A kernel newer than 6.12: weighted interleave with "auto", memmap_on_memory "force", tiering mode on.
    _write_tree(tmp_path, {
        'sys/devices/system/node/node0/cpulist': '0-1\n',
        'sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages': '16\n',
        'sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages': '12\n',
        'sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages': '1\n',
        'sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages': '1\n',
        'sys/devices/system/node/node0/vmstat': 'nr_free_pages 1000\npgpromote_success 0\npgdemote_kswapd 7\n'
                                                'pgdemote_direct 0\npgdemote_khugepaged 0\npgpromote_candidate 3\n',
        'sys/devices/system/node/node1/cpulist': '\n',
        'sys/devices/system/node/node1/vmstat': 'nr_free_pages 2\npgpromote_success 42\n',
        'sys/devices/system/node/possible': '0-1\n',
        'sys/devices/virtual/memory_tiering/memory_tier4/nodelist': '0\n',
        'sys/devices/virtual/memory_tiering/memory_tier22/nodelist': '1\n',
        'sys/kernel/mm/numa/demotion_enabled': 'true\n',
        'sys/kernel/mm/mempolicy/weighted_interleave/node0': '5\n',
        'sys/kernel/mm/mempolicy/weighted_interleave/node1': '2\n',
        'sys/kernel/mm/mempolicy/weighted_interleave/auto': 'true\n',
        'sys/module/memory_hotplug/parameters/memmap_on_memory': 'force\n',
        'sys/bus/dax/devices/dax0.0/memmap_on_memory': '1\n',
        'proc/sys/kernel/numa_balancing': '3\n',
        'proc/sys/kernel/numa_balancing_promote_rate_limit_MBps': '1024\n',
    })
    sysfs = Sysfs(str(tmp_path))
    assert sysfs.node_ids() == [0, 1]
    assert sysfs.dax_memmap_on_memory('dax0.0') is True
    assert sysfs.dax_memmap_on_memory('dax1.0') is None
    assert sysfs.numa_tiering() == {
        'demotion_enabled': True,
        'numa_balancing': 3,
        'promotion': True,
        'promote_rate_limit_mbps': 1024,
        'memmap_on_memory': 'force',
        'weighted_interleave_auto': True,
        'nodes': [
            {'node': 0, 'tier': 4,
             'hugepages': [{'size': 2 * 1024 ** 2, 'nr_hugepages': 16, 'free_hugepages': 12},
                           {'size': 1024 ** 3, 'nr_hugepages': 1, 'free_hugepages': 1}],
             'weighted_interleave': 5,
             'tiering_counters': {'pgpromote_success': 0, 'pgdemote_kswapd': 7, 'pgdemote_direct': 0,
                                  'pgdemote_khugepaged': 0, 'pgpromote_candidate': 3}},
            {'node': 1, 'tier': 22, 'hugepages': [], 'weighted_interleave': 2,
             'tiering_counters': {'pgpromote_success': 42}},
        ],
    }


@pytest.mark.parametrize('balancing, promotion', [('0', False), ('1', False), ('2', True)])
def test_promotion_is_the_memory_tiering_bit(tmp_path, balancing, promotion):
    _write_tree(tmp_path, {'proc/sys/kernel/numa_balancing': balancing + '\n'})
    assert Sysfs(str(tmp_path)).numa_tiering()['promotion'] is promotion


def test_numa_tiering_of_a_kernel_without_the_files_is_all_none(tmp_path):
    # A node directory alone (no vmstat, hugepages, tiers): every value null, nothing raises.
    (tmp_path / 'sys/devices/system/node/node0').mkdir(parents=True)
    assert Sysfs(str(tmp_path)).numa_tiering() == {
        'demotion_enabled': None, 'numa_balancing': None, 'promotion': None, 'promote_rate_limit_mbps': None,
        'memmap_on_memory': None, 'weighted_interleave_auto': None,
        'nodes': [{'node': 0, 'tier': None, 'hugepages': [], 'weighted_interleave': None, 'tiering_counters': None}],
    }
