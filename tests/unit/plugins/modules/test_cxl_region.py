# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cxl_region: the cases are data in test_cxl_region.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _apply
from ansible_collections.pmem.dax.plugins.modules import cxl_region
from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import CommandMock, UTHelper, run_case

HELPER = UTHelper.from_test_file(cxl_region, __file__)
ANSWER = CommandMock.__call__


def answer_text_stdin_only(mock, module, args, **kwargs):
    """The mock's answer, after the check AnsibleModule.run_command makes by failing: stdin is text or None."""
    data = kwargs.get('data')
    assert data is None or isinstance(data, str), 'stdin of %s must be text, not %r' % (args, data)
    return ANSWER(mock, module, args, **kwargs)


@pytest.mark.parametrize('case', HELPER.cases, ids=[case['id'] for case in HELPER.cases])
def test_cxl_region(case, tmp_path, monkeypatch):
    # Every wait for the topology to settle reads it once: each case lists the reads it answers, and a
    # case whose goal is not reached would otherwise re-read for a minute.
    monkeypatch.setattr(_apply, 'CXL_SETTLE_SECONDS', 0)
    monkeypatch.setattr(CommandMock, '__call__', answer_text_stdin_only)
    run_case(cxl_region, case, tmp_path, HELPER.hosts)
