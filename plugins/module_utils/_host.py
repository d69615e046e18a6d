# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Host facts around persistent memory that ndctl and daxctl do not report (pmem_info's ``host`` section).

API (stable; additions only):

``TOOLS``: ("ndctl", "daxctl").
``host_tools(runner)`` -> {tool: {"path": str | None, "version": str | None}} for every tool in TOOLS;
    a missing tool is reported (path None), never raised.
``online_udev_rules(sysfs)`` -> sorted list of the udev rules files (host paths) that online hot-added memory,
    as udev would pick them: a file in /etc/udev/rules.d replaces one of the same name in /run or
    /usr/lib (/lib), and a file linked to /dev/null (or empty) is masked.
``host_facts(runner, sysfs)`` -> {"tools": host_tools(...), "online_udev_rules": [...],
    "mem_available": bytes | None (MemAvailable of /proc/meminfo)}.

Files are read under ``sysfs.root`` so that unit tests point them at a fake tree.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

from ansible_collections.pmem.dax.plugins.module_utils._cli import ToolMissingError

TOOLS = ('ndctl', 'daxctl')

# In the order udev reads them: the first directory that has a file of a given name wins.
UDEV_RULE_DIRS = ('etc/udev/rules.d', 'run/udev/rules.d', 'usr/lib/udev/rules.d', 'lib/udev/rules.d')

# A rule that writes "online" (or online_movable/online_kernel) to the state of a hot-added memory block.
_ONLINE_RULE_RE = re.compile(r'SUBSYSTEM=="memory".*ATTR\{state\}="online')


def host_tools(runner):
    tools = {}
    for tool in TOOLS:
        try:
            path = runner.bin_path(tool)
        except ToolMissingError:
            tools[tool] = {'path': None, 'version': None}
            continue
        version = runner.run(tool, ['--version']).stdout.strip() or None
        tools[tool] = {'path': path, 'version': version}
    return tools


def _onlines_memory(text):
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#') and _ONLINE_RULE_RE.search(line):
            return True
    return False


def online_udev_rules(sysfs):
    chosen = {}
    for directory in UDEV_RULE_DIRS:
        try:
            names = sorted(os.listdir(sysfs.path(directory)))
        except (IOError, OSError):
            continue
        for name in names:
            if name.endswith('.rules') and name not in chosen:
                chosen[name] = directory
    rules = []
    for name, directory in sorted(chosen.items()):
        path = sysfs.path(directory, name)
        try:
            if os.path.islink(path) and os.readlink(path) == '/dev/null':
                continue
        except (IOError, OSError):
            continue
        text = sysfs.read(directory, name)
        if text and _onlines_memory(text):
            rules.append('/' + directory + '/' + name)
    return rules


def host_facts(runner, sysfs):
    return {
        'tools': host_tools(runner),
        'online_udev_rules': online_udev_rules(sysfs),
        'mem_available': sysfs.meminfo().get('MemAvailable'),
    }
