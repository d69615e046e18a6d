# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The reliability suite's role cases (tests/reliability/cases.yml) that need no kernel: the system_ram
module's plan (the role hands its variables to that module), on the host's view of the case.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

import pytest

from ansible_collections.pmem.dax.plugins.module_utils._system_ram import plan_system_ram
from ansible_collections.pmem.dax.tests.reliability import make_table

SPEC = make_table.load_cases()


@pytest.mark.parametrize('case', [case for case in SPEC['cases']
                                  if case['target'] == 'role' and 'unit' in make_table.where(case)],
                         ids=lambda case: case['id'])
def test_role_plan_refuses(case):
    """A role case the plan refuses, on the view of the case's host: system_ram fails before any change, with
    these errors as its message."""
    variables = case['args']
    plan = plan_system_ram(SPEC['hosts'][case['host']]['role_snapshot'],
                           state=variables.get('pmem_system_ram_state', 'present'),
                           namespaces=variables.get('pmem_system_ram_namespaces', []),
                           max_movable_ratio=variables.get('pmem_system_ram_max_movable_ratio', 3),
                           demotion=variables.get('pmem_system_ram_demotion', True),
                           allow_movable_only_node=variables.get('pmem_system_ram_allow_movable_only_node', False),
                           mem_available=2 << 30)
    message = ' '.join(plan['errors'])
    assert re.search(case['expect'], message), \
        '%s: message %r does not match %r' % (case['id'], message, case['expect'])
