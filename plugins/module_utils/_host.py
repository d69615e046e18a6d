# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Host facts around persistent memory that ndctl and daxctl do not report (pmem_info's ``host`` section).

API (stable; additions only):

``TOOLS``: ("ndctl", "daxctl").
``host_tools(runner)`` -> {tool: {"path": str | None, "version": str | None}} for every tool in TOOLS;
    a missing tool is reported (path None), never raised.
``online_udev_rules(sysfs)`` -> sorted list of the udev rules files (host paths) that online hot-added memory
    on this host, as udev would pick them: a file in /etc/udev/rules.d replaces one of the same name in /run or
    /usr/lib (/lib), and a file linked to /dev/null (or empty) is masked. Decided by ``_udev.evaluate`` (GOTO,
    LABEL, DMI and other matches as udev evaluates them), with the host's DMI strings and architecture as facts;
    a rule whose condition cannot be decided here (a PROGRAM's output, ...) counts.
``udev_rules(sysfs)`` -> one entry per rules file name whose rules online hot-added memory on some host:
    {"path": the file with those rules, "effective": the file udev reads (path, or the override in /etc),
    "rules": [{"line", "text", "does", "condition" (None: on every host), "applies" (on this host: true, false,
    or None when not known)}], "applies" (any rule), "override": {"path": /etc/udev/rules.d/<name>,
    "state": "missing" | "current" | "stale" (written by pmem.dax from an older source) | "obsolete" (written by
    pmem.dax, but its source is gone or onlines no memory any more: to be removed; content None) | "impossible"
    (path is itself in /etc: the administrator's own file), "content": the override's text (for "impossible" the
    suggested edit of that file)}}.
``host_features(sysfs)`` -> {"memory_hotplug", "auto_online_blocks", "dax_bus", "cxl_bus": bool, "kmem": bool or
    None}: what the kernel offers, from sysfs (and /lib/modules for kmem), not from its version string.
``host_facts(runner, sysfs)`` -> {"tools": host_tools(...), "cxl_path": path of the cxl command or None,
    "online_udev_rules": [...], "udev_rules": [...], "features": {...},
    "mem_available": bytes | None (MemAvailable of /proc/meminfo)}.

Files are read under ``sysfs.root`` so that unit tests point them at a fake tree.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

from ansible_collections.pmem.dax.plugins.module_utils import _udev
from ansible_collections.pmem.dax.plugins.module_utils._cli import ToolMissingError

TOOLS = ('ndctl', 'daxctl')

# In the order udev reads them: the first directory that has a file of a given name wins.
UDEV_RULE_DIRS = ('etc/udev/rules.d', 'run/udev/rules.d', 'usr/lib/udev/rules.d', 'lib/udev/rules.d')

DMI_DIR = 'sys/class/dmi/id'
_DMI_ATTR_RE = re.compile(r'ATTRS?\{\[dmi/id\]([A-Za-z0-9_]+)\}')
_KMEM_RE = re.compile(r'(^|/)drivers/dax/kmem\.ko', re.M)


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


def _rule_files(sysfs):
    """{name: [directories holding it, in the order udev prefers them]}."""
    files = {}
    for directory in UDEV_RULE_DIRS:
        try:
            names = sorted(os.listdir(sysfs.path(directory)))
        except (IOError, OSError):
            continue
        for name in names:
            if name.endswith('.rules'):
                files.setdefault(name, []).append(directory)
    return files


def _read(sysfs, directory, name):
    """The file's text as it is (Sysfs.read strips it, which would shift line numbers); '' when unreadable."""
    try:
        with open(sysfs.path(directory, name)) as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return ''


def _masked(sysfs, directory, name):
    path = sysfs.path(directory, name)
    try:
        return os.path.islink(path) and os.readlink(path) == '/dev/null'
    except (IOError, OSError):
        return True


def _facts(sysfs, texts):
    """What _udev.evaluate may know of this host: its architecture, and the DMI strings the rules ask for."""
    facts = {'const': {}, 'attr': {}}
    arch = sysfs.read('proc/sys/kernel/arch')
    if arch is None and sysfs.root == '/':
        arch = os.uname()[4]
    facts['const'].update(_udev.host_arch_facts(arch))
    for text in texts:
        for attr in _DMI_ATTR_RE.findall(text):
            value = sysfs.read(DMI_DIR, attr)
            if value is not None:
                facts['attr']['[dmi/id]' + attr] = value
    return facts


def _report(text, source, facts, suggestion=False):
    """The entry of udev_rules for one file's text, or None when none of its rules onlines memory."""
    findings = _udev.evaluate(text)
    if not findings:
        return None
    here = dict((finding['line'], finding) for finding in _udev.evaluate(text, facts))
    rules = []
    for finding in findings:
        applies = finding['line'] in here
        if applies and here[finding['line']]['condition'] is not None:
            applies = None
        rules.append({'line': finding['line'], 'text': finding['text'], 'does': finding['does'],
                      'condition': finding['condition'], 'applies': applies})
    return {'path': source, 'rules': rules, 'content': _udev.memory_override(text, findings, source, suggestion),
            'applies': True if any(rule['applies'] for rule in rules)
            else None if any(rule['applies'] is None for rule in rules) else False}


def udev_rules(sysfs):
    files = _rule_files(sysfs)
    texts = dict(((directory, name), _read(sysfs, directory, name))
                 for name, directories in files.items() for directory in directories)
    facts = _facts(sysfs, texts.values())
    entries = []
    for name in sorted(files):
        directories = files[name]
        if _masked(sysfs, directories[0], name):
            continue
        effective = '/%s/%s' % (directories[0], name)
        override_path = '/%s/%s' % (UDEV_RULE_DIRS[0], name)
        text = texts[(directories[0], name)]
        source = _udev.override_source(text)
        if source is not None:
            # our override: judge the file it was made from (the next one udev would read)
            state = 'stale'
            sources = [directory for directory in directories[1:] if '/%s/%s' % (directory, name) == source]
            entry = _report(texts[(sources[0], name)], source, facts) if sources else None
            if entry is None:
                # its source is gone, or onlines no memory any more: the override would only hide its new text
                entry = {'path': source, 'rules': [], 'applies': False, 'content': None}
                state = 'obsolete'
            elif entry['content'] == text:
                state = 'current'
        else:
            state = 'impossible' if directories[0] == UDEV_RULE_DIRS[0] else 'missing'
            entry = _report(text, effective, facts, suggestion=state == 'impossible')
            if entry is None:
                continue
        entry['effective'] = effective
        entry['override'] = {'path': override_path, 'state': state, 'content': entry.pop('content')}
        entries.append(entry)
    return entries


def online_udev_rules(sysfs, entries=None):
    """The files udev reads that online memory here (or may: applies not false), sorted by name.

    An override pmem.dax wrote, current or stale, is not one: it is a copy of its source without those rules.
    """
    if entries is None:
        entries = udev_rules(sysfs)
    return [entry['effective'] for entry in entries
            if entry['override']['state'] in ('missing', 'impossible') and entry['applies'] is not False]


def kmem_available(sysfs):
    """True when the kmem driver (dax devices as system RAM) is loaded or installed, None when it cannot be told."""
    if os.path.isdir(sysfs.path('sys/bus/dax/drivers/kmem')) or os.path.isdir(sysfs.path('sys/module/kmem')):
        return True
    release = sysfs.kernel_release()
    seen = False
    for base in ('lib/modules', 'usr/lib/modules'):
        for name in ('modules.builtin', 'modules.dep'):
            text = sysfs.read(base, release or '', name) if release else None
            if text is None:
                continue
            seen = True
            if _KMEM_RE.search(text):
                return True
    return False if seen else None


def host_features(sysfs):
    return {
        'memory_hotplug': sysfs.block_size() is not None,
        'auto_online_blocks': sysfs.auto_online_blocks() is not None,
        'dax_bus': os.path.isdir(sysfs.path('sys/bus/dax')),
        'cxl_bus': os.path.isdir(sysfs.path('sys/bus/cxl')),
        'kmem': kmem_available(sysfs),
    }


def host_facts(runner, sysfs):
    entries = udev_rules(sysfs)
    return {
        'tools': host_tools(runner),
        'cxl_path': runner.module.get_bin_path('cxl', required=False),
        'online_udev_rules': online_udev_rules(sysfs, entries),
        'udev_rules': entries,
        'features': host_features(sysfs),
        'mem_available': sysfs.meminfo().get('MemAvailable'),
    }
