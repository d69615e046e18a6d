# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The reliability suite's bad-input cases (tests/reliability/cases.yml) that need no kernel.

Each case runs against every recorded host its "host" names (Debian 12 and 13 guests). It passes when the
module fails, reports no change, says what the case expects, and ran nothing but ndctl/daxctl list and
--version: a request that is refused must be refused before any change. The role's cases run on its planner
in tests/unit/plugins/filter/test_reliability_role_plan.py (controller code, which ansible-test cannot import
in the modules' context these tests run in).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import importlib
import io
import re

import pytest

from ansible_collections.pmem.dax.tests.reliability import make_table
from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import (
    BIN_DIR,
    build_host,
    load_fixture,
    run_main,
)

SPEC = make_table.load_cases()
READ_ONLY = ('list', '--version')


def unit_runs():
    runs = []
    for case in SPEC['cases']:
        if 'unit' not in make_table.where(case) or case['target'] == 'role':
            continue
        for fixture in SPEC['hosts'][case['host']]['unit']:
            runs.append(pytest.param(case, fixture, id='%s@%s' % (case['id'], fixture.split('/')[0])))
    return runs


class RecordedHost(object):
    """Answers the read-only commands from a recorded fixture; anything else is noted as a change."""

    def __init__(self, fixture):
        self.fixture = load_fixture(fixture)
        self.changes = []

    def __call__(self, module, args, **kwargs):
        argv = [str(arg)[len(BIN_DIR) + 1:] if str(arg).startswith(BIN_DIR + '/') else str(arg) for arg in args]
        if len(argv) < 2 or argv[1] not in READ_ONLY:
            self.changes.append(argv)
            return 1, '', 'refused by the test: %s changes the host' % ' '.join(argv)
        if argv[1] == '--version':
            return 0, '%s\n' % self.fixture['guest'].get(argv[0], '0'), ''
        # The modules list idle seed namespaces too (-i); the recordings are without it.
        wanted = [arg for arg in argv if arg != '-i']
        for query in self.fixture['queries']:
            if query['argv'] == wanted:
                return query['rc'], query['stdout'], query['stderr']
        return 0, '', ''


@pytest.mark.parametrize('case, fixture', unit_runs())
def test_bad_input_fails_before_any_change(case, fixture, tmp_path):
    module = importlib.import_module('ansible_collections.pmem.dax.plugins.modules.%s' % case['target'])
    root = str(tmp_path / 'root')
    build_host(root, {'fixture': fixture})
    host = RecordedHost(fixture)
    args = dict(case.get('args') or {})
    args.update(case.get('unit_args') or {})
    result = run_main(module, args, root, tmp_path, host, missing=case.get('missing'))
    assert result.get('failed'), '%s: expected a failure, got %r' % (case['id'], result)
    assert not result.get('changed'), '%s: reported a change' % case['id']
    assert host.changes == [], '%s: ran %s before failing' % (case['id'], host.changes)
    assert re.search(case['expect'], result['msg']), \
        '%s: message %r does not match %r' % (case['id'], result['msg'], case['expect'])


def test_cases_are_well_formed():
    ids = [case['id'] for case in SPEC['cases']] + [fault['id'] for fault in SPEC.get('faults') or []]
    assert len(ids) == len(set(ids)), 'duplicate ids'
    assert len(SPEC['cases']) >= 30
    for case in SPEC['cases']:
        assert set(case) <= {'id', 'kind', 'target', 'args', 'host', 'expect', 'where', 'missing', 'old_daxctl',
                             'unit_args', 'together'}, case['id']
        assert case['target'] in make_table.MODULE_TARGETS + ('role',), case['id']
        assert case['host'] in SPEC['hosts'], case['id']
        assert set(make_table.where(case)) <= {'unit', 'guest'}, case['id']
        assert not (case['target'] == 'role' and 'unit' in make_table.where(case) and 'role_snapshot'
                    not in SPEC['hosts'][case['host']]), case['id']
        re.compile(case['expect'])


def test_table_is_current():
    with io.open(make_table.TABLE_FILE, encoding='utf-8') as handle:
        assert handle.read() == make_table.render(SPEC), \
            'docs/reliability.md is not current: run python3 tests/reliability/make_table.py'
