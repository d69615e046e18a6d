# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Planner for pmem_namespace: namespaces identified by their name label.

``plan_namespace(state, desired, users_of, record=None)`` is pure: it reads only the HostState, what
``users_of(namespace)`` says about a namespace and the ownership record (``_ownership``; None: not
consulted), and returns a Plan whose actions are the ndctl commands to run, in order (and, with a
record, the ``record`` steps that adopt a namespace). ``plan_namespaces(state, items, users_of, record)``
plans several namespaces for one run, each as if the ones before it were done. ``namespace_users(state,
namespace)`` is the real ``users_of`` (it reads /proc and the start of the device). ``desired`` is a
dict with name, state, region, numa_node, size (bytes or None), mode, align (bytes or None), force,
init_labels, adopt, and uuid (the uuid a namespace created with a record gets, chosen before it exists).

The data-safety rule (the same for every caller, the role's planner included, through pmem_info's
``data_risks``): a namespace is never destroyed without force while it may hold data (an fsdax,
sector or raw namespace; a device with a filesystem or other signature) or is in use (mounted, open).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os

from ansible_collections.pmem.dax.plugins.module_utils._ownership import (
    RECORDED, namespace_uuid, not_owned_message, ownership_of)
from ansible_collections.pmem.dax.plugins.module_utils._signature import device_signatures
from ansible_collections.pmem.dax.plugins.module_utils._sizes import format_size, round_down, round_up
from ansible_collections.pmem.dax.plugins.module_utils._state import Action, Plan
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import NMEM_RE, validate_region

MODES = ('devdax', 'fsdax', 'sector', 'raw')
# Modes whose block device is where filesystems and databases live: such a namespace may always hold data.
BLOCK_MODES = ('fsdax', 'sector', 'raw')
# ndctl refuses smaller devdax/fsdax/sector namespaces (only raw may be smaller).
MIN_SIZE = 16 * 1024 * 1024
# ndctl stores the name in a 64-byte label field, NUL-terminated.
MAX_NAME_BYTES = 63
PAGE_SIZE = 4096


class Usage(object):
    """Who uses a namespace and what it may hold.

    online_memory: its memory is online as system RAM (ndctl cannot destroy it); others: mounts and open
    device files; data: why it may hold data (its mode, signatures found at its start).
    """

    def __init__(self, online_memory=None, others=None, data=None):
        self.online_memory = online_memory
        self.others = list(others or [])
        self.data = list(data or [])

    def describe(self):
        return '; '.join(([self.online_memory] if self.online_memory else []) + self.others + self.data)

    def risks(self):
        """What stops a destroy without force: every use and every sign of data."""
        return self.others + self.data

    def __bool__(self):
        return bool(self.online_memory or self.others or self.data)

    __nonzero__ = __bool__


def device_paths(namespace):
    """The device files of a namespace (/dev/daxN.M, /dev/pmemN) that a process may hold."""
    return ['/dev/' + name for name in (namespace['chardev'], namespace['blockdev']) if name]


def namespace_users(state, namespace, open_files=None):
    """Find what uses a namespace on this host: online memory, mounts and open device files.

    ``open_files``: what ``Sysfs.open_files`` found for many namespaces' paths at once (one pass over /proc
    for a whole host, which matters on a host with thousands of processes); None scans for this one.
    """
    sysfs = state.sysfs
    online_memory = None
    device = state.dax_device(namespace['chardev']) if namespace['chardev'] else None
    if device and device['mode'] == 'system-ram' and device['online_blocks']:
        online_memory = ('its memory is online as system RAM (%d of %d blocks of %s)'
                         % (device['online_blocks'], device['total_blocks'] or 0, device['chardev']))
    others = []
    paths = device_paths(namespace)
    blockdev = namespace['blockdev']
    if blockdev:
        devno = sysfs.block_dev_numbers(blockdev)
        for mount in sysfs.mounts():
            source = mount['source'] or ''
            partition = source.startswith('/dev/' + blockdev + 'p') and source[len(blockdev) + 6:].isdigit()
            if source == '/dev/' + blockdev or partition or (devno and mount['devno'] == devno):
                others.append('%s is mounted at %s' % (source or blockdev, mount['mountpoint']))
    if open_files is None:
        open_files = sysfs.open_files(paths)
    for user in [user for user in open_files if user['path'] in paths]:
        others.append('%s is %s in process %d (%s)' % (user['path'], user.get('how', 'open'), user['pid'],
                                                       user['comm'] or '?'))
    return Usage(online_memory, others, data_signs(sysfs, namespace, device))


def data_signs(sysfs, namespace, device):
    """Why a namespace may hold data: its mode, and what its first MiB holds (as blkid would probe it).

    A dax device in system-ram mode has no device file (kmem owns it) and holds no data of anyone's.
    """
    signs = []
    if namespace['mode'] in BLOCK_MODES:
        signs.append('it is in %s mode: its block device %s can hold a filesystem or other data'
                     % (namespace['mode'], '/dev/' + namespace['blockdev'] if namespace['blockdev'] else '(disabled)'))
    if namespace['blockdev']:
        name = namespace['blockdev']
    elif namespace['chardev'] and not (device and device['mode'] == 'system-ram'):
        name = namespace['chardev']
    else:
        return signs
    path = sysfs.path('dev', name)
    if not os.path.exists(path):
        return signs
    signatures, error = device_signatures(path)
    if signatures:
        signs.append('/dev/%s starts with data (signature found: %s)' % (name, ', '.join(signatures)))
    elif error:
        signs.append('/dev/%s could not be read to look for data (%s)' % (name, error))
    return signs


def size_unit(region, align=None):
    """The multiple a namespace size must be in this region.

    The kernel reports a region align that already covers the interleave ways when it has to
    (16 MiB over 6 DIMMs becomes 96 MiB); when the reported align does not split evenly over the
    ways, multiply, as ndctl would refuse it otherwise. A requested namespace align must divide it too.
    """
    unit = region['align'] or PAGE_SIZE
    ways = region['interleave_ways'] or 1
    if unit % (PAGE_SIZE * ways):
        unit *= ways
    if align:
        unit = unit * align // _gcd(unit, align)
    return unit


def _gcd(first, second):
    while second:
        first, second = second, first % second
    return first


def summary(namespace):
    """What the diff shows of a namespace (only what check mode can predict as well)."""
    if namespace is None:
        return None
    return {
        'name': namespace['name'],
        'state': 'present',
        'region': namespace['region'],
        'mode': namespace['mode'],
        'size': namespace['raw_size'],
    }


def create_argv(desired, region_name, size, uuid=None):
    """ndctl create-namespace; with uuid, the namespace gets it (recorded before it exists)."""
    argv = ['ndctl', 'create-namespace', '--region=%s' % region_name, '--mode=%s' % desired['mode'],
            '--name=%s' % desired['name']]
    if uuid:
        argv.append('--uuid=%s' % uuid)
    if size is not None:
        argv.append('--size=%d' % size)
    if desired.get('align'):
        argv.append('--align=%d' % desired['align'])
    return argv


def destroy_argv(namespace):
    return ['ndctl', 'destroy-namespace', '--force', namespace['dev']]


def _region_names(state):
    return ', '.join(region['name'] for region in state.regions) or 'none'


def _describe(namespace):
    return '%s (%s, mode %s, size %s, in %s)' % (
        namespace['dev'], namespace['name'], namespace['mode'],
        format_size(namespace['raw_size']), namespace['region'])


def _check_name(name):
    if not name or not name.strip():
        return 'name must not be empty'
    if len(name.encode('utf-8')) > MAX_NAME_BYTES:
        return 'name %r is longer than the %d bytes a namespace label holds' % (name, MAX_NAME_BYTES)
    if any(ord(char) < 32 for char in name):
        return 'name %r contains control characters' % name
    return None


def _fits_message(region, size, unit, free):
    """Why size does not fit in region (None when it fits); free: the usable contiguous space."""
    if size % unit:
        lower = round_down(size, unit)
        upper = round_up(size, unit)
        nearest = ' or '.join('%d (%s)' % (value, format_size(value)) for value in (lower, upper) if value)
        return ('size %d (%s) is not a multiple of %s, the alignment of %s; nearest valid sizes: %s; '
                '%s has %s free' % (size, format_size(size), format_size(unit), region['name'], nearest,
                                    region['name'], format_size(free)))
    if size > free:
        largest = round_down(free, unit)
        return ('size %d (%s) does not fit in %s: it has %s free (%d bytes); the largest size possible is '
                '%d (%s)' % (size, format_size(size), region['name'], format_size(free), free, largest,
                             format_size(largest)))
    return None


def _free_extent(region):
    extent = region['max_available_extent']
    if extent is None:
        extent = region['available_size']
    return extent or 0


def region_node(region):
    """The NUMA node a region's memory is on.

    ndctl's numa_node is the node closest to the region (with CPUs), target_node the node its memory
    becomes when hot-plugged; they differ when the memory is on a CPU-less node (as in QEMU), and
    target_node is the one that numa_node asks about.
    """
    return region['target_node'] if region['target_node'] is not None else region['numa_node']


def _choose_region(state, desired):
    """(region, error): the explicit region, or the labelled region with the most free space."""
    node = desired.get('numa_node')
    if desired.get('region') is not None:
        try:
            name = validate_region(desired['region'])
        except ValueError as exc:
            return None, str(exc)
        region = state.region(name)
        if region is None:
            return None, 'region %s not found; regions on this host: %s' % (name, _region_names(state))
        if node is not None and node != region_node(region):
            return None, ('region %s is on NUMA node %s, not on numa_node %s'
                          % (name, region_node(region), node))
        return region, None
    candidates = [region for region in state.regions if region['enabled'] and region['type'] in (None, 'pmem')]
    if node is not None:
        candidates = [region for region in candidates if region_node(region) == node]
        if not candidates:
            return None, 'no persistent memory region on NUMA node %s; regions: %s' % (node, _describe_regions(state))
    if not candidates:
        return None, 'no persistent memory region found on this host (ndctl list -R shows none)'
    labelled = [region for region in candidates if region['labelled']]
    if not labelled:
        # Every candidate is label-less: let the caller explain init_labels for the first one.
        return candidates[0], None
    size = desired.get('size')
    if size is not None:
        fitting = [region for region in labelled if size <= _free_extent(region)]
        if fitting:
            labelled = fitting
    labelled.sort(key=lambda region: (-_free_extent(region), region['id']))
    return labelled[0], None


def _describe_regions(state):
    described = ['%s (node %s, %s free)' % (region['name'], region_node(region), format_size(_free_extent(region)))
                 for region in state.regions]
    return ', '.join(described) or 'none'


def _init_labels_actions(state, region, desired, users_of):
    """Actions that give a label-less region labels, or an error."""
    if not desired.get('init_labels'):
        return None, ('%s has no namespace labels (label-less): it cannot hold a named namespace. '
                      'Set init_labels: true (with force: true) to write labels; that destroys all data '
                      'in %s' % (region['name'], region['name']))
    if not desired.get('force'):
        return None, ('init_labels writes new labels on the DIMMs of %s and destroys all data in it: '
                      'it needs force: true as well' % region['name'])
    for dev in region['namespaces']:
        namespace = state.namespace_by_dev(dev)
        usage = users_of(namespace) if namespace else None
        # force is given already (init_labels wipes the region): only a use stops it, not signs of data.
        if usage and (usage.online_memory or usage.others):
            uses = ([usage.online_memory] if usage.online_memory else []) + usage.others
            return None, 'cannot write labels on %s: %s is in use: %s' % (region['name'], dev, '; '.join(uses))
    dimms = state.sysfs.region_mappings(region['name'])
    if not dimms or not all(NMEM_RE.match(dimm) for dimm in dimms):
        return None, 'cannot find the DIMMs (nmem devices) of %s to write labels on' % region['name']
    actions = [Action('command', ['ndctl', 'disable-region', region['name']],
                      'disable %s to write labels' % region['name'])]
    for dimm in dimms:
        actions.append(Action('command', ['ndctl', 'init-labels', dimm], 'write empty namespace labels on %s' % dimm))
    actions.append(Action('command', ['ndctl', 'enable-region', region['name']], 'enable %s again' % region['name']))
    return actions, None


def _force_hint(desired):
    return 'force: true%s' % (' on its item' if desired.get('several') else '')


def destroy_refusal(namespace, usage, desired):
    """Why a namespace must not be destroyed now (None when it may): the data-safety rule."""
    if usage.online_memory:
        return ('namespace %s is in use: %s. ndctl cannot destroy it while its memory is online; take the memory '
                'offline first (pmem.dax.dax_memory state=offline, or pmem.dax.dax_mode mode=devdax)'
                % (_describe(namespace), usage.online_memory))
    if usage.risks() and not desired.get('force'):
        parts = (['is in use: ' + '; '.join(usage.others)] if usage.others else []) + \
                (['may hold data: ' + '; '.join(usage.data)] if usage.data else [])
        return ('namespace %s %s. Nothing was destroyed. Stop using it, or set %s to destroy it anyway (its data '
                'is lost)' % (_describe(namespace), ', and '.join(parts), _force_hint(desired)))
    return None


def ownership_refusal(record, namespace, desired):
    """Why a namespace is not pmem.dax's to change (None when it is, or when no record is kept)."""
    if record is None or desired.get('adopt'):
        return None
    return not_owned_message(record, namespace)


def _adopt_actions(record, namespace, desired):
    """With a record, adopting a namespace that is not recorded yet records it (a change of its own)."""
    if record is None or not desired.get('adopt') or ownership_of(record, namespace) == RECORDED:
        return []
    return [Action('record', name='adopt', data=namespace,
                   description='record %s (uuid %s) as created by pmem.dax' % (namespace['dev'], namespace_uuid(namespace)))]


def _plan_absent(state, desired, users_of, matches, record):
    absent = {'name': desired['name'], 'state': 'absent'}
    if not matches:
        return Plan(before=absent, after=absent)
    actions = []
    for namespace in matches:
        error = ownership_refusal(record, namespace, desired) or \
            destroy_refusal(namespace, users_of(namespace), desired)
        if error:
            return Plan(error=error)
        actions.append(Action('command', destroy_argv(namespace), 'destroy %s' % _describe(namespace),
                              data=namespace))
    before = summary(matches[0]) if len(matches) == 1 else [summary(namespace) for namespace in matches]
    return Plan(actions=actions, before=before, after=absent)


def _mismatches(state, desired, namespace):
    found = []
    if namespace['mode'] != desired['mode']:
        found.append('mode is %s, not %s' % (namespace['mode'], desired['mode']))
    if desired.get('size') is not None and namespace['raw_size'] != desired['size']:
        found.append('size is %d (%s), not %d (%s)' % (namespace['raw_size'] or 0, format_size(namespace['raw_size'] or 0),
                                                       desired['size'], format_size(desired['size'])))
    if desired.get('region') is not None:
        try:
            region_name = validate_region(desired['region'])
        except ValueError:
            region_name = None
        if region_name and namespace['region'] != region_name:
            found.append('it is in %s, not %s' % (namespace['region'], region_name))
    if desired.get('numa_node') is not None:
        region = state.region(namespace['region'])
        if region and desired['numa_node'] != region_node(region):
            found.append('its region is on NUMA node %s, not %s' % (region_node(region), desired['numa_node']))
    if desired.get('align') and namespace['align'] and namespace['align'] != desired['align']:
        found.append('align is %d, not %d' % (namespace['align'], desired['align']))
    return found


def plan_namespace(state, desired, users_of, record=None):
    """Plan for one namespace; see the module docstring."""
    error = _check_name(desired['name'])
    if error:
        return Plan(error=error)
    if desired.get('mode', 'devdax') not in MODES:
        return Plan(error='mode must be one of %s' % ', '.join(MODES))
    matches = state.namespaces_by_name(desired['name'])
    if desired['state'] == 'absent':
        return _plan_absent(state, desired, users_of, matches, record)

    if len(matches) > 1:
        return Plan(error=('%d namespaces carry the name %r: %s. Remove the extra ones (state: absent removes '
                           'all of them) before asking for one' % (len(matches), desired['name'],
                                                                   ', '.join(_describe(ns) for ns in matches))))
    existing = matches[0] if matches else None
    actions = []
    before = summary(existing) if existing else {'name': desired['name'], 'state': 'absent'}
    if existing:
        error = ownership_refusal(record, existing, desired)
        if error:
            return Plan(error=error)
        mismatches = _mismatches(state, desired, existing)
        if not mismatches:
            adopt = _adopt_actions(record, existing, desired)
            return Plan(actions=adopt, before=before, after=before)
        if not desired.get('force'):
            return Plan(error=('namespace %s does not match: %s. Set force: true to destroy and re-create it '
                               '(its data is lost)' % (_describe(existing), '; '.join(mismatches))))
        usage = users_of(existing)
        if usage.online_memory:
            return Plan(error=('namespace %s must be re-created (%s) but is in use: %s; take the memory offline '
                               'first (pmem.dax.dax_memory state=offline)'
                               % (_describe(existing), '; '.join(mismatches), usage.online_memory)))
        actions.append(Action('command', destroy_argv(existing), 'destroy %s to re-create it' % _describe(existing),
                              data=existing))

    if existing and desired.get('region') is None and desired.get('numa_node') is None:
        region = state.region(existing['region'])
        error = None
    else:
        region, error = _choose_region(state, desired)
    if error:
        return Plan(error=error)

    if region['labelled']:
        free = _free_extent(region)
        if existing and existing['region'] == region['name']:
            # Destroying the old namespace first gives its space back.
            free += existing['raw_size'] or 0
    else:
        label_actions, error = _init_labels_actions(state, region, desired, users_of)
        if error:
            return Plan(error=error)
        actions.extend(label_actions)
        free = region['size'] or 0

    unit = size_unit(region, desired.get('align'))
    size = desired.get('size')
    if size is not None:
        if size < MIN_SIZE and desired['mode'] != 'raw':
            return Plan(error=('size %d (%s) is below the %s that a %s namespace needs (only mode raw may be '
                               'smaller)' % (size, format_size(size), format_size(MIN_SIZE), desired['mode'])))
        error = _fits_message(region, size, unit, free)
        if error:
            return Plan(error=error)
        predicted = size
    else:
        predicted = round_down(free, unit)
        if predicted <= 0:
            return Plan(error='%s has no free space left (%s free); free some or pick another region'
                        % (region['name'], format_size(free)))
    uuid = desired.get('uuid') if record is not None else None
    actions.append(Action('command', create_argv(desired, region['name'], size, uuid),
                          'create %s namespace %r in %s' % (desired['mode'], desired['name'], region['name']),
                          data={'uuid': uuid, 'name': desired['name'], 'region': region['name']} if uuid else None))
    after = {'name': desired['name'], 'state': 'present', 'region': region['name'], 'mode': desired['mode'],
             'size': predicted}
    return Plan(actions=actions, before=before, after=after)


def _free_for(region, plan, existing):
    """The free space plan_namespace counted on in ``region`` for ``plan`` (mirrors its arithmetic)."""
    if not region['labelled']:
        return region['size'] or 0
    free = _free_extent(region)
    if existing and existing['region'] == region['name'] and any(
            action.argv == destroy_argv(existing) for action in plan.actions):
        free += existing['raw_size'] or 0
    return free


def plan_namespaces(state, items, users_of, record=None):
    """Plans for several namespaces in one run: [(desired, Plan)] in the order given, or an error.

    Each item is planned as if the items before it were done: a region's free space shrinks by what
    the earlier items create in it (counted from the largest free extent, so a second item is refused
    rather than overcommitted), and a region given labels by an earlier item counts as labelled.
    Space that an earlier item frees (state absent, or a forced re-create elsewhere) is not counted.
    A name given twice is an error, as is any item's own error (named by the item when there are
    several); nothing runs before all are planned.
    """
    names = [item['name'] for item in items]
    twice = sorted(set(name for name in names if names.count(name) > 1))
    if twice:
        return None, 'namespaces: each name may be given once; given more than once: %s' % ', '.join(twice)
    view = copy.copy(state)
    view.regions = [dict(region) for region in state.regions]
    plans = []
    for desired in items:
        plan = plan_namespace(view, desired, users_of, record)
        if plan.error:
            return None, ('namespace %r: %s' % (desired['name'], plan.error) if len(items) > 1 else plan.error)
        plans.append((desired, plan))
        if plan.changed and plan.after.get('state') == 'present':
            region = view.region(plan.after['region'])
            left = max(_free_for(region, plan, view.namespace_by_name(desired['name'])) - plan.after['size'], 0)
            region.update(labelled=True, available_size=left, max_available_extent=left)
    return plans, None
