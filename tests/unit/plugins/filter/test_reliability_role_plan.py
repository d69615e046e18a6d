# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The reliability suite's role cases (tests/reliability/cases.yml) that need no kernel: the role's planner.

They live here, beside the filter's own tests, and not with the module cases in
tests/unit/plugins/modules/test_reliability.py: ansible-test runs the tests under plugins/modules in the
modules' context, where controller code such as this filter (it imports ansible.errors) cannot be imported.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

import pytest

from ansible_collections.pmem.dax.plugins.filter.system_ram_plan import system_ram_plan
from ansible_collections.pmem.dax.tests.reliability import make_table

SPEC = make_table.load_cases()


@pytest.mark.parametrize('case', [case for case in SPEC['cases']
                                  if case['target'] == 'role' and 'unit' in make_table.where(case)],
                         ids=lambda case: case['id'])
def test_role_plan_refuses(case):
    """A role case the role's planner refuses, on the role's snapshot of the case's host: the role stops at
    its plan check, before any change, with these errors as its message."""
    variables = case['args']
    plan = system_ram_plan(SPEC['hosts'][case['host']]['role_snapshot'],
                           state=variables.get('pmem_system_ram_state', 'present'),
                           namespaces=variables.get('pmem_system_ram_namespaces', []),
                           max_movable_ratio=variables.get('pmem_system_ram_max_movable_ratio', 3),
                           mem_available=2 << 30)
    message = ' '.join(plan['errors'])
    assert re.search(case['expect'], message), \
        '%s: message %r does not match %r' % (case['id'], message, case['expect'])
