# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The figures issue #13 asks of the benchmark (bench/report.py, bench/guest_probe.py), without guests:
module runs per play besides persistence, processes forked by a removal, the size sweep, the header."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'bench'))

import guest_probe  # noqa: E402  pylint: disable=wrong-import-position
import report  # noqa: E402  pylint: disable=wrong-import-position


def module_record(module, run, collection='pmem.dax', processes=0):
    return {'module': module, 'collection': collection, 'run': run, 'seconds': 1.0, 'module_seconds': 0.5,
            'processes': [{'at': 0, 'argv': ['ndctl', 'list']}] * processes}


ADD_RECORDS = [
    # run 0: pmem_info, system_ram, dax_persist and three builtin modules of the persistence steps
    module_record('pmem_info', 0), module_record('system_ram', 0), module_record('dax_persist', 0),
    module_record('stat', 0, 'ansible.builtin'), module_record('copy', 0, 'ansible.builtin'),
    module_record('systemd_service', 0, 'ansible.builtin'),
    # run 1: a package install read pmem_info once more
    module_record('pmem_info', 1), module_record('pmem_info', 1), module_record('system_ram', 1),
    module_record('dax_persist', 1), module_record('stat', 1, 'ansible.builtin'),
]

RESULTS = {
    'date': '2026-12-01 00:00 UTC', 'release': 'bookworm', 'guests': 1, 'ram': '2G',
    'machine': {'cores': 2, 'cpu': 'Test CPU', 'accel': 'tcg', 'ansible_core': '2.19.14',
                'load_text': 'median 1.0, range 0.5-1.5', 'other_qemu': '0-0', 'other_qemu_max': 0,
                'load_samples': 40},
    'options': {'runs': 2, 'fleet_runs': 0, 'guests': 1, 'sweep': [2, 4, 8], 'sweep_runs': 2},
    'runs': [{'raw': 10.0, 'add': 20.0, 'rerun': 5.0, 'check': 5.0, 'remove': 30.0},
             {'raw': 10.0, 'add': 30.0, 'rerun': 7.5, 'check': 5.0, 'remove': 34.0}],
    'modules': {'add': ADD_RECORDS},
    'tasks': {},
    'processes': {'remove': [120, 140], 'idle': [{'seconds': 30.0, 'processes': 10}]},
    'sweep_guest': {'nvdimms': 1, 'nvdimm_gib': 9, 'ram': '2G'},
    'sweep': [
        {'size_gib': 2, 'run': 0, 'raw': 4.0, 'add': 20.0, 'remove': 20.0, 'remove_processes': 60,
         'remove_module_processes': 8},
        {'size_gib': 2, 'run': 1, 'raw': 6.0, 'add': 22.0, 'remove': 22.0, 'remove_processes': 70,
         'remove_module_processes': 8},
        {'size_gib': 8, 'run': 0, 'raw': 10.0, 'add': 26.0, 'remove': 50.0, 'remove_processes': 100,
         'remove_module_processes': 12},
        # a sweep cut short: the add play failed, the removal was never counted
        {'size_gib': 8, 'run': 1, 'raw': 12.0},
    ],
}


def test_module_runs_per_play_besides_persistence():
    counts = report.module_runs(ADD_RECORDS, runs=2)
    assert counts['all'] == (5, 6)
    assert counts['own'] == (3, 4)
    assert counts['own_besides_persistence'] == (2, 3)
    assert counts['others'] == [('copy', 0.5), ('stat', 1.0), ('systemd_service', 0.5)]


def test_module_runs_without_run_index_or_collection_are_spread_over_the_runs():
    records = [{'module': 'pmem_info'}, {'module': 'dax_persist'}, {'module': 'copy'}, {'module': 'pmem_info'}]
    counts = report.module_runs(records, runs=2)
    assert counts['own'] == (1.5, 1.5) and counts['own_besides_persistence'] == (1.0, 1.0)
    assert counts['others'] == [('copy', 0.5)]


def test_removal_processes_net_of_the_idle_baseline():
    counted = report.removal_processes(RESULTS)
    assert counted == {'forks': 130, 'samples': [120, 140], 'idle': 10, 'idle_seconds': 30.0, 'net': 120}
    assert report.removal_processes({'runs': []})['forks'] is None


def test_sweep_rows_and_slopes():
    rows = report.sweep_rows(RESULTS)
    assert [row['size_gib'] for row in rows] == [2, 8]
    small, large = rows
    assert small['raw'] == 5.0 and small['raw_per_gib'] == 2.5 and small['remove_processes_net'] == 55
    assert large['runs'] == 2 and large['raw'] == 11.0 and large['add'] == 26.0 and large['remove_processes'] == 100
    slopes = report.sweep_slopes(rows)
    assert slopes['raw'] == pytest.approx(1.0) and slopes['add'] == pytest.approx(5.0 / 6)
    assert slopes['remove'] == pytest.approx(29.0 / 6)
    assert report.sweep_slopes(rows[:1]) == {}


HEADLINE = [
    'no other guest ran: no other QEMU process in any of the 40 samples',
    'load median 1.0, range 0.5-1.5',
    'add play: 2-3 module run(s) of pmem.dax on the host besides persistence (target <= 2, missed)',
    'removal of 8 GiB: 90 (one 8 GiB namespace, net of 10 forked while idle)',
    'rerun / add = 0.25 (target <= 0.3, met)',
]
TABLE_ROWS = [
    '| add | 5-6 | 3-4 | 2-3 | copy 0.5, stat 1, systemd_service 0.5 |',
    '| remove play, two 4 GiB NVDIMMs | 130 | 120, 140 | 10 in 30 s | 120 |',
    '| 8 GiB | 2 | 11.0 | 1.38 | 26.0 | 3.25 | 50.0 | 6.25 | 90 | 12 |',
    'Each further GiB, from 2 to 8 GiB',
    '| size sweep guest | 1 x Debian bookworm, 2G RAM, 1 x 9 GiB NVDIMM',
    'Made by `scripts/bench --runs 2 --fleet-runs 0 --guests 1 --sweep 2G,4G,8G --sweep-runs 2`',
]


@pytest.mark.parametrize('piece', HEADLINE)
def test_markdown_headline_has_module_runs_processes_and_no_other_guest(piece):
    assert piece in report.markdown(RESULTS).split('\n\n')[1]


@pytest.mark.parametrize('piece', TABLE_ROWS)
def test_markdown_has_the_module_runs_removal_and_sweep_tables(piece):
    assert piece in report.markdown(RESULTS)


def test_markdown_says_when_other_guests_ran_and_without_a_sweep():
    results = dict(RESULTS, machine=dict(RESULTS['machine'], other_qemu='0-2', other_qemu_max=2), sweep=[],
                   options={'sweep': None})
    text = report.markdown(results)
    assert 'other guests ran beside it (other QEMU processes: 0-2): not an idle machine' in text
    assert 'removal of 8 GiB: 120 (two 4 GiB NVDIMMs, net of 10 forked while idle)' in text
    assert '## Size sweep' not in text and '--no-sweep' in text


@pytest.mark.parametrize('filename, expected', [
    ('/tmp/a/ansible_collections/pmem/dax/plugins/modules/system_ram.py', ('pmem.dax', 'system_ram')),
    ('/tmp/p.zip/ansible/modules/copy.py', ('ansible.builtin', 'copy')),
    ('/tmp/a/ansible_collections/pmem/dax/plugins/modules/__init__.py', None),
    ('/tmp/plugins/modules/own.py', (None, 'own')),
    ('/usr/lib/python3/runpy.py', None),
])
def test_probe_names_the_module_and_its_collection(filename, expected):
    assert guest_probe._module_name(filename) == expected
