# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_udev: does a rules file online a hot-added memory block, under which condition, and the override that stops it.

Table-driven. DISTRIBUTIONS runs the distributions' own files (tests/unit/fixtures/udev/, each citing its source in
its header) on three hosts; SYNTHETIC covers one udev rule of evaluation each.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _udev

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'udev')

# What a host may tell: nothing (the file alone), an x86_64 server (QEMU's DMI strings, as on the test bed),
# a Hyper-V guest, an s390x machine.
ALONE = {}
SERVER = {'const': {'arch': 'x86-64', 'machine': 'x86_64', 'virt': 'none'},
          'attr': {'[dmi/id]sys_vendor': 'QEMU', '[dmi/id]product_name': 'Standard PC (Q35 + ICH9, 2009)'}}
HYPERV = {'const': {'arch': 'x86-64', 'machine': 'x86_64', 'virt': 'microsoft'},
          'attr': {'[dmi/id]sys_vendor': 'Microsoft Corporation', '[dmi/id]product_name': 'Virtual Machine'}}
S390 = {'const': {'arch': 's390x', 'machine': 's390x', 'virt': 'zvm'}, 'attr': {}}

RHEL_ARCH = 'CONST{arch}!="ppc64*" and CONST{arch}!="s390*"'
UBUNTU_DMI = ('(ATTR{[dmi/id]product_name}=="Virtual Machine" and ATTR{[dmi/id]sys_vendor}=="Microsoft Corporation")'
              ' or ATTR{[dmi/id]sys_vendor}=="Xen"')
BOTH = ['online', 'online_movable']

# (file, host facts, expected findings as (line, values, condition)); a line counts the fixture's header.
DISTRIBUTIONS = [
    ('rhel8-40-redhat.rules', ALONE, [(17, BOTH, RHEL_ARCH)]),
    ('rhel8-40-redhat.rules', SERVER, [(17, ['online_movable'], None)]),
    ('rhel8-40-redhat.rules', HYPERV, [(17, ['online'], None)]),
    ('rhel8-40-redhat.rules', S390, []),
    ('rhel8.1-40-redhat.rules', ALONE,
     [(17, BOTH, 'RESULT{/bin/uname -p}!="ppc64*" and RESULT{/bin/uname -p}!="s390*"')]),
    ('rhel8.1-40-redhat.rules', SERVER, [(17, ['online_movable'], None)]),
    ('rhel8.1-40-redhat.rules', S390, []),
    ('rhel9-40-redhat.rules', ALONE, [(25, BOTH, RHEL_ARCH)]),
    ('rhel9-40-redhat.rules', SERVER, [(25, ['online_movable'], None)]),
    ('rhel9-40-redhat.rules', S390, []),
    ('rhel10-40-redhat-hotplug.rules', ALONE, [(25, BOTH, RHEL_ARCH)]),
    ('rhel10-40-redhat-hotplug.rules', HYPERV, [(25, ['online'], None)]),
    ('rhel10-40-redhat.rules', ALONE, []),
    ('fedora-70-memory.rules', ALONE, []),
    ('fedora-90-daxctl-device.rules', ALONE, []),
    ('debian12-90-daxctl-device.rules', ALONE, []),
    ('ubuntu2204-40-vm-hotadd.rules', ALONE, [(13, ['online'], UBUNTU_DMI)]),
    ('ubuntu2204-40-vm-hotadd.rules', SERVER, []),
    ('ubuntu2204-40-vm-hotadd.rules', HYPERV, [(13, ['online'], None)]),
    ('ubuntu2204-40-vm-hotadd.rules', {'attr': {'[dmi/id]sys_vendor': 'Xen'}}, [(13, ['online'], None)]),
    # a Microsoft machine that is not a VM: the first GOTO needs both strings
    ('ubuntu2204-40-vm-hotadd.rules',
     {'attr': {'[dmi/id]sys_vendor': 'Microsoft Corporation', '[dmi/id]product_name': 'Surface Pro'}}, []),
    ('ubuntu2404-40-vm-hotadd.rules', ALONE, [(12, ['online'], UBUNTU_DMI)]),
    ('ubuntu2404-40-vm-hotadd.rules', SERVER, []),
    ('sles15-80-hotplug-cpu-mem.rules', ALONE, [(27, ['online'], 'CONST{arch}!="s390x"')]),
    ('sles15-80-hotplug-cpu-mem.rules', SERVER, [(27, ['online'], None)]),
    ('sles15-80-hotplug-cpu-mem.rules', S390, []),
]


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def verdict(findings):
    return [(finding['line'], finding['values'], finding['condition']) for finding in findings]


@pytest.mark.parametrize('name, facts, expected', DISTRIBUTIONS,
                         ids=['%s-%d' % (case[0], number) for number, case in enumerate(DISTRIBUTIONS)])
def test_distribution_files(name, facts, expected):
    assert verdict(_udev.evaluate(fixture(name), facts)) == expected


MEMORY_FILES = sorted(set(case[0] for case in DISTRIBUTIONS if case[2]))


@pytest.mark.parametrize('name', MEMORY_FILES)
def test_override_skips_memory_and_keeps_every_other_line(name):
    text = fixture(name)
    findings = _udev.evaluate(text)
    source = '/usr/lib/udev/rules.d/' + name.split('-', 1)[1]
    override = _udev.memory_override(text, findings, source)
    # nothing onlines memory any more, on any host
    for facts in (ALONE, SERVER, HYPERV):
        assert _udev.evaluate(override, facts) == []
    assert _udev.override_source(override) == source
    # every rule that is not a finding is there unchanged, in the same order (CPU hot-add included)
    lines = [finding['line'] for finding in findings]
    kept = [rule.text for rule in _udev.parse_rules(text) if rule.line not in lines]
    guarded = ['SUBSYSTEM!="memory", ' + finding['text'] for finding in findings]
    assert [rule.text for rule in _udev.parse_rules(override) if rule.text not in guarded] == kept
    # the same override again from the same text: byte for byte (the role compares it with the file)
    assert _udev.memory_override(text, findings, source) == override


def test_cpu_rules_stay_in_the_override():
    override = _udev.memory_override(fixture('sles15-80-hotplug-cpu-mem.rules'),
                                     _udev.evaluate(fixture('sles15-80-hotplug-cpu-mem.rules')),
                                     '/usr/lib/udev/rules.d/80-hotplug-cpu-mem.rules')
    cpu = '\nSUBSYSTEM=="cpu", CONST{arch}=="x86-64", TEST=="online", ATTR{online}=="0", ATTR{online}="1"\n'
    assert cpu in override
    memory = '\n# SUBSYSTEM=="memory", CONST{arch}!="s390x", ATTR{state}=="offline", ATTR{state}="online", \\\n'
    assert memory in override
    rhel = _udev.memory_override(fixture('rhel9-40-redhat.rules'), _udev.evaluate(fixture('rhel9-40-redhat.rules')),
                                 '/usr/lib/udev/rules.d/40-redhat.rules')
    assert '\nTEST=="online", ATTR{online}=="0", ATTR{online}="1"\n' in rhel
    assert '\nSUBSYSTEM!="memory", ATTR{state}=="offline", ATTR{state}="$env{.state}"\n' in rhel


def test_suggestion_has_no_override_mark():
    text = 'SUBSYSTEM=="memory", ATTR{state}="online"\n'
    suggestion = _udev.memory_override(text, _udev.evaluate(text), '/etc/udev/rules.d/99-x.rules', suggestion=True)
    assert _udev.override_source(suggestion) is None
    assert _udev.evaluate(suggestion) == []


# (id, rules text, facts, expected verdict) - one rule of udev's evaluation each
SYNTHETIC = [
    ('plain online rule', 'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}="online"\n', ALONE,
     [(1, ['online'], None)]),
    ('other subsystem', 'SUBSYSTEM=="cpu", ATTR{online}="1"\n', ALONE, []),
    ('remove events only', 'SUBSYSTEM=="memory", ACTION=="remove", ATTR{state}="online"\n', ALONE, []),
    ('alternatives with |', 'SUBSYSTEM=="cpu|memory", ATTR{state}="online_movable"\n', ALONE,
     [(1, ['online_movable'], None)]),
    ('!= with alternatives', 'SUBSYSTEM!="cpu|memory", ATTR{state}="online"\n', ALONE, []),
    ('kernel glob', 'KERNEL=="memory[0-9]*", ATTR{state}="online_kernel"\n', ALONE, [(1, ['online_kernel'], None)]),
    ('state already online is not matched', 'SUBSYSTEM=="memory", ATTR{state}=="online", ATTR{state}="online"\n',
     ALONE, []),
    ('writing 1 to online', 'SUBSYSTEM=="memory", ATTR{online}="1"\n', ALONE, [(1, ['online'], None)]),
    ('writing offline is harmless', 'SUBSYSTEM=="memory", ATTR{state}="offline"\n', ALONE, []),
    ('GOTO jumps over the rule', 'SUBSYSTEM=="memory", GOTO="end"\nATTR{state}="online"\nLABEL="end"\n', ALONE, []),
    ('GOTO for others only', 'SUBSYSTEM!="memory", GOTO="end"\nATTR{state}="online"\nLABEL="end"\n', ALONE,
     [(2, ['online'], None)]),
    ('GOTO without its LABEL is ignored', 'GOTO="nowhere"\nSUBSYSTEM=="memory", ATTR{state}="online"\n', ALONE,
     [(2, ['online'], None)]),
    ('a LABEL above the GOTO is not a target',
     'LABEL="up"\nSUBSYSTEM=="memory", GOTO="up"\nATTR{state}="online"\n', ALONE, [(3, ['online'], None)]),
    ('last_rule stops the file', 'SUBSYSTEM=="memory", OPTIONS+="last_rule"\nATTR{state}="online"\n', ALONE, []),
    ('DMI condition, unknown', 'ATTR{[dmi/id]sys_vendor}!="Xen", GOTO="end"\nATTR{state}="online"\nLABEL="end"\n',
     ALONE, [(2, ['online'], 'ATTR{[dmi/id]sys_vendor}=="Xen"')]),
    ('DMI condition, known false', 'ATTR{[dmi/id]sys_vendor}!="Xen", GOTO="end"\nATTR{state}="online"\nLABEL="end"\n',
     SERVER, []),
    ('two unknown matches on one rule', 'CONST{virt}=="kvm", ATTR{[dmi/id]bios_vendor}=="SeaBIOS", ATTR{state}="online"\n',
     ALONE, [(1, ['online'], 'ATTR{[dmi/id]bios_vendor}=="SeaBIOS" and CONST{virt}=="kvm"')]),
    ('value through ENV', 'ENV{.s}="online_movable"\nSUBSYSTEM=="memory", ATTR{state}="$env{.s}"\n', ALONE,
     [(2, ['online_movable'], None)]),
    ('value through %E', 'ENV{.s}="online"\nSUBSYSTEM=="memory", ATTR{state}="%E{.s}"\n', ALONE,
     [(2, ['online'], None)]),
    ('value from an ENV set elsewhere', 'SUBSYSTEM=="memory", ATTR{state}="$env{MEMORY_STATE}"\n', ALONE,
     [(1, ['?'], None)]),
    ('ENV match set in the file', 'ENV{.go}="1"\nENV{.go}=="1", ATTR{state}="online"\n', ALONE,
     [(2, ['online'], None)]),
    ('ENV match set outside the file', 'ENV{ID_FOO}=="1", ATTR{state}="online"\n', ALONE,
     [(1, ['online'], 'ENV{ID_FOO}=="1"')]),
    ('no device node on a memory block', 'ENV{DEVNAME}=="?*", ATTR{state}="online"\n', ALONE, []),
    ('IMPORT makes ENV unknown', 'IMPORT{program}="x"\nENV{DEVTYPE}=="", ATTR{state}="online"\n', ALONE,
     [(2, ['online'], 'ENV{DEVTYPE}==""')]),
    ('TAG set on the way', 'SUBSYSTEM=="memory", TAG+="m"\nTAG=="m", ATTR{state}="online"\n', ALONE,
     [(2, ['online'], None)]),
    ('TEST of a block attribute', 'TEST=="state", ATTR{state}="online"\n', ALONE, [(1, ['online'], None)]),
    ('TEST of a module', 'TEST=="[module/x]", ATTR{state}="online"\n', ALONE,
     [(1, ['online'], 'TEST=="[module/x]"')]),
    ('parent keys on one device', 'SUBSYSTEMS=="memory", KERNELS=="memory*", ATTR{state}="online"\n', ALONE,
     [(1, ['online'], None)]),
    ('parent keys of a disk', 'SUBSYSTEMS=="scsi", ATTR{state}="online"\n', ALONE, []),
    ('PROGRAM with known output', 'PROGRAM="/usr/bin/uname -m", RESULT=="x86_64", ATTR{state}="online"\n', SERVER,
     [(1, ['online'], None)]),
    ('PROGRAM with unknown success', 'PROGRAM=="/usr/bin/is-vm", ATTR{state}="online"\n', SERVER,
     [(1, ['online'], 'PROGRAM=="/usr/bin/is-vm"')]),
    ('RUN chmem', 'SUBSYSTEM=="memory", ACTION=="add", RUN+="/usr/sbin/chmem -e -b %n"\n', ALONE,
     [(1, ['program'], None)]),
    ('RUN echo online into state', 'SUBSYSTEM=="memory", RUN+="/bin/sh -c \'echo online > /sys$devpath/state\'"\n',
     ALONE, [(1, ['program'], None)]),
    ('RUN of something else', 'SUBSYSTEM=="memory", RUN+="/usr/lib/udev/remount-tmpfs"\n', ALONE, []),
    ('continuation with a comment inside',
     'SUBSYSTEM=="memory", \\\n# a comment\n  ACTION=="add", \\\n  ATTR{state}="online"\n', ALONE,
     [(1, ['online'], None)]),
    ('commented out', '# SUBSYSTEM=="memory", ATTR{state}="online"\n', ALONE, []),
    ('both ways of an unknown match', 'ENV{.s}="online"\nCONST{virt}=="none", ENV{.s}="online_movable"\n'
     'ATTR{state}="$env{.s}"\n', ALONE, [(3, BOTH, None)]),
]


@pytest.mark.parametrize('text, facts, expected', [case[1:] for case in SYNTHETIC], ids=[case[0] for case in SYNTHETIC])
def test_evaluation(text, facts, expected):
    assert verdict(_udev.evaluate(text, facts)) == expected


def test_parse_keeps_physical_lines():
    rules = _udev.parse_rules('# c\nA=="1", \\\n  B="2"\n\nLABEL="x"\n')
    assert [(rule.line, rule.end_line, rule.keys) for rule in rules] == [
        (2, 3, [('A', None, '==', '1'), ('B', None, '=', '2')]), (5, 5, [('LABEL', None, '=', 'x')])]


def test_too_many_ways_reports_every_rule_that_could_online():
    text = ''.join('CONST{x%d}=="1", ENV{.v%d}="1"\n' % (number, number) for number in range(20))
    text += 'SUBSYSTEM=="memory", ATTR{state}="online"\nSUBSYSTEM=="cpu", ATTR{online}="1"\n'
    text += 'ENV{.v3}=="1", ATTR{state}="$env{.v4}"\n'
    undecided = 'ways through the file=="more than 256: not decided"'
    assert verdict(_udev.evaluate(text)) == [(21, ['online'], undecided), (23, ['?'], undecided)]


@pytest.mark.parametrize('machine, arch', [('x86_64', 'x86-64'), ('aarch64', 'arm64'), ('ppc64le', 'ppc64-le'),
                                           ('s390x', 's390x'), ('i686', 'x86'), ('riscv64', 'riscv64')])
def test_host_arch_facts_name_the_architecture_as_udev_does(machine, arch):
    """CONST{arch} compares systemd's names; uname -m (a PROGRAM) prints the kernel's."""
    facts = {'const': _udev.host_arch_facts(machine + '\n'), 'attr': {}}
    assert facts['const'] == {'arch': arch, 'machine': machine}
    rule = 'SUBSYSTEM=="memory", CONST{arch}=="%s", ATTR{state}="online"\n' % arch
    assert [finding['condition'] for finding in _udev.evaluate(rule, facts)] == [None]
    program = 'SUBSYSTEM=="memory", PROGRAM="/bin/uname -m", RESULT=="%s", ATTR{state}="online"\n' % machine
    assert [finding['condition'] for finding in _udev.evaluate(program, facts)] == [None]


def test_host_arch_facts_unknown():
    assert _udev.host_arch_facts('') == {} and _udev.host_arch_facts(None) == {}


# Rules of the kind most of a host's files hold (device names, permissions, programs that online nothing).
ORDINARY = ('SUBSYSTEM=="block", KERNEL=="sd*", ENV{ID_SERIAL}!="", SYMLINK+="disk/by-id/$env{ID_SERIAL}"\n'
            'KERNEL=="kvm", GROUP="kvm", MODE="0666"\n'
            'SUBSYSTEM=="memory", ACTION=="add", RUN+="/usr/bin/logger memory block $kernel"\n')


def test_a_file_that_assigns_no_state_is_not_walked(monkeypatch):
    assert not _udev.may_online(ORDINARY)
    monkeypatch.setattr(_udev, 'parse_rules', lambda text: pytest.fail('parsed a file that cannot online memory'))
    assert _udev.evaluate(ORDINARY, SERVER) == []


@pytest.mark.parametrize('rule', [
    'SUBSYSTEM=="memory", ATTR{state}="online"\n',
    'ATTR{ online }=="0", ATTR{ online }="1"\n',
    'SUBSYSTEM=="memory", RUN+="/bin/sh -c \'echo online_movable \\\n  > /sys$devpath/state\'"\n',
    'SUBSYSTEM=="memory", RUN+="/usr/sbin/chmem -e 1G"\n',
])
def test_any_way_of_onlining_is_walked(rule):
    assert _udev.may_online(ORDINARY + rule)


@pytest.mark.parametrize('name', sorted(os.listdir(FIXTURES)))
def test_the_distribution_files_read_the_same_without_the_shortcut(name, monkeypatch):
    with open(os.path.join(FIXTURES, name)) as handle:
        text = handle.read()
    found = _udev.evaluate(text, SERVER)
    monkeypatch.setattr(_udev, 'may_online', lambda text: True)
    assert _udev.evaluate(text, SERVER) == found
