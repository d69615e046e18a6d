# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's boot script (files/pmem-dax-system-ram.py): the config path it is given, and the CXL half
(regions created again at boot).

A fake host answers the script's cxl/daxctl calls with what a Debian 13 guest printed (the recorded
fixtures of tests/unit/fixtures/trixie-cxl): 00-fresh before, and after a create-region the region of
10-create-movable-512m, its dax device in the zone the auto-online policy said when the region was made.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import importlib.util
import json
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = os.path.join(HERE, '..', '..', '..', 'roles', 'pmem_system_ram')
SCRIPT = os.path.join(ROLE, 'files', 'pmem-dax-system-ram.py')
FIXTURES = os.path.join(HERE, '..', 'fixtures', 'trixie-cxl')


def recorded(step, argv):
    with open(os.path.join(FIXTURES, step + '.json')) as handle:
        data = json.load(handle)
    text = next(query['stdout'] for query in data['queries'] if query['argv'] == argv)
    return json.loads(text) if text.strip() else []


class FakeHost(object):
    """memdevs and root decoders of 00-fresh; regions as created; sysfs auto_online_blocks."""

    def __init__(self, region_exists=False, create_works=True, memdevs=True):
        self.memdevs = recorded('00-fresh', ['cxl', 'list', '-M']) if memdevs else []
        self.decoders = recorded('00-fresh', ['cxl', 'list', '-D', '-d', 'root'])
        self.template = recorded('10-create-movable-512m', ['cxl', 'list', '-R', '-X', '-T'])[0]
        self.regions = []
        self.policy = 'online'
        self.create_works = create_works
        self.commands = []
        self.policies = []
        if region_exists:
            self.add_region(1073741824, movable=True, online=True)

    def add_region(self, size, movable, online):
        region = copy.deepcopy(self.template)
        region['size'] = size
        device = region['daxregion']['devices'][0]
        device.update(size=size, total_memblocks=size // 134217728, movable=movable if online else None,
                      online_memblocks=size // 134217728 if online else 0)
        self.regions.append(region)

    def device(self, chardev):
        for region in self.regions:
            for device in region['daxregion']['devices']:
                if device['chardev'] == chardev:
                    return device
        return None

    def run_json(self, argv):
        if argv == ['cxl', 'list', '-M']:
            return self.memdevs
        if argv == ['cxl', 'list', '-D', '-d', 'root']:
            return self.decoders
        if argv == ['cxl', 'list', '-R', '-X', '-T']:
            return self.regions
        if argv[:3] == ['daxctl', 'list', '-d']:
            device = self.device(argv[3])
            return [device] if device else []
        if argv == ['ndctl', 'list', '-N']:
            return []
        raise AssertionError('unexpected query %r' % (argv,))

    def run(self, argv):
        self.commands.append(argv)
        if argv[:2] == ['cxl', 'create-region']:
            if self.create_works:  # kmem onlines the new memory as the policy says
                size = int(argv[argv.index('-s') + 1])
                online = self.policy.startswith('online')
                self.add_region(size, movable=self.policy == 'online_movable', online=online)
            return 0, 'cxl region: cmd_create_region: created 1 region'  # rc 0 even when it failed
        if argv[:2] == ['daxctl', 'online-memory']:
            device = self.device(argv[-1])
            device.update(online_memblocks=device['total_memblocks'], movable='--no-movable' not in argv)
            return 0, 'onlined memory for 1 device'
        raise AssertionError('unexpected command %r' % (argv,))

    def read(self, path):
        assert path.endswith('auto_online_blocks'), path
        return self.policy

    def write(self, path, value):
        if path.endswith('auto_online_blocks'):
            self.policy = value
            self.policies.append(value)


@pytest.fixture
def boot_script(monkeypatch):
    spec = importlib.util.spec_from_file_location('pmem_dax_system_ram_boot', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module.time, 'sleep', lambda seconds: None)
    return module


def run_boot(boot_script, monkeypatch, tmp_path, host, config):
    config_path = tmp_path / 'system-ram.json'
    config_path.write_text(json.dumps(config))
    for name in ('run_json', 'run', 'read', 'write'):
        monkeypatch.setattr(boot_script, name, getattr(host, name))
    # The deadlines: a few rounds of polling, not minutes.
    clock = iter(range(0, 100000, 5))
    monkeypatch.setattr(boot_script.time, 'time', lambda: next(clock))
    return boot_script.main([str(config_path)])  # the unit's ExecStart gives the config's path


CASES = [
    # id, host options, config entry, rc, expected (size, movable, online blocks) of mem0's region
    ('movable_region_is_created_with_the_movable_policy',
     {}, {'memdevs': ['mem0'], 'size': None, 'movable': True}, 0, (1073741824, True, 8)),
    ('kernel_zone_region_with_a_size',
     {}, {'memdevs': ['mem0'], 'size': 536870912, 'movable': False}, 0, (536870912, False, 4)),
    ('region_already_there_is_not_created_again',
     {'region_exists': True}, {'memdevs': ['mem0'], 'movable': True}, 0, (1073741824, True, 8)),
    ('create_region_that_exits_0_without_a_region_fails_the_unit',
     {'create_works': False}, {'memdevs': ['mem0'], 'movable': True}, 1, None),
    ('memdev_that_never_appears_fails_the_unit',
     {'memdevs': False}, {'memdevs': ['mem0'], 'movable': True}, 1, None),
]


@pytest.mark.parametrize('options, entry, rc, expected', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_cxl_region_at_boot(boot_script, monkeypatch, tmp_path, capsys, options, entry, rc, expected):
    host = FakeHost(**options)
    config = {'namespaces': [], 'cxl_regions': [entry], 'demotion': None, 'wait_seconds': 30}
    assert run_boot(boot_script, monkeypatch, tmp_path, host, config) == rc, capsys.readouterr().out
    # Whatever happened, the policy the host had is back.
    assert host.policy == 'online'
    creates = [argv for argv in host.commands if argv[:2] == ['cxl', 'create-region']]
    if options.get('region_exists') or not options.get('memdevs', True):
        assert creates == []
    else:
        assert creates == [['cxl', 'create-region', '-t', 'ram', '-d', 'decoder0.0', '-s',
                            str(entry.get('size') or 1073741824), '-m', 'mem0']]
        # kmem reads the policy when it hot-plugs the region: it was the zone asked for then.
        assert host.policies[:2] == ['offline', 'online_movable' if entry['movable'] else 'online_kernel']
    if expected is None:
        assert 'FAILED CXL region over mem0' in capsys.readouterr().out
        return
    device = host.regions[0]['daxregion']['devices'][0]
    assert (host.regions[0]['size'], device['movable'], device['online_memblocks']) == expected


def test_the_unit_gives_the_script_the_config_path():
    with open(os.path.join(ROLE, 'templates', 'pmem-dax-system-ram.service.j2')) as handle:
        unit = handle.read()
    assert 'ExecStart={{ __pmem_system_ram_python }} {{ __pmem_system_ram_script_path }} ' \
           '{{ __pmem_system_ram_config_path }}\n' in unit


def test_config_path_argument_and_its_default(boot_script, monkeypatch, tmp_path):
    """The path given is the one read; without one, dax_persist's default."""
    opened = []

    def fake_open(path, *args, **kwargs):
        opened.append(path)
        raise IOError('stop here')

    monkeypatch.setattr(boot_script, 'open', fake_open, raising=False)
    for argv, path in (([str(tmp_path / 'elsewhere.json')], str(tmp_path / 'elsewhere.json')),
                       ([], '/etc/pmem-dax/system-ram.json')):
        with pytest.raises(IOError):
            boot_script.main(argv)
        assert opened.pop() == path


def test_namespace_waits_with_auto_online_held_off_and_restored(boot_script, monkeypatch, tmp_path, capsys):
    """A namespace is reconfigured with auto_online_blocks offline, onlined movable, then the policy restored."""
    host = FakeHost()
    namespace = {'dev': 'namespace0.0', 'name': 'ram-a', 'uuid': 'u', 'chardev': 'dax0.0'}
    device = {'chardev': 'dax0.0', 'mode': 'devdax', 'total_memblocks': 8, 'online_memblocks': 0}
    run_json, run = host.run_json, host.run

    def host_run_json(argv):
        if argv == ['ndctl', 'list', '-N']:
            return [namespace]
        if argv == ['daxctl', 'list', '-d', 'dax0.0']:
            return [dict(device)]
        return run_json(argv)

    def host_run(argv):
        host.commands.append(argv)
        assert host.policy == 'offline', 'hot-plug while auto_online_blocks is %s' % host.policy
        if argv[:2] == ['daxctl', 'reconfigure-device']:
            device['mode'] = 'system-ram'
        elif argv[:2] == ['daxctl', 'online-memory']:
            device.update(online_memblocks=8, movable='--no-movable' not in argv)
        return 0, ''

    host.run_json, host.run = host_run_json, host_run
    config = {'namespaces': [{'name': 'ram-a', 'uuid': None, 'movable': True}], 'demotion': None, 'wait_seconds': 30}
    assert run_boot(boot_script, monkeypatch, tmp_path, host, config) == 0, capsys.readouterr().out
    assert host.commands == [['daxctl', 'reconfigure-device', '--mode=system-ram', '--no-online', 'dax0.0'],
                             ['daxctl', 'online-memory', 'dax0.0']]
    assert host.policies == ['offline', 'online'] and device['movable'] is True


class TieringFiles(object):
    """The tiering files as a dict; a pool path in ``short`` keeps only that many pages (the kernel could not find more)."""

    def __init__(self, files, short=None):
        self.files = dict(files)
        self.short = short or {}
        self.writes = []

    def read(self, path):
        return self.files[path]

    def write(self, path, value):
        self.writes.append((path, value))
        self.files[path] = str(min(int(value), self.short[path])) if path in self.short else value


TIERING = {'promotion': True, 'promote_rate_limit_mbps': 256, 'weighted_interleave': {'0': 3, '1': 1},
           'hugepages': [{'node': 1, 'size': 2097152, 'count': 64}]}
POOL = '/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages'
TIERING_FILES = {'/proc/sys/kernel/numa_balancing': '1', '/proc/sys/kernel/numa_balancing_promote_rate_limit_MBps': '65536',
                 '/sys/kernel/mm/mempolicy/weighted_interleave/node0': '1',
                 '/sys/kernel/mm/mempolicy/weighted_interleave/node1': '1', POOL: '0'}


def test_tiering_is_written_after_the_memory_in_memory_tierings_order(boot_script, monkeypatch, capsys):
    files = TieringFiles(TIERING_FILES)
    monkeypatch.setattr(boot_script, 'read', files.read)
    monkeypatch.setattr(boot_script, 'write', files.write)
    assert boot_script.apply_tiering(TIERING) == []
    # numa_balancing keeps its bit 1 and gains the tiering bit 2
    assert files.writes == [('/proc/sys/kernel/numa_balancing', '3'),
                            ('/proc/sys/kernel/numa_balancing_promote_rate_limit_MBps', '256'),
                            ('/sys/kernel/mm/mempolicy/weighted_interleave/node0', '3'),
                            ('/sys/kernel/mm/mempolicy/weighted_interleave/node1', '1'),
                            (POOL, '64')]
    assert '2048 kB pages on node 1 set to 64' in capsys.readouterr().out


def test_tiering_pool_filled_in_part_fails_the_unit(boot_script, monkeypatch):
    files = TieringFiles(TIERING_FILES, short={POOL: 10})
    monkeypatch.setattr(boot_script, 'read', files.read)
    monkeypatch.setattr(boot_script, 'write', files.write)
    assert boot_script.apply_tiering({'hugepages': TIERING['hugepages']}) == ['2048 kB pages on node 1: wrote 64, reads back 10']


def test_tiering_promotion_off_clears_only_its_bit(boot_script, monkeypatch):
    files = TieringFiles(dict(TIERING_FILES, **{'/proc/sys/kernel/numa_balancing': '3'}))
    monkeypatch.setattr(boot_script, 'read', files.read)
    monkeypatch.setattr(boot_script, 'write', files.write)
    assert boot_script.apply_tiering({'promotion': False}) == []
    assert files.writes == [('/proc/sys/kernel/numa_balancing', '1')]


def test_memmap_on_memory_switch_is_set_before_the_hot_plug(boot_script, monkeypatch):
    """kmem decides where the page map goes when it takes the device: the switch is written before reconfigure."""
    events = []
    device = {'chardev': 'dax0.0', 'mode': 'devdax', 'total_memblocks': 8, 'online_memblocks': 0}

    def run(argv):
        events.append(argv[:2])
        if argv[:2] == ['daxctl', 'reconfigure-device']:
            device['mode'] = 'system-ram'
        else:
            device.update(online_memblocks=8)
        return 0, ''

    monkeypatch.setattr(boot_script, 'dax_device', lambda chardev: dict(device))
    monkeypatch.setattr(boot_script, 'run', run)
    monkeypatch.setattr(boot_script, 'write', lambda path, value: events.append((path, value)))
    boot_script.apply({'name': 'ram-a', 'movable': True, 'memmap_on_memory': True}, 'dax0.0')
    assert events == [('/sys/bus/dax/devices/dax0.0/memmap_on_memory', '1'), ['daxctl', 'reconfigure-device'],
                      ['daxctl', 'online-memory']]
