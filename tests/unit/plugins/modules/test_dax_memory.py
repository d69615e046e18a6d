# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pmem.dax.dax_memory, table-driven: the cases are in test_dax_memory.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _memory
from ansible_collections.pmem.dax.plugins.modules import dax_memory
from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import UTHelper, run_case


class SimulatedTime(object):
    """Time that only moves when the module sleeps, so that the timeouts it passes on are exact."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def make_test(module, test_file):
    helper = UTHelper.from_test_file(module, test_file)

    @pytest.mark.parametrize('case', helper.cases, ids=[case['id'] for case in helper.cases])
    def run(case, tmp_path, monkeypatch):
        monkeypatch.setattr(_memory, 'time', SimulatedTime())
        run_case(module, case, tmp_path, helper.hosts)

    return run


test_dax_memory = make_test(dax_memory, __file__)
