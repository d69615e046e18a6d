# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_preflight: what system_ram checks of a host before its first change, and its udev decision (pure)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.pmem.dax.plugins.module_utils._preflight import (
    host_problems,
    missing_tools,
    tool_problems,
    udev_decision,
)

TOOLS = {'ndctl': {'path': '/usr/bin/ndctl', 'version': '78'}, 'daxctl': {'path': '/usr/bin/daxctl', 'version': '78'}}
HEALTHY = {'features': {'memory_hotplug': True, 'auto_online_blocks': True, 'dax_bus': True, 'cxl_bus': True,
                        'kmem': True},
           'block_size': 134217728, 'dax_model': 'bus', 'regions': 2, 'demotion_enabled': False,
           'cxl': {'available': True}, 'cxl_path': '/usr/bin/cxl', 'kernel': '5.14.0-503.el9.x86_64'}


@pytest.mark.parametrize('tools, cxl_path, wants_cxl, missing', [
    (TOOLS, None, False, []),
    (TOOLS, None, True, ['cxl']),
    (dict(TOOLS, ndctl={'path': None, 'version': None}), '/usr/bin/cxl', True, ['ndctl']),
    ({}, None, True, ['ndctl', 'daxctl', 'cxl']),
])
def test_missing_tools(tools, cxl_path, wants_cxl, missing):
    assert missing_tools(tools, cxl_path, wants_cxl) == missing


@pytest.mark.parametrize('tools, wants_cxl, texts', [
    (TOOLS, False, []),
    # version strings as the tools print them, and as distributions patch them
    (dict(TOOLS, ndctl={'path': '/usr/bin/ndctl', 'version': '68'}), False, []),
    (dict(TOOLS, ndctl={'path': '/usr/bin/ndctl', 'version': 'v71.1-2.el8'}), False, []),
    (dict(TOOLS, daxctl={'path': '/usr/bin/daxctl', 'version': '67.5'}), False,
     ['daxctl 67.5 is too old: reconfigure-device, online-memory and the zone options need daxctl >= 68']),
    (dict(TOOLS, daxctl={'path': '/usr/bin/daxctl', 'version': None}), False, ['daxctl (no version) is too old']),
    ({'ndctl': {'path': None, 'version': None}, 'daxctl': TOOLS['daxctl']}, False,
     ['ndctl not found: install the ndctl package.']),
    (TOOLS, True, ['the cxl command is not installed: install the package that has it (cxl-cli on RHEL']),
], ids=['healthy', 'oldest-good', 'rhel-version', 'too-old', 'no-version', 'missing', 'cxl-missing'])
def test_tool_problems(tools, wants_cxl, texts):
    problems = tool_problems(tools, None, wants_cxl)
    assert len(problems) == len(texts)
    for problem, text in zip(problems, texts):
        assert text in problem


# (id, changes to the healthy host, state, wants_cxl, demotion, texts the messages must have, in order)
HOSTS = [
    ('healthy', {}, 'present', True, True, []),
    ('healthy removal', {'regions': 0}, 'absent', False, False, []),
    ('no kmem', {'features': dict(HEALTHY['features'], kmem=False)}, 'present', False, False,
     ['It has no kmem driver (CONFIG_DEV_DAX_KMEM: no /sys/bus/dax/drivers/kmem, and '
      '/lib/modules/5.14.0-503.el9.x86_64 lists no drivers/dax/kmem.ko)']),
    ('kmem unknown counts as there', {'features': dict(HEALTHY['features'], kmem=None)}, 'present', False, False, []),
    ('no kmem, removal', {'features': dict(HEALTHY['features'], kmem=False)}, 'absent', False, False, []),
    ('no auto-online policy', {'features': dict(HEALTHY['features'], auto_online_blocks=False)}, 'present', False,
     False, ['auto_online_blocks is missing']),
    ('no memory hotplug', {'block_size': None}, 'absent', False, False, ['built without CONFIG_MEMORY_HOTPLUG']),
    ('dax class model', {'dax_model': 'class'}, 'present', False, False, ["Run 'daxctl migrate-device-model'"]),
    ('no demotion switch', {'demotion_enabled': None}, 'present', False, True,
     ['demotion=true, but this kernel has no /sys/kernel/mm/numa/demotion_enabled']),
    ('no demotion switch, not asked', {'demotion_enabled': None}, 'present', False, False, []),
    ('no region', {'regions': 0}, 'present', False, False, ["No persistent memory region found ('ndctl list -R'"]),
    ('no region, CXL asked', {'regions': 0}, 'present', True, False, []),
    ('no CXL bus', {'cxl': {'available': False}, 'features': dict(HEALTHY['features'], cxl_bus=False)}, 'present',
     True, False, ['this kernel has no CXL bus (/sys/bus/cxl)']),
    ('cxl list failed', {'cxl': {'available': False}}, 'absent', True, False, ["'cxl list' could not be used"]),
    ('several at once', {'regions': 0, 'dax_model': 'class'}, 'present', False, False,
     ['daxctl migrate-device-model', 'No persistent memory region found']),
]


@pytest.mark.parametrize('changes, state, wants_cxl, demotion, texts', [case[1:] for case in HOSTS],
                         ids=[case[0] for case in HOSTS])
def test_host_problems(changes, state, wants_cxl, demotion, texts):
    problems = host_problems(dict(HEALTHY, **changes), state, wants_cxl, demotion)
    assert len(problems) == len(texts), problems
    for problem, text in zip(problems, texts):
        assert text in problem


def entry(path, applies, state, condition=None):
    return {'path': path, 'effective': path, 'applies': applies,
            'rules': [{'line': 25, 'text': 'ATTR{state}=="offline", ATTR{state}="$env{.state}"',
                       'does': 'writes ATTR{state}="online" or "online_movable"', 'condition': condition,
                       'applies': applies}],
            'override': {'path': '/etc/udev/rules.d/' + path.rsplit('/', 1)[1], 'state': state, 'content': 'x'}}


RHEL = entry('/usr/lib/udev/rules.d/40-redhat.rules', True, 'missing')
UBUNTU = entry('/usr/lib/udev/rules.d/40-vm-hotadd.rules', False, 'missing', 'ATTR{[dmi/id]sys_vendor}=="Xen"')
SUSE = entry('/usr/lib/udev/rules.d/80-hotplug-cpu-mem.rules', None, 'stale', 'CONST{arch}!="s390x"')
DONE = entry('/usr/lib/udev/rules.d/40-redhat-hotplug.rules', True, 'current')
OWN = entry('/etc/udev/rules.d/99-online.rules', True, 'impossible')
OBSOLETE = dict(entry('/usr/lib/udev/rules.d/40-redhat.rules', False, 'obsolete'), rules=[])

# (id, udev_rules, state, override allowed, check mode, overrides written, removed, problem texts, summary lines)
DECISIONS = [
    ('RHEL: written', [RHEL], 'present', True, False, [RHEL['path']], [], [],
     ['/usr/lib/udev/rules.d/40-redhat.rules line 25 onlines hot-added memory (writes ATTR{state}="online" or '
      '"online_movable", on every host): now kept from memory by /etc/udev/rules.d/40-redhat.rules, a copy of it '
      'whose rule skips memory blocks (every other line kept)']),
    ('RHEL in check mode: would be', [RHEL], 'present', True, True, [RHEL['path']], [], [],
     ['/usr/lib/udev/rules.d/40-redhat.rules line 25 onlines hot-added memory (writes ATTR{state}="online" or '
      '"online_movable", on every host): would be kept from memory by /etc/udev/rules.d/40-redhat.rules, a copy of '
      'it whose rule skips memory blocks (every other line kept)']),
    ('RHEL, override not allowed: refused', [RHEL], 'present', False, False, [], [],
     ['/usr/lib/udev/rules.d/40-redhat.rules line 25 (ATTR{state}=="offline", ATTR{state}="$env{.state}") onlines '
      'hot-added memory as soon as it appears (on every host), in its own zone, so daxctl cannot choose '
      'ZONE_MOVABLE. udev_override=false'], []),
    ('Ubuntu off Hyper-V/Xen: left alone', [UBUNTU], 'present', False, False, [], [], [],
     ['/usr/lib/udev/rules.d/40-vm-hotadd.rules line 25 onlines hot-added memory (writes ATTR{state}="online" '
      'or "online_movable", when ATTR{[dmi/id]sys_vendor}=="Xen"): not on this host, left alone']),
    ('SUSE undecided here and stale: written again', [SUSE], 'present', True, False, [SUSE['path']], [], [], None),
    ('already current', [DONE], 'present', False, False, [], [], [],
     ['/usr/lib/udev/rules.d/40-redhat-hotplug.rules line 25 onlines hot-added memory (writes '
      'ATTR{state}="online" or "online_movable", on every host): kept from memory by '
      '/etc/udev/rules.d/40-redhat-hotplug.rules (written earlier)']),
    ('the administrator\'s own: refused', [OWN], 'present', True, False, [], [],
     ['/etc/udev/rules.d/99-online.rules line 25 (ATTR{state}=="offline", ATTR{state}="$env{.state}") onlines '
      'hot-added memory as soon as it appears, in its own zone', 'which pmem.dax does not rewrite'], []),
    ('absent: nothing to do', [RHEL, OWN, OBSOLETE], 'absent', True, False, [], [], [], []),
    ('an obsolete override: removed', [OBSOLETE], 'present', True, False, [], [OBSOLETE['path']], [],
     ['/etc/udev/rules.d/40-redhat.rules, written by pmem.dax from /usr/lib/udev/rules.d/40-redhat.rules, is not'
      ' needed any more (that file is gone or onlines no memory now): removed']),
    ('an obsolete override, override not allowed: kept', [OBSOLETE], 'present', False, False, [], [], [], []),
]


@pytest.mark.parametrize('rules, state, allowed, check, written, removed, problems, summary',
                         [case[1:] for case in DECISIONS], ids=[case[0] for case in DECISIONS])
def test_udev_decision(rules, state, allowed, check, written, removed, problems, summary):
    decision = udev_decision(rules, state, allowed, check)
    assert [item['path'] for item in decision['write']] == written
    assert [item['path'] for item in decision['remove']] == removed
    text = ' '.join(decision['problems'])
    for wanted in problems:
        assert wanted in text
    assert bool(decision['problems']) == bool(problems)
    if summary is not None:
        assert decision['lines'] == summary
