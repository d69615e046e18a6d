# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pmem.dax.system_ram, table-driven: the cases are in test_system_ram.yaml (format: uthelper.py).

Three additions to the uthelper format, for this module's cases only:

* an item of ``run_command`` may be a list of commands (a YAML alias of a host's reads), spliced in place;

* ``recorded`` may carry ``replace: {old: new}``: the recorded output with those strings replaced. The
  module chooses a namespace's uuid before ndctl creates it (``create-namespace --uuid``); the recorded
  ``ndctl list`` shows the uuid the recording guest chose, so a case replaces it by the one the module
  passes (``00000000-0000-4000-8000-00000000000N``, see uthelper), and the record and the host agree.
* a command may carry ``json_files_now: {relpath: value}``: the JSON files under the fake root when the
  module runs that command (null: absent), e.g. the ownership record before ``ndctl create-namespace``;
  and ``files_now: {relpath: [lines]}``: text files that have those lines then (a udev override).

A case with ``xfail: <why>`` is written as the module should behave and is expected to fail until the
module does (not strict: the fix need not wait for this file); the reason names the bug.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json
import os

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _memory
from ansible_collections.pmem.dax.plugins.modules import system_ram
from ansible_collections.pmem.dax.tests.unit.plugins.modules import uthelper
from ansible_collections.pmem.dax.tests.unit.plugins.modules.test_dax_memory import SimulatedTime


def _flat(calls):
    for call in calls:
        if isinstance(call, list):
            yield from _flat(call)
        else:
            yield call


def prepared(case):
    """The case with its command lists spliced and every ``recorded`` + ``replace`` turned into rc/out/err."""
    case = copy.deepcopy(case)
    mocks = case.get('mocks') or {}
    if mocks.get('run_command'):
        mocks['run_command'] = list(_flat(mocks['run_command']))
    for call in mocks.get('run_command') or []:
        spec = call.get('recorded') or {}
        if 'replace' not in spec:
            continue
        rc, out, err = uthelper.recorded_output(spec)
        for old, new in spec['replace'].items():
            out = out.replace(old, new)
        del call['recorded']
        call.update(rc=rc, out=out, err=err)
    return case


def check_files_now(call, root):
    for relpath, lines in (call.get('files_now') or {}).items():
        path = os.path.join(root, relpath)
        assert os.path.exists(path), '%s should exist when %s runs' % (relpath, call['command'])
        with open(path) as handle:
            text = handle.read()
        for line in lines:
            assert line in text.splitlines(), '%s has no line %r when %s runs:\n%s' % (relpath, line, call['command'], text)
    for relpath, expected in (call.get('json_files_now') or {}).items():
        path = os.path.join(root, relpath)
        if expected is None:
            assert not os.path.exists(path), '%s should not exist when %s runs' % (relpath, call['command'])
            continue
        assert os.path.exists(path), '%s should exist when %s runs' % (relpath, call['command'])
        with open(path) as handle:
            assert json.load(handle) == expected, '%s when %s runs' % (relpath, call['command'])


def _marks(case):
    return [pytest.mark.xfail(reason=case['xfail'], strict=False)] if case.get('xfail') else []


helper = uthelper.UTHelper.from_test_file(system_ram, __file__)
_ids = [case['id'] for case in helper.cases]
assert len(_ids) == len(set(_ids)), 'duplicate case ids in test_system_ram.yaml'
CASES = [pytest.param(prepared(case), id=case['id'], marks=_marks(case)) for case in helper.cases]


@pytest.mark.parametrize('case', CASES)
def test_system_ram(case, tmp_path, monkeypatch):
    monkeypatch.setattr(_memory, 'time', SimulatedTime())
    replay = uthelper.CommandMock.__call__

    def checked_replay(mock, module, args, **kwargs):
        if mock.position < len(mock.expected):
            check_files_now(mock.expected[mock.position], mock.root)
        return replay(mock, module, args, **kwargs)

    monkeypatch.setattr(uthelper.CommandMock, '__call__', checked_replay)
    uthelper.run_case(system_ram, case, tmp_path, helper.hosts)
