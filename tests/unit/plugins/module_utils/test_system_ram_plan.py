# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_system_ram.plan_system_ram (the system_ram module's plan): the cases are data in test_system_ram_plan.yaml.

A case: ``id``; ``snapshot`` (a name from ``snapshots``) with optional ``snapshot_update`` (merged into it,
one level deep per key); ``args`` (keyword arguments of plan_system_ram); then what must hold: ``targets`` and
``cxl_targets`` (lists, each the keys that must be equal in that target, same length), ``forecast`` (equal), ``errors`` (a list of
strings, each contained in the error at that position, same length; default: no error), ``left_alone`` (names
in order, each ``why`` contained in the plan's).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os

import pytest
import yaml

from ansible_collections.pmem.dax.plugins.module_utils._system_ram import plan_system_ram

with open(os.path.splitext(__file__)[0] + '.yaml') as handle:
    SPEC = yaml.safe_load(handle)


def snapshot_of(case):
    view = copy.deepcopy(SPEC['snapshots'][case['snapshot']])
    for key, value in (case.get('snapshot_update') or {}).items():
        if isinstance(value, dict) and isinstance(view.get(key), dict):
            view[key].update(value)
        else:
            view[key] = value
    return view


@pytest.mark.parametrize('case', SPEC['test_cases'], ids=[case['id'] for case in SPEC['test_cases']])
def test_system_ram_plan(case):
    plan = plan_system_ram(snapshot_of(case), **case['args'])
    for key in ('targets', 'cxl_targets'):
        if key in case:
            assert len(plan[key]) == len(case[key]), plan[key]
            for target, expected in zip(plan[key], case[key]):
                for name, value in expected.items():
                    assert target[name] == value, '%s: %s: expected %r, got %r' % (target['name'], name, value, target[name])
    if 'left_alone' in case:
        assert [entry['name'] for entry in plan['left_alone']] == [entry['name'] for entry in case['left_alone']]
        for entry, expected in zip(plan['left_alone'], case['left_alone']):
            assert expected['why'] in entry['why'], '%r not in %r' % (expected['why'], entry['why'])
    if 'forecast' in case:
        assert plan['forecast'] == case['forecast']
    expected_errors = case.get('errors') or []
    assert len(plan['errors']) == len(expected_errors), plan['errors']
    for error, wanted in zip(plan['errors'], expected_errors):
        assert wanted in error, '%r not in %r' % (wanted, error)
