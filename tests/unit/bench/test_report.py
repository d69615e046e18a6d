# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark's figures, ratios and table (bench/report.py), without guests."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'bench'))

import report  # noqa: E402  pylint: disable=wrong-import-position


def module_record(module, seconds, *argvs):
    return {'module': module, 'seconds': seconds, 'module_seconds': seconds / 2,
            'processes': [{'at': 0, 'argv': list(argv)} for argv in argvs]}


RESULTS = {
    'date': '2026-11-26 00:00 UTC', 'release': 'bookworm', 'guests': 4, 'ram': '2G',
    'machine': {'cores': 2, 'cpu': 'Test CPU', 'accel': 'tcg', 'ansible_core': '2.19.14',
                'load_text': 'median 2.0, range 1.0-3.0', 'other_qemu': '0-2'},
    'runs': [
        {'raw': 10.0, 'add': 40.0, 'rerun': 20.0, 'check': 18.0, 'remove': 30.0, 'fleet': 60.0},
        {'raw': 12.0, 'add': 30.0, 'rerun': 10.0, 'check': 12.0, 'remove': 35.0, 'fleet': 50.0},
        {'raw': 11.0, 'add': 35.0, 'rerun': 14.0, 'check': 13.0, 'remove': 32.0, 'fleet': 40.0},
    ],
    'modules': {
        'rerun': [module_record('pmem_info', 1.0, ('ndctl', 'list'), ('daxctl', 'list'), ('ndctl', 'list')),
                  module_record('command', 0.5, ('cat',))],
        'add': [module_record('pmem_namespace', 2.0, ('ndctl', 'list'), ('daxctl', 'list'),
                              ('ndctl', 'create-namespace'), ('ndctl', 'list'), ('daxctl', 'list'))],
    },
    'tasks': {'add': [[
        {'task': 'pmem.dax.pmem_system_ram : Probe', 'action': 'ansible.builtin.shell', 'seconds': 3.0, 'hosts': {'g1': ['ok']}},
        {'task': 'Facts', 'action': 'ansible.builtin.set_fact', 'seconds': 0.5, 'hosts': {'g1': ['ok']}},
        {'task': 'Skipped', 'action': 'pmem.dax.dax_mode', 'seconds': 0.1, 'hosts': {'g1': ['skipped']}},
    ]]},
}


@pytest.mark.parametrize('values, expected', [
    ([], None), ([None], None), ([3.0], 3.0), ([3.0, 1.0, 2.0], 2.0), ([4.0, 1.0, 2.0, 3.0], 2.5), ([1.0, None, 5.0], 3.0),
])
def test_median(values, expected):
    assert report.median(values) == expected


def test_medians_and_ratios():
    figures = report.medians(RESULTS['runs'])
    assert figures == {'raw': 11.0, 'add': 35.0, 'rerun': 14.0, 'check': 13.0, 'remove': 32.0, 'fleet': 50.0}
    checks = {name: (value, limit) for name, value, dummy, limit in report.ratios(RESULTS['runs'], 4)}
    # medians of the per-run ratios, not ratios of the medians
    assert checks['add / raw'] == (pytest.approx(35.0 / 11.0), 3.0)
    assert checks['rerun / add'] == (pytest.approx(0.4), 0.3)
    assert checks['check / rerun'] == (pytest.approx(13.0 / 14.0), 1.0)
    assert checks['4 guests / 1 guest'] == (pytest.approx(1.5), 1.3)


def test_missing_figures_give_no_ratio():
    runs = [{'raw': 10.0, 'add': 20.0}, {'raw': 10.0, 'add': 40.0, 'fleet': 60.0}]
    values = dict((name, value) for name, value, dummy, dummy2 in report.ratios(runs, 4))
    assert values['add / raw'] == 3.0
    assert values['4 guests / 1 guest'] == 1.5
    assert values['rerun / add'] is None


def test_state_reads_count_the_larger_of_the_two_list_commands():
    assert report.state_reads(RESULTS['modules']['rerun'][0]) == 2
    assert report.state_reads(RESULTS['modules']['add'][0]) == 2
    assert report.state_reads(RESULTS['modules']['rerun'][1]) == 0


def test_module_summary_per_run():
    rows = report.module_summary(RESULTS['modules']['rerun'], runs=1)
    assert [row['module'] for row in rows] == ['command', 'pmem_info']
    assert rows[1]['processes'] == (3, 3) and rows[1]['reads'] == (2, 2) and rows[1]['others'] == (0, 0)
    assert rows[0]['processes'] == (0, 0) and rows[0]['others'] == (1, 1)


def test_task_summary_counts_tasks_that_ran_and_those_on_the_host():
    summary = report.task_summary(RESULTS['tasks']['add'])
    assert summary['tasks'] == 2 and summary['host_tasks'] == 1
    assert summary['host_task_seconds'] == 3.0 and summary['other_seconds'] == pytest.approx(0.6)
    assert summary['slowest'][0] == (3.0, 'Probe')


def test_markdown_has_the_ratios_first_and_the_machine():
    text = report.markdown(RESULTS)
    first_paragraph = text.split('\n\n')[1]
    assert 'add / raw = 3.18 (target <= 3, missed)' in first_paragraph
    assert 'rerun / add = 0.40 (target <= 0.3, missed)' in first_paragraph
    assert '4 guests / 1 guest = 1.50 (target <= 1.3, missed)' in first_paragraph
    assert 'per run of a pmem.dax module: 2.' in first_paragraph
    assert '| machine | 2 cores, Test CPU, TCG |' in text
    assert '| ansible-core | 2.19.14' in text
    assert '| add play, fresh guest | 35.0 | 40.0, 30.0, 35.0 |' in text
    # one pmem_info run over three runs of the benchmark: a third of a run per play
    assert '| rerun | pmem_info | 0.3 | 3 | 0 | 2 | 1.00 | 0.3 |' in text
