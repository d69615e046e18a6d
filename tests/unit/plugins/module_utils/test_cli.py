# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import sys

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _cli
from ansible_collections.pmem.dax.plugins.module_utils._cli import (
    CliError, CliRunner, ToolMissingError, parse_json_list, run_to_end)
from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import run_to_end_through_run_command

PARSED = [
    ('', []),
    ('\n', []),
    ('[]', []),
    ('[{"dev": "region0"}]', [{'dev': 'region0'}]),
    ('{"regions": [{"dev": "region0", "namespaces": []}]}', [{'dev': 'region0', 'namespaces': []}]),
    ('{"namespaces": [{"dev": "namespace0.0"}]}', [{'dev': 'namespace0.0'}]),
    ('{"dimms": [{"dev": "nmem0"}]}', [{'dev': 'nmem0'}]),
    ('{"chardev": "dax0.0", "mode": "devdax"}', [{'chardev': 'dax0.0', 'mode': 'devdax'}]),
    # several kinds at once: kept whole, the caller picks
    ('{"dimms": [], "regions": []}', [{'dimms': [], 'regions': []}]),
]


@pytest.mark.parametrize('text, expected', PARSED, ids=[case[0][:30] or 'empty' for case in PARSED])
def test_parse_json_list(text, expected):
    assert parse_json_list(text) == expected


@pytest.mark.parametrize('text', ['not json', '"a string"', '12'])
def test_parse_json_list_refuses(text):
    with pytest.raises(ValueError):
        parse_json_list(text)


@pytest.fixture(autouse=True)
def answered_by_the_fake(request, monkeypatch):
    """The runner's commands reach FakeModule.run_command (the tests of run_to_end itself run programs)."""
    if not request.node.name.startswith('test_run_to_end'):
        monkeypatch.setattr(_cli, 'run_to_end', run_to_end_through_run_command)


class FakeModule(object):
    def __init__(self, results, missing=()):
        self.results = list(results)
        self.missing = missing
        self.calls = []

    def get_bin_path(self, tool, required=False):
        return None if tool in self.missing else '/usr/bin/' + tool

    def run_command(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        return self.results.pop(0)


def test_runner_records_and_uses_c_locale():
    module = FakeModule([(0, '{"regions": []}', ''), (1, '', 'all memory sections (7) already online\n')])
    runner = CliRunner(module)
    assert runner.json('ndctl', ['list', '-R', '-N']) == []
    result = runner.run_change('daxctl', ['online-memory', 'dax0.0'])
    assert result.rc == 1 and 'already online' in result.stderr
    assert runner.commands == [['ndctl', 'list', '-R', '-N'], ['daxctl', 'online-memory', 'dax0.0']]
    assert runner.changes == [['daxctl', 'online-memory', 'dax0.0']]
    argv, kwargs = module.calls[0]
    assert argv == ['/usr/bin/ndctl', 'list', '-R', '-N']
    assert kwargs['environ_update']['LC_ALL'] == 'C'


def test_runner_raises_with_details():
    runner = CliRunner(FakeModule([(240, '', 'namespace0.0 is active, specify --force\n')]))
    with pytest.raises(CliError) as raised:
        runner.run('ndctl', ['destroy-namespace', 'namespace0.0'])
    error = raised.value
    assert error.rc == 240
    assert str(error) == 'ndctl destroy-namespace namespace0.0 failed (rc 240): namespace0.0 is active, specify --force'
    assert error.to_dict() == {'cmd': ['ndctl', 'destroy-namespace', 'namespace0.0'], 'rc': 240, 'stdout': '',
                               'stderr': 'namespace0.0 is active, specify --force\n'}


def test_runner_timeout_wraps_command():
    module = FakeModule([(124, '', '')])
    runner = CliRunner(module)
    runner.run_change('daxctl', ['offline-memory', 'dax0.0'], timeout=30)
    assert module.calls[0][0] == ['/usr/bin/timeout', '--kill-after=10', '30', '/usr/bin/daxctl', 'offline-memory', 'dax0.0']
    assert runner.changes == [['daxctl', 'offline-memory', 'dax0.0']]


def test_missing_tool():
    runner = CliRunner(FakeModule([], missing=('daxctl',)))
    with pytest.raises(ToolMissingError) as raised:
        runner.json('daxctl', ['list'])
    assert str(raised.value) == 'daxctl not found: install the daxctl package'
    assert runner.commands == []


def test_json_garbage_is_cli_error():
    runner = CliRunner(FakeModule([(0, 'oops', '')]))
    with pytest.raises(CliError) as raised:
        runner.json('ndctl', ['list'])
    assert 'not JSON' in str(raised.value)


class FailingModule(object):
    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_run_to_end_reads_what_comes_after_a_silence():
    # run_command's loop may stop after a silent second once the process has exited, and lose this line.
    program = 'import time; time.sleep(1.3); print("late"); print("last")'
    assert run_to_end(FailingModule(), [sys.executable, '-c', program]) == (0, 'late\nlast\n', '')


def test_run_to_end_sends_data_with_a_newline_and_the_environment():
    program = 'import os, sys; sys.stdout.write(repr(sys.stdin.read()) + os.environ["LC_ALL"]); sys.exit(3)'
    rc, stdout, stderr = run_to_end(FailingModule(), [sys.executable, '-c', program],
                                    environ_update={'LC_ALL': 'C'}, data='online_movable')
    assert (rc, stdout, stderr) == (3, "'online_movable\\n'C", '')


def test_run_to_end_fails_the_module_when_the_program_cannot_start():
    with pytest.raises(AssertionError) as raised:
        run_to_end(FailingModule(), ['/nonexistent/ndctl', 'list'])
    assert 'Error executing command' in str(raised.value)
