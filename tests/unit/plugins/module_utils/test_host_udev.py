# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_host: the udev rules of a host as udev picks them (with its DMI strings and architecture), the state of the
override the role writes, and the kernel features read from sysfs. Fake trees; the rules files are the
distributions' own (tests/unit/fixtures/udev/)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _host, _udev
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'udev')
USR = 'usr/lib/udev/rules.d/'
ETC = 'etc/udev/rules.d/'
QEMU = {'sys/class/dmi/id/sys_vendor': 'QEMU\n', 'sys/class/dmi/id/product_name': 'Standard PC (Q35 + ICH9, 2009)\n'}
HYPERV = {'sys/class/dmi/id/sys_vendor': 'Microsoft Corporation\n', 'sys/class/dmi/id/product_name': 'Virtual Machine\n'}
X86 = {'proc/sys/kernel/arch': 'x86_64\n'}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def build(root, files, links=None):
    for path, content in files.items():
        full = os.path.join(root, path)
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        if content is None:
            os.makedirs(full)
            continue
        with open(full, 'w') as handle:
            handle.write(content)
    for path, target in (links or {}).items():
        full = os.path.join(root, path)
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        os.symlink(target, full)
    return Sysfs(root=root)


def override_of(name, source):
    text = fixture(name)
    return _udev.memory_override(text, _udev.evaluate(text), source)


RHEL = fixture('rhel9-40-redhat.rules')
RHEL_OVERRIDE = override_of('rhel9-40-redhat.rules', '/usr/lib/udev/rules.d/40-redhat.rules')
UBUNTU = fixture('ubuntu2204-40-vm-hotadd.rules')

# (id, files, links, expected [(path, applies, override state)], expected online_udev_rules)
CASES = [
    ('RHEL, no override yet: written by the role',
     dict(X86, **{USR + '40-redhat.rules': RHEL}), None,
     [('/usr/lib/udev/rules.d/40-redhat.rules', True, 'missing')], ['/usr/lib/udev/rules.d/40-redhat.rules']),
    ('RHEL with the override in /etc: current, nothing onlines memory',
     dict(X86, **{USR + '40-redhat.rules': RHEL, ETC + '40-redhat.rules': RHEL_OVERRIDE}), None,
     [('/usr/lib/udev/rules.d/40-redhat.rules', True, 'current')], []),
    ('RHEL updated since the override: stale, written again',
     dict(X86, **{USR + '40-redhat.rules': RHEL + 'KERNEL=="new", MODE="0600"\n', ETC + '40-redhat.rules': RHEL_OVERRIDE}),
     None, [('/usr/lib/udev/rules.d/40-redhat.rules', True, 'stale')], []),
    ('RHEL on a host whose arch cannot be told: may online, counts',
     {USR + '40-redhat.rules': RHEL}, None,
     [('/usr/lib/udev/rules.d/40-redhat.rules', None, 'missing')], ['/usr/lib/udev/rules.d/40-redhat.rules']),
    ('RHEL on s390x: not here',
     {'proc/sys/kernel/arch': 's390x\n', USR + '40-redhat.rules': RHEL}, None,
     [('/usr/lib/udev/rules.d/40-redhat.rules', False, 'missing')], []),
    ('Ubuntu on a QEMU server: the Hyper-V/Xen rule does not apply, left alone',
     dict(QEMU, **{'lib/udev/rules.d/40-vm-hotadd.rules': UBUNTU}), None,
     [('/lib/udev/rules.d/40-vm-hotadd.rules', False, 'missing')], []),
    ('Ubuntu on Hyper-V: applies',
     dict(HYPERV, **{'lib/udev/rules.d/40-vm-hotadd.rules': UBUNTU}), None,
     [('/lib/udev/rules.d/40-vm-hotadd.rules', True, 'missing')], ['/lib/udev/rules.d/40-vm-hotadd.rules']),
    ('merged /usr: the same file twice, reported once under /usr/lib',
     dict(X86, **{USR + '40-redhat.rules': RHEL, 'lib/udev/rules.d/40-redhat.rules': RHEL}), None,
     [('/usr/lib/udev/rules.d/40-redhat.rules', True, 'missing')], ['/usr/lib/udev/rules.d/40-redhat.rules']),
    ('masked by a link to /dev/null',
     dict(X86, **{USR + '40-redhat.rules': RHEL}), {ETC + '40-redhat.rules': '/dev/null'}, [], []),
    ('the administrator\'s own rule in /etc: no override possible',
     {ETC + '99-online.rules': 'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}="online"\n'}, None,
     [('/etc/udev/rules.d/99-online.rules', True, 'impossible')], ['/etc/udev/rules.d/99-online.rules']),
    ('an override whose source is gone: obsolete, removed',
     {ETC + '40-redhat.rules': RHEL_OVERRIDE}, None,
     [('/usr/lib/udev/rules.d/40-redhat.rules', False, 'obsolete')], []),
    ('an override whose source onlines no memory any more: obsolete, removed',
     {USR + '40-redhat.rules': fixture('rhel10-40-redhat.rules'), ETC + '40-redhat.rules': RHEL_OVERRIDE}, None,
     [('/usr/lib/udev/rules.d/40-redhat.rules', False, 'obsolete')], []),
    ('SUSE and the daxctl rule: only SUSE\'s file',
     dict(X86, **{USR + '80-hotplug-cpu-mem.rules': fixture('sles15-80-hotplug-cpu-mem.rules'),
                  USR + '90-daxctl-device.rules': fixture('fedora-90-daxctl-device.rules')}), None,
     [('/usr/lib/udev/rules.d/80-hotplug-cpu-mem.rules', True, 'missing')],
     ['/usr/lib/udev/rules.d/80-hotplug-cpu-mem.rules']),
]


@pytest.mark.parametrize('files, links, expected, online', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_udev_rules(tmp_path, files, links, expected, online):
    sysfs = build(str(tmp_path), files, links)
    entries = _host.udev_rules(sysfs)
    assert [(entry['path'], entry['applies'], entry['override']['state']) for entry in entries] == expected
    assert _host.online_udev_rules(sysfs) == online
    for entry in entries:
        assert entry['override']['path'] == '/etc/udev/rules.d/' + os.path.basename(entry['path'])


def test_the_override_written_is_current_on_the_next_read(tmp_path):
    sysfs = build(str(tmp_path), dict(X86, **{USR + '40-redhat.rules': RHEL}))
    entry = _host.udev_rules(sysfs)[0]
    build(str(tmp_path), {ETC + '40-redhat.rules': entry['override']['content']})
    again = _host.udev_rules(sysfs)[0]
    assert again['override']['state'] == 'current'
    assert again['effective'] == '/etc/udev/rules.d/40-redhat.rules'
    assert again['rules'] == entry['rules']
    assert _host.online_udev_rules(sysfs) == []


def test_rules_say_where_and_when(tmp_path):
    sysfs = build(str(tmp_path), dict(QEMU, **{USR + '40-vm-hotadd.rules': UBUNTU}))
    assert _host.udev_rules(sysfs)[0]['rules'] == [{
        'line': 13, 'applies': False,
        'text': 'SUBSYSTEM=="memory", ACTION=="add", DEVPATH=="/devices/system/memory/memory[0-9]*", TEST=="state", '
                'ATTR{state}!="online", ATTR{state}="online"',
        'does': 'writes ATTR{state}="online"',
        'condition': '(ATTR{[dmi/id]product_name}=="Virtual Machine" and ATTR{[dmi/id]sys_vendor}=="Microsoft '
                     'Corporation") or ATTR{[dmi/id]sys_vendor}=="Xen"'}]


RELEASE = {'proc/sys/kernel/osrelease': '6.1.0-40-amd64\n'}

# (id, files, kmem)
KMEM = [
    ('driver loaded', dict(RELEASE, **{'sys/bus/dax/drivers/kmem': None}), True),
    ('module loaded', dict(RELEASE, **{'sys/module/kmem': None}), True),
    ('installed module', dict(RELEASE, **{'lib/modules/6.1.0-40-amd64/modules.dep':
                                          'kernel/drivers/dax/device_dax.ko: kernel/drivers/dax/dax.ko\n'
                                          'kernel/drivers/dax/kmem.ko.xz: kernel/drivers/dax/dax.ko\n'}), True),
    ('built in, merged /usr', dict(RELEASE, **{'usr/lib/modules/6.1.0-40-amd64/modules.builtin':
                                               'kernel/drivers/dax/kmem.ko\n'}), True),
    ('modules listed, kmem not among them', dict(RELEASE, **{'lib/modules/6.1.0-40-amd64/modules.dep':
                                                             'kernel/drivers/dax/device_dax.ko:\n'}), False),
    ('nothing to tell', RELEASE, None),
]


@pytest.mark.parametrize('files, kmem', [case[1:] for case in KMEM], ids=[case[0] for case in KMEM])
def test_kmem(tmp_path, files, kmem):
    assert _host.kmem_available(build(str(tmp_path), files)) is kmem


def test_features(tmp_path):
    sysfs = build(str(tmp_path), dict(RELEASE, **{'sys/devices/system/memory/block_size_bytes': '8000000\n',
                                                  'sys/devices/system/memory/auto_online_blocks': 'offline\n',
                                                  'sys/bus/dax/drivers/kmem': None}))
    assert _host.host_features(sysfs) == {'memory_hotplug': True, 'auto_online_blocks': True, 'dax_bus': True,
                                          'cxl_bus': False, 'kmem': True}
    assert _host.host_features(build(str(tmp_path / 'bare'), RELEASE)) == {
        'memory_hotplug': False, 'auto_online_blocks': False, 'dax_bus': False, 'cxl_bus': False, 'kmem': None}
