# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's per-family parts, rendered without a host: the cxl command's package and the interpreter of the
boot-time unit. What the role decides about udev rules that online hot-added memory is system_ram's
(module_utils/_preflight.py, tests/unit/plugins/module_utils/test_preflight.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

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
