# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pmem.dax.dax_memory, table-driven: the cases are in test_dax_memory.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json
import os

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _memory
from ansible_collections.pmem.dax.plugins.modules import dax_memory
from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import FIXTURES_DIR, UTHelper, run_case


class SimulatedTime(object):
    """Time that only moves when the module sleeps, so that the timeouts it passes on are exact."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def load_fixture(name):
    """A fixture recorded on a real guest by testbed/record_fixtures.py ("bookworm/06-devdax-1g")."""
    with open(os.path.join(FIXTURES_DIR, name + '.json')) as handle:
        return json.load(handle)


def fixture_host(name):
    """The host tree (uthelper format) of a recorded sysfs snapshot."""
    sysfs = load_fixture(name)['sysfs']
    files = dict((path.lstrip('/'), content) for path, content in sysfs['files'].items())
    # A link to a directory whose files are listed themselves (/sys/bus/dax/devices/daxN.M) is left out:
    # the fake tree holds those files in a real directory.
    links = dict((path.lstrip('/'), target) for path, target in sysfs['links'].items()
                 if not any(other.startswith(path.lstrip('/') + '/') for other in files))
    return {'files': files, 'links': links}


def fixture_output(name, argv):
    for query in load_fixture(name)['queries'] + load_fixture(name)['actions']:
        if query['argv'] == argv:
            return query['stdout']
    raise AssertionError('%s recorded no %s' % (name, argv))


def with_fixtures(case):
    """Resolve the fixture keys of a case: ``fixture`` (the host), a command's ``out_fixture``
    ([fixture, argv]: the output recorded for argv) and ``host_after_fixture`` (the host after it)."""
    case = copy.deepcopy(case)
    if case.get('fixture'):
        case['host'] = fixture_host(case['fixture'])
    for call in (case.get('mocks') or {}).get('run_command') or []:
        if call.get('out_fixture'):
            call['out'] = fixture_output(*call.pop('out_fixture'))
        if call.get('host_after_fixture'):
            call['host_after'] = fixture_host(call.pop('host_after_fixture'))
    return case


def make_test(module, test_file):
    helper = UTHelper.from_test_file(module, test_file)

    @pytest.mark.parametrize('case', helper.cases, ids=[case['id'] for case in helper.cases])
    def run(case, tmp_path, monkeypatch):
        monkeypatch.setattr(_memory, 'time', SimulatedTime())
        run_case(module, with_fixtures(case), tmp_path, helper.hosts)

    return run


test_dax_memory = make_test(dax_memory, __file__)
