# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark callback (bench/ only, not part of the collection): one JSON line per task to $PMEM_BENCH_TASK_LOG."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = '''
name: pmem_bench_tasks
type: aggregate
short_description: write each task's wall time and per-host status as JSON lines for bench/bench.py
description: Enabled by bench/bench.py through ANSIBLE_CALLBACKS_ENABLED; writes to $PMEM_BENCH_TASK_LOG.
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'pmem_bench_tasks'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._path = os.environ.get('PMEM_BENCH_TASK_LOG')
        self._current = None

    def _close(self):
        if self._current is None or not self._path:
            return
        self._current['seconds'] = round(time.time() - self._current.pop('started'), 4)
        with open(self._path, 'a') as log:
            log.write(json.dumps(self._current) + '\n')
        self._current = None

    def _start(self, task):
        self._close()
        self._current = {'task': task.get_name(), 'action': task.action, 'started': time.time(), 'hosts': {}}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def _record(self, result, status):
        if self._current is not None:
            self._current['hosts'].setdefault(result._host.get_name(), []).append(status)

    def v2_runner_on_ok(self, result):
        self._record(result, 'changed' if result._result.get('changed') else 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_runner_item_on_ok(self, result):
        self._record(result, 'item-changed' if result._result.get('changed') else 'item-ok')

    def v2_runner_item_on_skipped(self, result):
        self._record(result, 'item-skipped')

    def v2_playbook_on_stats(self, stats):
        self._close()
