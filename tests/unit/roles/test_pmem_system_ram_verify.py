# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's check after the change (tasks/verify.yml), rendered without a host.

Each NUMA node's online memory must have changed by exactly what the dax devices account for. Another run of
the role at once (the reliability scenario's two runs) changes its own devices' nodes meanwhile: those devices
account for that memory too, so neither run reports a false failure; memory no device explains still fails.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template
    def trust_as_template(value):
        return value

VERIFY = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'pmem_system_ram', 'tasks', 'verify.yml')
MIB = 1024 * 1024


def device(online_mib, node=1, mode='system-ram'):
    return {'mode': mode, 'target_node': node, 'online_bytes': online_mib * MIB, 'online_blocks': online_mib // 128,
            'total_blocks': online_mib // 128, 'movable': True if mode == 'system-ram' else None}


def snapshot(movable_mib, devices):
    return {'nodes': {'0': {'kernel': 3072 * MIB, 'movable': 0}, '1': {'kernel': 0, 'movable': movable_mib * MIB}},
            'devices': devices, 'namespaces': dict((name, {'name': name}) for name in devices), 'hotremove': True}


# (id, state, before, after, problems expected)
CASES = [
    ('another run added its device at once', 'present',
     snapshot(896, {'small': device(896)}),
     snapshot(896 + 384 + 384, {'small': device(896), 'rel-a': device(384), 'rel-b': device(384)}), []),
    ('another run removed its device at once', 'present',
     snapshot(896 + 384, {'small': device(896), 'rel-b': device(384)}),
     snapshot(896 + 384, {'small': device(896), 'rel-a': device(384)}), []),
    ('memory no device explains', 'present',
     snapshot(896, {'small': device(896)}),
     snapshot(896 + 384 + 384, {'small': device(896), 'rel-a': device(384)}),
     ['node 1 online memory changed by 805306368 bytes, the devices account for 402653184']),
    ('another run removed its device while this one removed', 'absent',
     snapshot(896 + 384 + 384, {'small': device(896), 'rel-a': device(384), 'rel-b': device(384)}),
     snapshot(896, {'small': device(896)}), []),
]


def problems_template():
    with open(VERIFY) as handle:
        for task in yaml.safe_load(handle):
            if task.get('name') == 'Check every device and every node against the plan':
                return task['vars']['__problems_json']
    raise AssertionError('no node check in tasks/verify.yml')


@pytest.mark.parametrize('state, before, after, expected', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_node_check_counts_every_device(state, before, after, expected):
    variables = {'__before': before, '__after': after, 'pmem_system_ram_state': state,
                 '__pmem_system_ram_targets': [{'name': 'rel-a', 'node': '1', 'movable': True}]}
    templar = Templar(loader=DataLoader(), variables=variables)
    assert json.loads(templar.template(trust_as_template(problems_template()))) == expected
