# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_system_ram.verify: the check of the host read after the change against the plan.

Each NUMA node's online memory must have changed by exactly what the dax devices account for; devices no
target names (another tool's, or the kernel's own) are accounted for too, so that only memory no device
explains fails.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.pmem.dax.plugins.module_utils._system_ram import verify

MIB = 1024 * 1024


def device(name, online_mib, node=1, mode='system-ram', chardev=None, movable=True):
    return {'name': name, 'chardev': chardev or 'dax%s' % name, 'mode': mode, 'target_node': node,
            'online_bytes': online_mib * MIB, 'online_blocks': online_mib // 128, 'total_blocks': online_mib // 128,
            'movable': movable if mode == 'system-ram' else None}


def view(movable_mib, devices, kernel_mib=0):
    return {'nodes': {'0': {'kernel': 3072 * MIB, 'movable': 0}, '1': {'kernel': kernel_mib * MIB, 'movable': movable_mib * MIB}},
            'devices': dict((item['name'], item) for item in devices),
            'chardevs': dict((item['chardev'], item) for item in devices),
            'namespaces': dict((item['name'], {'name': item['name']}) for item in devices),
            'cxl': {'regions': []}, 'hotremove': True}


PLAN = {'targets': [{'name': 'rel-a', 'node': '1', 'movable': True}], 'cxl_targets': []}

# (id, state, before, after, problems expected)
CASES = [
    ('added as planned', 'present',
     view(896, [device('small', 896)]),
     view(896 + 384, [device('small', 896), device('rel-a', 384)]), []),
    ('another device grew too', 'present',
     view(896, [device('small', 896)]),
     view(896 + 384 + 384, [device('small', 896), device('rel-a', 384), device('rel-b', 384)]), []),
    ('memory no device explains', 'present',
     view(896, [device('small', 896)]),
     view(896 + 384 + 384, [device('small', 896), device('rel-a', 384)]),
     ['node 1 online memory changed by 805306368 bytes, the devices account for 402653184']),
    ('not all blocks online', 'present',
     view(0, []),
     view(256, [dict(device('rel-a', 256), total_blocks=3)]),
     ['rel-a: only 2 of 3 memory blocks online']),
    ('online in the wrong zone', 'present',
     view(0, []),
     dict(view(0, [device('rel-a', 384, movable=False)], kernel_mib=384)),
     ['rel-a: memory is in the Normal zone, asked for movable=True']),
    ('removed as planned', 'absent',
     view(896 + 384, [device('small', 896), device('rel-a', 384)]),
     view(896, [device('small', 896)]), []),
    ('namespace still there', 'absent',
     view(384, [device('rel-a', 384)]),
     dict(view(0, []), namespaces={'rel-a': {'name': 'rel-a'}}), ['namespace rel-a still exists']),
    ('memory released at the next reboot', 'absent',
     view(384, [device('rel-a', 384)]),
     view(384, [device('rel-a', 384)]), []),
]


@pytest.mark.parametrize('state, before, after, expected', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_verify(state, before, after, expected):
    pending = ['rel-a'] if expected == [] and before == after else []
    assert verify(PLAN, state, before, after, pending) == expected
