# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's install step per distribution, without booting one.

Each case names a distribution as ansible's distribution facts report it; ansible's own Distribution.OS_FAMILY turns
it into ansible_facts.os_family, and the package task's name expression, taken from tasks/main.yml and
rendered with the role's vars/main.yml, must give the packages that provide ndctl and daxctl there.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest
import yaml

from ansible.module_utils.facts.system.distribution import Distribution
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template
    def trust_as_template(value):
        return value

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'pmem_system_ram')

# (distribution fact, packages the role must install). SUSE ships daxctl inside the ndctl package; Debian,
# Ubuntu and the Red Hat family ship two packages; an unknown family gets both names.
CASES = [
    ('Debian', ['ndctl', 'daxctl']),
    ('Ubuntu', ['ndctl', 'daxctl']),
    ('RedHat', ['ndctl', 'daxctl']),
    ('Fedora', ['ndctl', 'daxctl']),
    ('CentOS', ['ndctl', 'daxctl']),
    ('Rocky', ['ndctl', 'daxctl']),
    ('AlmaLinux', ['ndctl', 'daxctl']),
    ('OracleLinux', ['ndctl', 'daxctl']),
    ('SLES', ['ndctl']),
    ('openSUSE Leap', ['ndctl']),
    ('openSUSE Tumbleweed', ['ndctl']),
    ('Unknown-Distro', ['ndctl', 'daxctl']),
]


def os_family(distribution):
    # as Distribution.get_distribution_facts() does
    return Distribution.OS_FAMILY.get(distribution, None) or distribution


def load(relpath):
    with open(os.path.join(ROLE, relpath)) as handle:
        return yaml.safe_load(handle)


def install_task():
    for task in load('tasks/main.yml'):
        for inner in task.get('block') or []:
            if 'ansible.builtin.package' in inner:
                return inner['ansible.builtin.package']
    raise AssertionError('no ansible.builtin.package task in tasks/main.yml')


@pytest.mark.parametrize('distribution, packages', CASES, ids=[case[0] for case in CASES])
def test_packages_per_distribution(distribution, packages):
    variables = dict(load('vars/main.yml'))
    variables['ansible_facts'] = {'os_family': os_family(distribution)}
    templar = Templar(loader=DataLoader(), variables=variables)
    task = install_task()
    assert task['state'] == 'present'
    assert list(templar.template(trust_as_template(task['name']))) == packages


def test_every_family_in_vars_is_one_ansible_knows():
    families = set(Distribution.OS_FAMILY_MAP)
    assert set(load('vars/main.yml')['__pmem_system_ram_packages']) <= families
