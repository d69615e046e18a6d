# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's per-family parts, rendered without a host: the cxl command's package, the interpreter of the
boot-time unit, and what preflight decides about udev rules that online hot-added memory (tasks/preflight.yml)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible.module_utils.facts.system.distribution import Distribution
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template
    def trust_as_template(value):
        return value

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'pmem_system_ram')


def load(relpath):
    with open(os.path.join(ROLE, relpath)) as handle:
        return yaml.safe_load(handle)


def render(expression, variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def find_task(tasks, name):
    for task in tasks:
        if task.get('name') == name:
            return task
        for inner in task.get('block') or []:
            if inner.get('name') == name:
                return inner
    raise AssertionError('no task %r' % name)


# (distribution fact, the package of the cxl command)
CXL = [('Debian', ['cxl']), ('Ubuntu', ['cxl']), ('RedHat', ['cxl-cli']), ('Fedora', ['cxl-cli']),
       ('Rocky', ['cxl-cli']), ('SLES', ['ndctl']), ('openSUSE Leap', ['ndctl']), ('Unknown-Distro', ['cxl'])]


@pytest.mark.parametrize('distribution, packages', CXL, ids=[case[0] for case in CXL])
def test_cxl_package_per_distribution(distribution, packages):
    variables = dict(load('vars/main.yml'))
    variables['ansible_facts'] = {'os_family': Distribution.OS_FAMILY.get(distribution) or distribution}
    task = find_task(load('tasks/main.yml'), 'Install the package of the cxl command')
    assert list(render(task['ansible.builtin.package']['name'], variables)) == packages


_LOADER = []


def plugin_loader_ready():
    if not _LOADER:
        init_plugin_loader()
        _LOADER.append(True)


# (id, variables, interpreter of the unit)
PYTHON = [
    ('the inventory names it', {'ansible_python_interpreter': '/usr/bin/python3.11',
                                'ansible_facts': {'discovered_interpreter_python': '/usr/bin/python3'}},
     '/usr/bin/python3.11'),
    ('discovery found it (SLES 15 with python311)', {'ansible_facts': {'discovered_interpreter_python':
                                                                       '/usr/bin/python3.11'}}, '/usr/bin/python3.11'),
    ('gathered facts', {'ansible_facts': {'python': {'executable': '/usr/libexec/platform-python'}}},
     '/usr/libexec/platform-python'),
    ('not a path is skipped', {'ansible_python_interpreter': 'auto_silent',
                               'ansible_facts': {'discovered_interpreter_python': '/usr/bin/python3.12'}},
     '/usr/bin/python3.12'),
    ('nothing known', {'ansible_facts': {}}, '/usr/bin/python3'),
]


@pytest.mark.parametrize('variables, python', [case[1:] for case in PYTHON], ids=[case[0] for case in PYTHON])
def test_boot_unit_interpreter(variables, python):
    plugin_loader_ready()  # the expression asks the config lookup for ansible.cfg's interpreter_python
    expression = load('vars/main.yml')['__pmem_system_ram_python']
    assert render(expression, variables).strip() == python
    with open(os.path.join(ROLE, 'templates', 'pmem-dax-system-ram.service.j2')) as handle:
        assert 'ExecStart={{ __pmem_system_ram_python }} ' in handle.read()


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

# (id, udev_rules, state, check mode, overrides to write, own rules, summary lines)
DECISIONS = [
    ('RHEL: written', [RHEL], 'present', False, [RHEL['path']], [],
     ['udev: /usr/lib/udev/rules.d/40-redhat.rules line 25 onlines hot-added memory (writes ATTR{state}="online" or '
      '"online_movable", on every host): now kept from memory by /etc/udev/rules.d/40-redhat.rules, a copy of it '
      'whose rule skips memory blocks (every other line kept)']),
    ('RHEL in check mode: would be', [RHEL], 'present', True, [RHEL['path']], [],
     ['udev: /usr/lib/udev/rules.d/40-redhat.rules line 25 onlines hot-added memory (writes ATTR{state}="online" or '
      '"online_movable", on every host): would be kept from memory by /etc/udev/rules.d/40-redhat.rules, a copy of '
      'it whose rule skips memory blocks (every other line kept)']),
    ('Ubuntu off Hyper-V/Xen: left alone', [UBUNTU], 'present', False, [], [],
     ['udev: /usr/lib/udev/rules.d/40-vm-hotadd.rules line 25 onlines hot-added memory (writes ATTR{state}="online" '
      'or "online_movable", when ATTR{[dmi/id]sys_vendor}=="Xen"): not on this host, left alone']),
    ('SUSE undecided here and stale: written again', [SUSE], 'present', False, [SUSE['path']], [], None),
    ('already current', [DONE], 'present', False, [], [],
     ['udev: /usr/lib/udev/rules.d/40-redhat-hotplug.rules line 25 onlines hot-added memory (writes '
      'ATTR{state}="online" or "online_movable", on every host): kept from memory by '
      '/etc/udev/rules.d/40-redhat-hotplug.rules (written earlier)']),
    ('the administrator\'s own', [OWN], 'present', False, [], [OWN['path']], []),
    ('absent: nothing to do', [RHEL, OWN], 'absent', False, [], [], []),
    ('an obsolete override: removed', [dict(entry('/usr/lib/udev/rules.d/40-redhat.rules', False, 'obsolete'),
                                            rules=[])], 'present', False, [], [],
     ['udev: /etc/udev/rules.d/40-redhat.rules, written by pmem.dax from /usr/lib/udev/rules.d/40-redhat.rules, is not'
      ' needed any more (that file is gone or onlines no memory now): removed']),
]


@pytest.mark.parametrize('rules, state, check, write, own, summary', [case[1:] for case in DECISIONS],
                         ids=[case[0] for case in DECISIONS])
def test_udev_decision(rules, state, check, write, own, summary):
    task = find_task(load('tasks/preflight.yml'), 'Decide what to do about udev rules that online hot-added memory')
    variables = {'__pmem_system_ram_info_before': {'host': {'udev_rules': rules}}, 'pmem_system_ram_state': state,
                 'pmem_system_ram_udev_override': True, '__pmem_system_ram_check_mode': check}
    variables['__rules'] = render(task['vars']['__rules'], variables)
    variables['__lines_json'] = render(task['vars']['__lines_json'], variables)
    facts = task['ansible.builtin.set_fact']
    assert [item['path'] for item in render(facts['__pmem_system_ram_udev_overrides'], variables)] == write
    assert [item['path'] for item in render(facts['__pmem_system_ram_udev_own'], variables)] == own
    obsolete = [item['path'] for item in rules if item['override']['state'] == 'obsolete' and state == 'present']
    assert [item['path'] for item in render(facts['__pmem_system_ram_udev_obsolete'], variables)] == obsolete
    if summary is not None:
        assert list(render(facts['__pmem_system_ram_udev_summary'], variables)) == summary
    assert json.loads(variables['__lines_json']) is not None


HEALTHY = {
    '__pmem_system_ram_info_before': {
        'versions': {'kernel': '5.14.0-503.el9.x86_64'},
        'cxl': {'available': False},
        'host': {'cxl_path': None, 'udev_rules': [],
                 'features': {'memory_hotplug': True, 'auto_online_blocks': True, 'dax_bus': True, 'cxl_bus': True,
                              'kmem': True}}},
    '__pmem_system_ram_udev_own': [], '__pmem_system_ram_udev_overrides': [], 'pmem_system_ram_udev_override': False,
    'ansible_facts': {'os_family': 'RedHat'}, 'pmem_system_ram_state': 'present'}

# (task of preflight.yml, changes to the healthy host, text the message must have)
MESSAGES = [
    ('Check that the kernel can hot-plug a dax device as system RAM (kmem driver, auto-online policy)', {},
     'This kernel cannot hot-plug'),
    ('Check that the kernel can hot-plug a dax device as system RAM (kmem driver, auto-online policy)',
     {'features': {'kmem': False, 'auto_online_blocks': True}}, 'no kmem driver'),
    ('Check that the cxl command and a CXL bus are there for the CXL regions', {},
     'the cxl command is not installed: install the package that has it (cxl-cli;'),
    ('Check that the cxl command and a CXL bus are there for the CXL regions',
     {'cxl_path': '/usr/bin/cxl', 'features': {'cxl_bus': False}}, 'this kernel has no CXL bus'),
    ('Check that no rule of the administrator\'s own onlines hot-added memory', {}, 'which pmem.dax does not'),
    ('Check that udev rules that online hot-added memory may be overridden', {}, 'pmem_system_ram_udev_override=false'),
]


@pytest.mark.parametrize('name, host, text', MESSAGES, ids=['%d' % number for number in range(len(MESSAGES))])
def test_preflight_messages_are_never_empty(name, host, text):
    """ansible-core 2.19 turns a message that renders empty into None, and assert then fails on its own argument."""
    task = find_task(load('tasks/preflight.yml'), name)
    variables = dict(load('vars/main.yml'), **json.loads(json.dumps(HEALTHY)))
    variables['__pmem_system_ram_info_before']['host'].update(host)
    variables.update((key, render(value, variables)) for key, value in (task.get('vars') or {}).items()
                     if key in ('__features', '__host', '__package'))
    if '__reason' in (task.get('vars') or {}):
        variables['__reason'] = render(task['vars']['__reason'], variables)
    message = render(task['ansible.builtin.assert']['fail_msg'], variables)
    assert isinstance(message, str) and text in message
