# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The CXL snapshot and the cxl_region planner, table-driven over fixtures recorded on a Debian 13 guest
with one emulated 1 GiB CXL type-3 volatile memdev (tests/unit/fixtures/trixie-cxl); cases in test_cxl.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.pmem.dax.plugins.module_utils._cli import parse_json_list
from ansible_collections.pmem.dax.plugins.module_utils._cxl import CxlState, cxl_summary, goal_reached, plan_region
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', '..', 'fixtures', 'trixie-cxl')

with open(os.path.splitext(__file__)[0] + '.yaml') as handle:
    SPEC = yaml.safe_load(handle)


class FixtureRunner(object):
    """Answers the read-only `cxl list` queries from a recorded step, like CliRunner.json."""

    def __init__(self, step):
        with open(os.path.join(FIXTURES, step + '.json')) as handle:
            self.queries = dict((tuple(query['argv']), query) for query in json.load(handle)['queries'])
        self.asked = []

    def json(self, tool, args):
        self.asked.append([tool] + list(args))
        return parse_json_list(self.queries[tuple([tool] + list(args))]['stdout'])


def state_of(step):
    return CxlState.read(FixtureRunner(step))


def desired_of(call):
    desired = dict(state='present', memdevs=None, region=None, type='ram', size=None, decoder=None, online=True,
                   movable=True)
    desired.update(call)
    return desired


@pytest.mark.parametrize('case', SPEC['state_cases'], ids=[case['step'] for case in SPEC['state_cases']])
def test_state(case):
    cxl = state_of(case['step'])
    expect = case['expect']
    assert [memdev['name'] for memdev in cxl.memdevs] == ['mem0']
    assert cxl.memdevs[0]['free'] == expect['free']
    assert [(region['name'], region['size'], region['memdevs'], region['dax_devices'])
            for region in cxl.regions] == [tuple(item) for item in expect['regions']]
    assert cxl.root_decoders[0]['free'] == expect['decoder_free']


@pytest.mark.parametrize('case', SPEC['planner_cases'], ids=[case['id'] for case in SPEC['planner_cases']])
def test_planner(case):
    cxl = state_of(case['step'])
    desired = desired_of(case['call'])
    plan = plan_region(cxl, desired)
    expect = case['expect']
    if 'error' in expect:
        assert plan.error and expect['error'] in plan.error, plan.error
        assert not plan.actions
        return
    assert plan.error is None, plan.error
    assert plan.commands == expect['commands']
    assert plan.changed == bool(expect['commands'])
    assert goal_reached(cxl, desired) == (not expect['commands'])
    if 'after' in expect:
        assert [(item['region'], item['size']) for item in plan.after['regions']] == \
            [tuple(item) for item in expect['after']]
    if 'policy' in expect:
        assert plan.actions[0].data == expect['policy']


def test_one_decoder_is_not_asked_which_memdevs_it_reaches():
    runner = FixtureRunner('00-fresh')
    CxlState.read(runner)
    assert ['cxl', 'list', '-M', '-d', 'decoder0.0'] not in runner.asked


def test_several_decoders_ask_which_memdevs_they_reach():
    cxl = CxlState(
        [{'memdev': 'mem0', 'ram_size': 1 << 30}, {'memdev': 'mem1', 'ram_size': 1 << 30}],
        [{'decoder': 'decoder0.0', 'volatile_capable': True, 'max_available_extent': 8 << 30, 'interleave_ways': 1},
         {'decoder': 'decoder0.1', 'volatile_capable': True, 'max_available_extent': 4 << 30, 'interleave_ways': 1}],
        [], {'decoder0.0': ['mem0'], 'decoder0.1': ['mem1']})
    plan = plan_region(cxl, desired_of({'memdevs': ['mem1']}))
    assert plan.commands[1] == ['cxl', 'create-region', '-t', 'ram', '-d', 'decoder0.1', '-m', 'mem1']
    plan = plan_region(cxl, desired_of({}))
    assert [argv for argv in plan.commands if argv[0] == 'cxl'] == [
        ['cxl', 'create-region', '-t', 'ram', '-d', 'decoder0.0', '-m', 'mem0'],
        ['cxl', 'create-region', '-t', 'ram', '-d', 'decoder0.1', '-m', 'mem1']]


class _Module(object):
    def __init__(self, has_cxl):
        self.has_cxl = has_cxl

    def get_bin_path(self, tool, required=False):
        return '/usr/bin/cxl' if self.has_cxl else None


@pytest.mark.parametrize('bus, tool, available', [(True, True, True), (False, True, False), (True, False, False)])
def test_pmem_info_section(tmp_path, bus, tool, available):
    if bus:
        os.makedirs(str(tmp_path / 'sys' / 'bus' / 'cxl'))
    runner = FixtureRunner('05-create-auto-online')
    runner.module = _Module(tool)
    summary = cxl_summary(runner, Sysfs(root=str(tmp_path)))
    assert summary['available'] == available
    if available:
        # A RAM region has no uuid: cxl prints none (the kernel gives only pmem regions one).
        assert summary['regions'] == [{
            'name': 'region0', 'uuid': None, 'type': 'ram', 'size': 1073741824, 'memdevs': ['mem0'], 'dax_devices': ['dax0.0'],
            'interleave_ways': 1, 'decode_state': 'commit', 'online_blocks': 8, 'total_blocks': 8}]
        assert summary['memdevs'][0]['free'] == 0
    else:
        assert summary['regions'] == [] and runner.asked == []
