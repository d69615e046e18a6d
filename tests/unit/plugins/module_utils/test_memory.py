# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure planners of _memory, table-driven: the cases are in test_memory.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.pmem.dax.plugins.module_utils._memory import (
    HostMemory,
    DaxDevice,
    MemoryBlock,
    block_ranges,
    plan_memory,
    plan_mode,
    write_blocks_command,
)

MIB = 1024 * 1024
BLOCK_SIZE = 128 * MIB

with open(os.path.splitext(__file__)[0] + '.yaml') as handle:
    SPEC = yaml.safe_load(handle)


def make_device(spec):
    """A 7-block device (memory41-memory47) from the short block notation of the YAML file."""
    blocks = []
    for row in spec.get('blocks') or []:
        span, zone = row.split(':')
        low, _sep, high = span.partition('-')
        for index in range(int(low), int(high or low) + 1):
            blocks.append(MemoryBlock(index, zone != 'off', None if zone == 'off' else zone))
    info = dict(chardev='dax0.0', namespace='namespace0.0', name='db', target_node=1, size=1054867456,
                block_size=BLOCK_SIZE, block_indices=spec.get('indexes', list(range(41, 48))))
    return DaxDevice(info, spec['mode'], tuple(blocks))


def run_planner(case):
    device = make_device(case['device'])
    memory = case.get('memory') or {'free': 4096, 'min_free': 8}
    host_memory = HostMemory(memory['free'] * MIB, memory['min_free'] * MIB)
    call = dict(case['call'])
    if call.pop('planner') == 'memory':
        return plan_memory(device, call.pop('state'), host_memory=host_memory, **call)
    return plan_mode(device, call.pop('mode'), host_memory=host_memory, **call)


@pytest.mark.parametrize('case', SPEC['planner_cases'], ids=[case['id'] for case in SPEC['planner_cases']])
def test_planner(case):
    plan, misplaced = run_planner(case)
    expect = case['expect']
    if 'error' in expect:
        assert plan.error and expect['error'] in plan.error, plan.error
        return
    assert plan.error is None, plan.error
    assert [action.name for action in plan.actions] == expect['actions']
    assert plan.changed == bool(expect['actions'])
    if 'commands' in expect:
        assert plan.commands == expect['commands']
    for key in ('online_blocks', 'total_blocks', 'zones'):
        if key in expect:
            assert plan.after[key] == expect[key], key
    assert len(misplaced) == expect.get('misplaced', 0)
    assert len(plan.warnings) == expect.get('warnings', 0)
    # The diff's before side is always the device as it was.
    assert plan.before['chardev'] == 'dax0.0'


@pytest.mark.parametrize('case', SPEC['block_ranges'])
def test_block_ranges(case):
    assert block_ranges([MemoryBlock(index, True, 'Movable') for index in case['blocks']]) == case['text']


@pytest.mark.parametrize('case', SPEC['write_blocks_command'], ids=[case['id'] for case in SPEC['write_blocks_command']])
def test_write_blocks_command(case):
    writes = [(MemoryBlock(index, True, 'Movable'), value) for index, value in case['writes']]
    assert write_blocks_command(writes) == case['command']
