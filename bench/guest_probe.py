# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark probe, installed on test-bed guests only (by bench/bench.py, never by the collection).

A .pth file in the guest's site-packages imports this in every python3 process. It stays inert unless
/run/pmem-bench exists. For a process that runs an Ansible module it appends one JSON line to
/run/pmem-bench/modules.jsonl: the module (from the code object runpy executes), how long the process
lived on the host, and every process it started (from the interpreter's audit events, so no wrapper
around ndctl or daxctl is needed and nothing on the command line changes).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import atexit
import json
import os
import sys
import time

LOG_DIR = '/run/pmem-bench'
MARKERS = ('/plugins/modules/', '/ansible/modules/')
TOOLS = ('ndctl', 'daxctl')


def _process_start():
    """Wall-clock time this process was started (the kernel's start time, so interpreter start-up counts)."""
    try:
        with open('/proc/self/stat') as stat:
            start_ticks = int(stat.read().rpartition(')')[2].split()[19])
        with open('/proc/uptime') as uptime:
            up_seconds = float(uptime.read().split()[0])
        return time.time() - up_seconds + start_ticks / float(os.sysconf('SC_CLK_TCK'))
    except (OSError, ValueError, IndexError):
        return time.time()


def _module_name(filename):
    """('pmem.dax', 'pmem_info') for .../ansible_collections/pmem/dax/plugins/modules/pmem_info.py,
    ('ansible.builtin', 'command') for .../ansible/modules/command.py; None for anything else (package
    __init__ files included). The collection lets the report tell the role's own modules from the builtin
    ones its persistence steps run (copy, stat, systemd_service)."""
    for marker in MARKERS:
        if marker in filename and filename.endswith('.py'):
            head, name = filename.rsplit(marker, 1)
            name = name[:-len('.py')]
            if '/' in name or name == '__init__':
                continue
            if marker == '/ansible/modules/':
                return 'ansible.builtin', name
            dummy, found, tail = head.rpartition('ansible_collections/')
            parts = tail.split('/')
            return ('.'.join(parts[:2]) if found and len(parts) >= 2 else None), name
    return None


class _Recorder(object):
    def __init__(self):
        self.started = _process_start()
        self.module = None
        self.collection = None
        self.module_at = None
        self.processes = []

    def audit(self, event, args):
        if event == 'exec' and self.module is None:
            found = _module_name(getattr(args[0], 'co_filename', '') or '')
            if found:
                self.collection, self.module = found
                self.module_at = time.time()
        elif event == 'subprocess.Popen' and self.module is not None:
            argv = args[1]
            argv = [argv] if isinstance(argv, (str, bytes)) else list(argv or [])
            argv = [arg.decode('utf-8', 'replace') if isinstance(arg, bytes) else str(arg) for arg in argv]
            names = [os.path.basename(arg) for arg in argv]
            tool = next((index for index, name in enumerate(names) if name in TOOLS), None)
            if tool is None:
                self.processes.append({'at': time.time(), 'argv': names[:1]})
            else:
                self.processes.append({'at': time.time(), 'argv': [names[tool]] + argv[tool + 1:tool + 2]})

    def write(self):
        if self.module is None:
            return
        ended = time.time()
        record = {
            'pid': os.getpid(), 'module': self.module, 'collection': self.collection, 'started': self.started, 'ended': ended,
            'seconds': round(ended - self.started, 4),
            'module_seconds': round(ended - self.module_at, 4),
            'processes': self.processes,
        }
        try:
            with open(os.path.join(LOG_DIR, 'modules.jsonl'), 'a') as log:
                log.write(json.dumps(record) + '\n')
        except OSError:
            pass


if os.path.isdir(LOG_DIR) and hasattr(sys, 'addaudithook'):
    _RECORDER = _Recorder()
    sys.addaudithook(_RECORDER.audit)
    atexit.register(_RECORDER.write)
