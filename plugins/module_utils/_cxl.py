# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""CXL memory expanders: one snapshot of the `cxl` topology, and the planner of cxl_region.

API (stable; additions only):

``CxlState.read(runner)`` -> CxlState
    Runs ``cxl list -M``, ``cxl list -D -d root``, ``cxl list -R -X -T`` once each (and
    ``cxl list -M -d DECODER`` per volatile-capable root decoder when there are several, to know which
    memdevs each can map). A cxl that does not know ``-X`` (before ndctl 77: Debian 12's 76.1) is asked
    ``cxl list -R -T`` instead: the regions are then known without their dax devices (``dax_listed`` false).
``CxlState(memdevs, root_decoders, regions, decoder_memdevs=None, dax_listed=True)``: same from parsed JSON
    (unit tests).

Attributes:
    ``memdevs``        list of dicts: name ("mem0"), ram_size, pmem_size, serial, host, numa_node,
                       used (bytes of its ram capacity in regions), free
    ``root_decoders``  list of dicts: name ("decoder0.0"), size, free (max_available_extent),
                       volatile_capable, interleave_ways, memdevs (names it can map, or None: unknown)
    ``regions``        list of dicts: name ("region0"), uuid (None for a RAM region: the kernel gives only
                       pmem regions one, so cxl prints none), type ("ram"|"pmem"), size, interleave_ways,
                       decode_state, memdevs (in position order), dax_devices (chardevs), devices
                       (daxctl-style dicts of its dax devices)
    ``dax_listed``     whether cxl listed the regions' dax devices (false: cxl without -X; the dax
                       devices and so whether a region's memory is online are unknown, and state absent
                       refuses a region)

``plan_region(cxl, desired)`` -> ``_state.Plan`` (pure). ``desired``: state (present|absent),
memdevs (list, or None = every memdev with RAM capacity, one region each), region (absent only: a
region name), size (bytes or None = all free capacity), decoder (None = chosen), online, movable,
record (the ownership record of ``_ownership``, or None: ownership not kept), adopt.
Actions are commands (``cxl ...``) and sysfs writes (``['tee', path]`` with ``data``), in order, and with
a record ``record`` steps (``data``: the region) that adopt an existing region. With a record, state absent
refuses a region the record does not list (``_ownership.region_recorded``: name and uuid, or name and
memdevs for a RAM region, which has no uuid) unless adopt.
``created_regions(stdout)``: the regions ``cxl create-region`` reports having made (what to record).

Kernel facts behind it (see docs/ndctl-daxctl-behaviour.md): since 6.3 kmem onlines a new CXL RAM region's
memory by itself, as ``auto_online_blocks`` says; Debian 13 says "online", which puts it in
ZONE_NORMAL, where it can never be taken out again. So the planner holds the policy at the zone asked
for (online_movable, online_kernel or offline) around ``cxl create-region`` and restores it.
``cxl create-region`` can exit 0 after failing: the module decides from the re-read topology.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, parse_json_list
from ansible_collections.pmem.dax.plugins.module_utils._ownership import ADOPT_HINT, OWNERSHIP_PATH, region_recorded
from ansible_collections.pmem.dax.plugins.module_utils._sizes import format_size
from ansible_collections.pmem.dax.plugins.module_utils._state import Action, Plan, _int
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import (
    AUTO_ONLINE_OFF, AUTO_ONLINE_PATH, ONLINE_KERNEL, ONLINE_MOVABLE, auto_online_policy)

MEMDEV_LIST_ARGS = ['list', '-M']
ROOT_DECODER_LIST_ARGS = ['list', '-D', '-d', 'root']
REGION_LIST_ARGS = ['list', '-R', '-X', '-T']
# cxl before ndctl 77 (Debian 12 has 76.1) has no -X (--dax): it lists the regions without their dax devices.
REGION_LIST_ARGS_WITHOUT_DAX = ['list', '-R', '-T']
# What ndctl's option parser exits with on an option it does not know ("unknown switch `X'").
USAGE_ERROR_RC = 129

# The kernel maps CXL regions in 256 MiB units per interleave way (the HDM decoder granularity).
REGION_UNIT = 256 * 1024 * 1024


class CxlState(object):
    """See the module docstring."""

    def __init__(self, memdevs, root_decoders, regions, decoder_memdevs=None, dax_listed=True):
        self.raw = {'memdevs': memdevs, 'root_decoders': root_decoders, 'regions': regions}
        self.dax_listed = dax_listed
        decoder_memdevs = decoder_memdevs or {}
        self.regions = [self._region(raw) for raw in regions if raw.get('region')]
        used = {}
        for region in self.regions:
            ways = len(region['memdevs']) or 1
            for memdev in region['memdevs']:
                used[memdev] = used.get(memdev, 0) + (region['size'] or 0) // ways
        self.memdevs = []
        for raw in memdevs:
            if not raw.get('memdev'):
                continue
            ram = _int(raw.get('ram_size')) or 0
            self.memdevs.append({
                'name': raw['memdev'], 'ram_size': ram, 'pmem_size': _int(raw.get('pmem_size')) or 0,
                'serial': raw.get('serial'), 'host': raw.get('host'), 'numa_node': _int(raw.get('numa_node')),
                'used': used.get(raw['memdev'], 0), 'free': max(0, ram - used.get(raw['memdev'], 0)),
            })
        self.root_decoders = []
        for raw in root_decoders:
            if not raw.get('decoder'):
                continue
            self.root_decoders.append({
                'name': raw['decoder'], 'size': _int(raw.get('size')),
                'free': _int(raw.get('max_available_extent')) or 0,
                'volatile_capable': bool(raw.get('volatile_capable')),
                'interleave_ways': _int(raw.get('interleave_ways')) or 1,
                'memdevs': decoder_memdevs.get(raw['decoder']),
            })

    @staticmethod
    def _region(raw):
        devices = []
        daxregion = raw.get('daxregion') or {}
        for device in daxregion.get('devices') or []:
            if device.get('chardev'):
                devices.append(device)
        mappings = sorted(raw.get('mappings') or [], key=lambda item: _int(item.get('position')) or 0)
        return {
            'name': raw['region'], 'uuid': raw.get('uuid'), 'type': raw.get('type'), 'size': _int(raw.get('size')),
            'resource': _int(raw.get('resource')),
            'interleave_ways': _int(raw.get('interleave_ways')), 'decode_state': raw.get('decode_state'),
            'memdevs': [item['memdev'] for item in mappings if item.get('memdev')],
            'dax_devices': [device['chardev'] for device in devices],
            'devices': devices,
        }

    @classmethod
    def read(cls, runner):
        memdevs = runner.json('cxl', MEMDEV_LIST_ARGS)
        decoders = runner.json('cxl', ROOT_DECODER_LIST_ARGS)
        regions, dax_listed = cls._read_regions(runner)
        volatile = [item['decoder'] for item in decoders if item.get('decoder') and item.get('volatile_capable')]
        reach = {}
        if len(volatile) > 1:
            # Which memdevs sit below which window only matters when there is a choice.
            for name in volatile:
                reach[name] = [item['memdev'] for item in runner.json('cxl', ['list', '-M', '-d', name])
                               if item.get('memdev')]
        return cls(memdevs, decoders, regions, reach, dax_listed)

    @staticmethod
    def _read_regions(runner):
        """(regions, dax_listed): with their dax devices where cxl can list them (-X), else without."""
        try:
            return runner.json('cxl', REGION_LIST_ARGS), True
        except CliError as exc:
            if exc.rc != USAGE_ERROR_RC:
                raise
        return runner.json('cxl', REGION_LIST_ARGS_WITHOUT_DAX), False

    def memdev(self, name):
        return next((item for item in self.memdevs if item['name'] == name), None)

    def region(self, name):
        return next((item for item in self.regions if item['name'] == name), None)

    def regions_of(self, memdev):
        return [region for region in self.regions if memdev in region['memdevs']]

    def root_decoder(self, name):
        return next((item for item in self.root_decoders if item['name'] == name), None)


def region_summary(region):
    """What the diff and the result show of a region (what check mode can predict as well)."""
    return {'region': region['name'], 'state': 'present', 'type': region['type'], 'size': region['size'],
            'memdevs': list(region['memdevs']), 'dax_devices': list(region['dax_devices'])}


def region_memory(region):
    """Online/total memory blocks of a region's dax devices as daxctl reports them."""
    online = sum(_int(device.get('online_memblocks')) or 0 for device in region['devices'])
    total = sum(_int(device.get('total_memblocks')) or 0 for device in region['devices'])
    return online, total


def _empty_summary(available):
    return {'available': available, 'memdevs': [], 'root_decoders': [], 'regions': []}


def cxl_summary(runner, sysfs):
    """pmem_info's ``cxl`` section; empty lists when the kernel has no CXL bus or cxl is not installed."""
    if not os.path.isdir(sysfs.path('sys/bus/cxl')) or not runner.module.get_bin_path('cxl', required=False):
        return _empty_summary(False)
    # A bus without devices (the cxl modules loaded on a host without CXL memory, as most distribution kernels
    # do) has nothing cxl could list: the three or four cxl runs (about a second on a slow host) are skipped.
    devices = sysfs.path('sys/bus/cxl/devices')
    if not os.path.isdir(devices) or not os.listdir(devices):
        return _empty_summary(True)
    try:
        cxl = CxlState.read(runner)
    except CliError as exc:
        # The CXL section is extra: cxl failing to list the topology must not make pmem_info, and every
        # role run that reads it, fail.
        runner.module.warn('the cxl section is left empty: %s' % exc.message.splitlines()[0])
        return _empty_summary(False)
    regions = []
    for region in cxl.regions:
        item = dict((key, region[key]) for key in ('name', 'uuid', 'type', 'size', 'memdevs', 'dax_devices',
                                                   'interleave_ways', 'decode_state'))
        # Without cxl list -X nothing says which memory blocks a region has: unknown, not none.
        item['online_blocks'], item['total_blocks'] = region_memory(region) if cxl.dax_listed else (None, None)
        regions.append(item)
    return {'available': True, 'memdevs': cxl.memdevs, 'root_decoders': cxl.root_decoders, 'regions': regions}


def created_regions(stdout):
    """The regions cxl create-region printed (each as cxl list shows it: name, uuid, memdevs); [] for none."""
    try:
        return [CxlState._region(raw) for raw in parse_json_list(stdout) if raw.get('region')]
    except ValueError:
        return []


def region_not_owned_message(region, path=OWNERSHIP_PATH):
    """Why pmem.dax leaves a CXL region alone (the words of _ownership.not_owned_message for a namespace)."""
    uuid = ', uuid %s' % region['uuid'] if region.get('uuid') else ''
    return ('CXL region %s (memdevs %s%s) was not created by pmem.dax (not in the ownership record %s); a region '
            'name is not ownership. %s' % (region.get('name'), ', '.join(region.get('memdevs') or []) or '?', uuid,
                                           path, ADOPT_HINT))


def _unrecorded(desired, region):
    """Ownership is kept and the record does not list the region."""
    return desired.get('record') is not None and not region_recorded(desired['record'], region)


def _ownership_refusal(desired, region):
    """Why the request may not destroy a region (None when no record is kept, it is recorded, or adopted)."""
    if _unrecorded(desired, region) and not desired.get('adopt'):
        return region_not_owned_message(region)
    return None


def _adopt_actions(desired, region):
    """With adopt, recording an existing region that the record does not list yet (a change of its own)."""
    if not (_unrecorded(desired, region) and desired.get('adopt')):
        return []
    return [Action('record', description='record %s as created by pmem.dax' % _describe(region), name='adopt',
                   data=region)]


def _describe(region):
    return '%s (%s, %s, memdevs %s)' % (region['name'], region['type'], format_size(region['size'] or 0),
                                        ', '.join(region['memdevs']) or '?')


def _names(items):
    return ', '.join(item['name'] for item in items) or 'none'


def _choose_decoder(cxl, desired, memdevs, size):
    """(root decoder, error) for a new region over memdevs of size bytes."""
    ways = len(memdevs)
    if desired.get('decoder'):
        decoder = cxl.root_decoder(desired['decoder'])
        if decoder is None:
            return None, 'root decoder %s not found (root decoders: %s)' % (desired['decoder'], _names(cxl.root_decoders))
        if not decoder['volatile_capable']:
            return None, 'root decoder %s cannot map volatile (ram) memory' % decoder['name']
        candidates = [decoder]
    else:
        candidates = [item for item in cxl.root_decoders if item['volatile_capable']]
        if not candidates:
            return None, ('no root decoder (CXL fixed memory window) can map volatile memory (root decoders: %s)'
                          % _names(cxl.root_decoders))
    fitting = []
    for decoder in candidates:
        if decoder['memdevs'] is not None and not set(memdevs) <= set(decoder['memdevs']):
            continue
        if ways % decoder['interleave_ways']:
            continue
        if decoder['free'] < size:
            continue
        fitting.append(decoder)
    if not fitting:
        return None, ('no root decoder among %s can map a %s region over %s (free: %s)'
                      % (_names(candidates), format_size(size), ', '.join(memdevs),
                         ', '.join('%s %s' % (item['name'], format_size(item['free'])) for item in candidates)))
    fitting.sort(key=lambda item: (-item['free'], item['name']))
    return fitting[0], None


def _plan_create(cxl, desired, memdevs):
    """(actions, after, error) that create one ram region over memdevs."""
    ways = len(memdevs)
    free = min(cxl.memdev(name)['free'] for name in memdevs)
    unit = REGION_UNIT * ways
    size = desired.get('size')
    if size is None:
        size = (free * ways) // unit * unit
        if size <= 0:
            return None, None, ('%s %s no free RAM capacity left for a region'
                                % (', '.join(memdevs), 'has' if ways == 1 else 'have'))
    elif size % unit:
        lower, upper = size // unit * unit, -(-size // unit) * unit
        return None, None, ('size %d (%s) is not a multiple of %s (256 MiB per memdev of the region); nearest '
                            'valid sizes: %s' % (size, format_size(size), format_size(unit), ' or '.join(
                                '%d (%s)' % (value, format_size(value)) for value in (lower, upper) if value)))
    elif size > free * ways:
        return None, None, ('size %d (%s) is more than the free RAM capacity of %s (%s)'
                            % (size, format_size(size), ', '.join(memdevs), format_size(free * ways)))
    decoder, error = _choose_decoder(cxl, desired, memdevs, size)
    if error:
        return None, None, error
    argv = ['cxl', 'create-region', '-t', 'ram', '-d', decoder['name'], '-m'] + list(memdevs)
    if desired.get('size') is not None:
        argv += ['-s', str(size)]
    policy = auto_online_policy(bool(desired.get('online', True)), bool(desired.get('movable', True)))
    where = {ONLINE_MOVABLE: 'online in ZONE_MOVABLE', ONLINE_KERNEL: 'online in ZONE_NORMAL',
             AUTO_ONLINE_OFF: 'offline'}[policy]
    actions = [
        Action('command', ['tee', AUTO_ONLINE_PATH], 'set auto_online_blocks to %s, so that kmem brings the new '
               'region\'s memory %s' % (policy, where), name='hold_auto_online', data=policy),
        Action('command', argv, 'create a %s ram region over %s in %s (memory %s)'
               % (format_size(size), ', '.join(memdevs), decoder['name'], where), name='create_region',
               data={'memdevs': list(memdevs)}),
        Action('command', ['tee', AUTO_ONLINE_PATH], 'restore auto_online_blocks', name='restore_auto_online'),
    ]
    after = {'region': None, 'state': 'present', 'type': 'ram', 'size': size, 'memdevs': list(memdevs),
             'dax_devices': []}
    return actions, after, None


def _check_memdevs(cxl, names):
    for name in names:
        memdev = cxl.memdev(name)
        if memdev is None:
            return 'CXL memdev %s not found (memdevs: %s)' % (name, _names(cxl.memdevs))
        if not memdev['ram_size']:
            return 'CXL memdev %s has no volatile (ram) capacity' % name
    if len(set(names)) != len(names):
        return 'memdevs lists a memdev twice: %s' % ', '.join(names)
    return None


def _plan_present(cxl, desired):
    if desired.get('memdevs'):
        groups = [list(desired['memdevs'])]
    else:
        groups = [[item['name']] for item in cxl.memdevs if item['ram_size']]
        if not groups:
            return Plan(error='no CXL memdev with volatile (ram) capacity on this host (cxl list -M shows %s)'
                        % _names(cxl.memdevs))
    error = _check_memdevs(cxl, [name for group in groups for name in group])
    if error:
        return Plan(error=error)
    actions, before, after = [], [], []
    for group in groups:
        exact = [region for region in cxl.regions
                 if region['type'] == 'ram' and sorted(region['memdevs']) == sorted(group)]
        if exact:
            region = exact[0]
            if desired.get('size') is not None and region['size'] != desired['size'] and desired.get('memdevs'):
                return Plan(error=('region %s exists with size %s, not %s: remove it first (state: absent, '
                                   'region: %s)' % (_describe(region), format_size(region['size'] or 0),
                                                    format_size(desired['size']), region['name'])))
            before.append(region_summary(region))
            after.append(region_summary(region))
            actions.extend(_adopt_actions(desired, region))
            continue
        others = [region for name in group for region in cxl.regions_of(name)]
        if others and desired.get('memdevs'):
            return Plan(error=('%s already %s used by %s: a region over exactly %s cannot be added; remove '
                               'those first' % (', '.join(group), 'is' if len(group) == 1 else 'are',
                                                ', '.join(_describe(region) for region in others),
                                                ', '.join(group))))
        if others:
            # memdevs: auto counts a memdev that is in some ram region as done.
            for region in others:
                if region_summary(region) not in before:
                    before.append(region_summary(region))
                    after.append(region_summary(region))
                    actions.extend(_adopt_actions(desired, region))
            continue
        created, predicted, error = _plan_create(cxl, desired, group)
        if error:
            return Plan(error=error)
        actions.extend(created)
        after.append(predicted)
    return Plan(actions=actions, before={'regions': before}, after={'regions': after})


def _plan_absent(cxl, desired):
    if desired.get('region'):
        region = cxl.region(desired['region'])
        targets = [region] if region else []
    elif desired.get('memdevs'):
        targets = []
        for name in desired['memdevs']:
            targets.extend(region for region in cxl.regions_of(name) if region not in targets)
    else:
        targets = [region for region in cxl.regions if region['type'] == 'ram']
    actions = []
    for region in targets:
        refusal = _ownership_refusal(desired, region)
        if refusal:
            return Plan(error=refusal)
        if not cxl.dax_listed:
            return Plan(error=('region %s cannot be checked for online memory: this cxl lists no dax devices '
                               '(cxl list -X needs ndctl 77 or newer); upgrade the cxl package'
                               % _describe(region)))
        online, total = region_memory(region)
        if online:
            chardevs = ', '.join(region['dax_devices'])
            return Plan(error=('region %s is in use: %d of %d memory blocks of %s are online as system RAM. '
                               'Take them offline first (pmem.dax.dax_memory device=%s state=offline)'
                               % (_describe(region), online, total, chardevs, region['dax_devices'][0])))
        actions.append(Action('command', ['cxl', 'disable-region', region['name']],
                              'disable %s (its memory is offline)' % _describe(region), name='disable_region'))
        actions.append(Action('command', ['cxl', 'destroy-region', region['name']],
                              'destroy %s' % region['name'], name='destroy_region', data=region))
    return Plan(actions=actions, before={'regions': [region_summary(region) for region in targets]},
                after={'regions': []})


def plan_region(cxl, desired):
    """Plan for cxl_region; see the module docstring."""
    if desired.get('type', 'ram') != 'ram':
        return Plan(error='only type ram is supported')
    if desired['state'] == 'absent':
        return _plan_absent(cxl, desired)
    if desired.get('region'):
        return Plan(error='region names a region to remove (state: absent); a new region gets its name from '
                          'the kernel, so state present takes memdevs')
    return _plan_present(cxl, desired)


def goal_reached(cxl, desired):
    """The re-read topology shows what was asked for (cxl's rc is not to be trusted).

    The goal is the topology alone: what the record says is the executor's business (a region this run
    created is not in the record the plan was made with)."""
    topology = dict(desired, record=None)
    plan = _plan_absent(cxl, topology) if desired['state'] == 'absent' else _plan_present(cxl, topology)
    return plan.error is None and not plan.actions
