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

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, parse_json_list
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


def _cxl_bus(tmp_path, devices=('mem0',)):
    """The CXL bus in sysfs, with the devices the recorded host has on it."""
    os.makedirs(str(tmp_path / 'sys' / 'bus' / 'cxl' / 'devices'))
    for device in devices:
        os.makedirs(str(tmp_path / 'sys' / 'bus' / 'cxl' / 'devices' / device))


@pytest.mark.parametrize('bus, tool, available', [(True, True, True), (False, True, False), (True, False, False)])
def test_pmem_info_section(tmp_path, bus, tool, available):
    if bus:
        _cxl_bus(tmp_path)
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


def test_pmem_info_section_of_a_bus_without_devices_runs_no_cxl(tmp_path):
    """The cxl modules loaded on a host without CXL memory: nothing for cxl to list."""
    _cxl_bus(tmp_path, devices=())
    runner = FixtureRunner('05-create-auto-online')
    runner.module = _Module(True)
    assert cxl_summary(runner, Sysfs(root=str(tmp_path))) == {
        'available': True, 'memdevs': [], 'root_decoders': [], 'regions': []}
    assert runner.asked == []


class CxlWithoutDaxRunner(FixtureRunner):
    """A cxl before ndctl 77 (Debian 12's 76.1) over the same topology: "list -X" is an unknown switch (rc 129,
    as ndctl's option parser exits), "list -R -T" lists the regions without their daxregion."""

    def json(self, tool, args):
        argv = [tool] + list(args)
        if argv == ['cxl', 'list', '-R', '-X', '-T']:
            self.asked.append(argv)
            raise CliError(argv, 129, '', "  Error: unknown switch `X'\n\n usage: cxl list [<options>]\n")
        if argv == ['cxl', 'list', '-R', '-T']:
            self.asked.append(argv)
            regions = parse_json_list(self.queries[('cxl', 'list', '-R', '-X', '-T')]['stdout'])
            return [dict((key, value) for key, value in region.items() if key != 'daxregion') for region in regions]
        return FixtureRunner.json(self, tool, args)


class _WarnedModule(_Module):
    def __init__(self, has_cxl):
        super(_WarnedModule, self).__init__(has_cxl)
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


def test_cxl_without_list_x_reads_the_regions_without_dax_devices():
    runner = CxlWithoutDaxRunner('05-create-auto-online')
    cxl = CxlState.read(runner)
    assert runner.asked[-2:] == [['cxl', 'list', '-R', '-X', '-T'], ['cxl', 'list', '-R', '-T']]
    assert not cxl.dax_listed
    assert [(region['name'], region['memdevs'], region['dax_devices']) for region in cxl.regions] == [
        ('region0', ['mem0'], [])]
    assert cxl.memdevs[0]['free'] == 0


def test_cxl_with_list_x_is_asked_once():
    runner = FixtureRunner('05-create-auto-online')
    assert CxlState.read(runner).dax_listed
    assert ['cxl', 'list', '-R', '-T'] not in runner.asked


def test_pmem_info_section_without_list_x_has_no_warning(tmp_path):
    _cxl_bus(tmp_path)
    runner = CxlWithoutDaxRunner('05-create-auto-online')
    runner.module = _WarnedModule(True)
    summary = cxl_summary(runner, Sysfs(root=str(tmp_path)))
    assert runner.module.warnings == []
    assert summary['available']
    # Without -X nothing says which memory blocks the region has: unknown, not none.
    assert [(region['name'], region['dax_devices'], region['online_blocks'], region['total_blocks'])
            for region in summary['regions']] == [('region0', [], None, None)]


def test_pmem_info_section_warns_when_cxl_cannot_list(tmp_path):
    _cxl_bus(tmp_path)

    class BrokenRunner(FixtureRunner):
        def json(self, tool, args):
            raise CliError([tool] + list(args), 1, '', 'cxl list: failed\n')

    runner = BrokenRunner('05-create-auto-online')
    runner.module = _WarnedModule(True)
    assert cxl_summary(runner, Sysfs(root=str(tmp_path)))['available'] is False
    assert len(runner.module.warnings) == 1 and 'the cxl section is left empty' in runner.module.warnings[0]


def test_a_failure_other_than_an_unknown_option_is_not_retried():
    class FailingRunner(FixtureRunner):
        def json(self, tool, args):
            if list(args) == ['list', '-R', '-X', '-T']:
                self.asked.append([tool] + list(args))
                raise CliError([tool] + list(args), 1, '', 'cxl list: failed\n')
            return FixtureRunner.json(self, tool, args)

    runner = FailingRunner('05-create-auto-online')
    with pytest.raises(CliError):
        CxlState.read(runner)
    assert ['cxl', 'list', '-R', '-T'] not in runner.asked


def test_absent_refuses_a_region_whose_memory_cxl_cannot_show():
    cxl = CxlState.read(CxlWithoutDaxRunner('08-offline-normal'))
    plan = plan_region(cxl, desired_of({'state': 'absent', 'region': 'region0'}))
    assert plan.error and 'cxl list -X needs ndctl 77 or newer' in plan.error
    assert not plan.actions
