# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host's whole change for the system_ram module: one view, one plan, then apply and verify.

Three parts, each usable alone:

* :func:`host_view` condenses one read of the host (HostState, the ownership record, the cxl section) into
  the view every decision here works on: memory per node split into kernel and movable, regions with their
  free extent, namespaces and dax devices by name label, CXL memdevs and regions, dax devices by chardev.
* :func:`plan_system_ram` is pure: from the view and the options it decides the targets (which namespaces and
  CXL RAM regions the run acts on, each with the memory it brings or takes away per NUMA node), the forecast
  per node, what it leaves alone (ownership) and every reason the change cannot be done. The module adds the
  plans of the single-purpose planners (``plan_namespaces``, ``plan_mode``/``plan_memory``, ``plan_region``)
  for each target, so that any of their refusals, too, comes before the first change.
* :func:`verify` compares the host read again after the change with the plan: every device, and every
  node's online memory against what the devices account for.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import errno
import os
import re

from ansible_collections.pmem.dax.plugins.module_utils import _ownership
from ansible_collections.pmem.dax.plugins.module_utils._apply import (
    apply_namespace_plans,
    apply_region_plan,
    failure_detail,
    namespace_presence_reached,
)
from ansible_collections.pmem.dax.plugins.module_utils._cxl import (
    REGION_UNIT,
    CxlState,
    cxl_summary,
    goal_reached as region_goal_reached,
    plan_region,
    region_not_owned_message,
)
from ansible_collections.pmem.dax.plugins.module_utils._memory import (
    MODE_DEVDAX,
    MODE_SYSTEM_RAM,
    MemoryExecutor,
    MemoryOperationError,
    device_from_state,
    find_device,
    memory_after,
    plan_memory,
    plan_mode,
    read_host_memory,
)
from ansible_collections.pmem.dax.plugins.module_utils._host import host_facts
from ansible_collections.pmem.dax.plugins.module_utils._jsonfile import write_text
from ansible_collections.pmem.dax.plugins.module_utils._namespace import Usage, device_paths, namespace_users, plan_namespaces
from ansible_collections.pmem.dax.plugins.module_utils._preflight import NO_HOTREMOVE, host_problems, udev_decision
from ansible_collections.pmem.dax.plugins.module_utils._sizes import parse_size
from ansible_collections.pmem.dax.plugins.module_utils._state import HostState
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import DEMOTION_PATH, MEMMAP_ON_MEMORY_PATH
from ansible_collections.pmem.dax.plugins.module_utils._tiering import (
    TieringError,
    apply_tiering,
    normalize_weights,
    plan_tiering,
    read_tiering,
    tiering_text,
    undo_settings,
)

GIB = 1073741824
MIB = 1048576
# Forecast key of memory in a CXL region not created yet: the kernel gives it its window's node then.
NEW_CXL_NODE = 'cxl'
# The page map (struct page, 64 bytes) of each 4 KiB page of hot-plugged memory: 1/64 of its size.
MEMMAP_FRACTION = 64
DEFAULT_PREFIX = 'pmem-ram-'


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# -- the view -----------------------------------------------------------------------------------------------


def namespace_facts(state, record):
    """Every namespace with what the ownership record says of it and what stops destroying it without force.

    pmem_info reports these; the plan reads the same words, so that check mode forecasts the refusals.
    """
    results = []
    # One pass over /proc for every namespace's device files.
    open_files = state.sysfs.open_files([path for namespace in state.namespaces for path in device_paths(namespace)])
    for namespace in state.namespaces:
        result = dict(namespace)
        result['owned'] = _ownership.ownership_of(record, namespace)
        result['ownership_note'] = _ownership.not_owned_message(record, namespace)
        result['data_risks'] = namespace_users(state, namespace, open_files).risks()
        results.append(result)
    return results


def cxl_facts(cxl, record):
    """pmem_info's cxl section with what the ownership record says of each region."""
    regions = [dict(region, owned=_ownership.region_recorded(record, region)) for region in cxl['regions']]
    return dict(cxl, regions=regions)


def nodes_of(state):
    """{node (string): {kernel: bytes online in DMA/DMA32/Normal, movable: bytes online in Movable}}."""
    nodes = {}
    for node, zones in state.online_memory().items():
        movable = _int(zones.get('Movable'))
        nodes[str(node)] = {'kernel': sum(_int(value) for value in zones.values()) - movable, 'movable': movable}
    return nodes


def host_view(state, record, hotremove, cxl=None, demotion=None):
    """The view of one host read (see the module docstring); ``cxl`` is pmem_info's cxl section or None;
    ``demotion``: the page demotion switch as read (None: the kernel has none)."""
    namespaces = [namespace for namespace in namespace_facts(state, record) if namespace['name']]
    devices = [state.dax_devices[chardev] for chardev in sorted(state.dax_devices)]
    return {
        'nodes': nodes_of(state),
        'cpu_nodes': sorted(str(node) for node, facts in state.nodes.items() if facts.get('has_cpu')),
        'demotion': demotion,
        'block_size': state.block_size or 0,
        'auto_online': state.auto_online_blocks,
        # free: the largest namespace the region can still hold (one contiguous extent).
        'regions': dict((region['name'], dict(region, free=region.get('max_available_extent')
                                              or region.get('available_size') or 0))
                        for region in state.regions),
        # Unknown (None) counts as able: the single-purpose planners' own checks still apply.
        'hotremove': hotremove is not False,
        'namespaces': dict((namespace['name'], namespace) for namespace in namespaces),
        'devices': dict((device['name'], device) for device in devices if device.get('name')),
        'cxl': cxl_facts(cxl, record) if cxl else {'memdevs': [], 'regions': []},
        # CXL regions' dax devices have no name label: by chardev.
        'chardevs': dict((device['chardev'], device) for device in devices),
    }


# -- the plan -----------------------------------------------------------------------------------------------


def _bytes(size, option='size'):
    return parse_size(size, option)


def _recorded(namespace):
    """Created (or adopted) by pmem.dax, same uuid: the view's owned field (without it: not ours)."""
    return namespace.get('owned') == _ownership.RECORDED


def default_items(view, state, prefix):
    """The run's own namespaces, plus for present one new namespace per region with two blocks free.

    Its own: named with the prefix and recorded in the ownership record with the same uuid. A name is
    not ownership: a prefix-named namespace someone else made (or re-made) is left alone (left_alone).
    """
    block = _int(view.get('block_size'))
    namespaces = view.get('namespaces', {})
    owned = sorted(name for name, namespace in namespaces.items() if name.startswith(prefix) and _recorded(namespace))
    items = [{'name': name, 'default': True} for name in owned]
    if state == 'present':
        for dev, region in sorted(view.get('regions', {}).items()):
            if prefix + dev not in namespaces and _int(region.get('free')) >= 2 * block:
                items.append({'name': prefix + dev, 'region': dev, 'default': True})
    return items


def left_alone(view, items, targets, prefix):
    """What the run did not touch although it looks like its own, and why: [{name, why}]."""
    acted_on = set(target['name'] for target in targets if not target.get('left_alone'))
    alone = [{'name': target['name'], 'why': target['left_alone']} for target in targets if target.get('left_alone')]
    if any(item.get('default') for item in items) or not items:
        for name, namespace in sorted(view.get('namespaces', {}).items()):
            if name.startswith(prefix) and name not in acted_on and not _recorded(namespace) \
                    and name not in [entry['name'] for entry in alone]:
                alone.append({'name': name, 'why': namespace.get('ownership_note') or 'not created by pmem.dax'})
    return alone


def _region_name(view, item, namespace):
    regions = view.get('regions', {})
    if namespace and 'region' in namespace:
        return namespace['region']
    if item.get('region') is not None:
        return 'region' + re.sub('^region', '', str(item['region']))
    if item.get('numa_node') is not None:
        node = item['numa_node']
        matches = [region for region in regions.values() if region.get('target_node') == node] + \
                  [region for region in regions.values() if region.get('numa_node') == node]
        return matches[0]['name'] if matches else ''
    by_free = sorted(regions.values(), key=lambda region: _int(region.get('free')), reverse=True)
    return by_free[0]['name'] if by_free else ''


def _node_of(device, region):
    if device and device.get('target_node') is not None:
        return device['target_node']
    if region.get('target_node') is not None:
        return region['target_node']
    return region.get('numa_node', -1)


def new_namespace_delta(size, block):
    """Upper bound of the memory a new devdax namespace of ``size`` brings: its page map (1/64) and the
    memory block size round it down."""
    return ((size * 63 // 64) // block) * block if block else 0


def plan_target(view, item, state, chosen=None):
    """One namespace target (see plan_system_ram's targets).

    ``chosen`` ({region, size}) is what plan_namespaces decided for a namespace to create: its region choice
    knows labels and alignment, and its size is the free extent rounded to the region's unit.
    """
    block = _int(view.get('block_size'))
    regions = view.get('regions', {})
    name = item['name']
    namespace = view.get('namespaces', {}).get(name)
    device = view.get('devices', {}).get(name)
    movable = item.get('movable')
    target = {'name': name, 'movable': True if movable is None else bool(movable), 'exists': namespace is not None,
              'mode': device.get('mode') if device else None, 'size': None, 'problem': '', 'delta': 0,
              'explicit_region': item.get('region') is not None or item.get('numa_node') is not None}
    region_name = chosen['region'] if chosen and not namespace else _region_name(view, item, namespace)
    region = regions.get(region_name, {})
    target['region'] = region_name
    target['node'] = str(_node_of(device, region))
    # A namespace that is system RAM when the run starts holds nobody's data: the removal may destroy it
    # once its memory is offline (the signature probe would read leftover RAM pages).
    target['was_ram'] = bool(device and device.get('mode') == 'system-ram')
    target['force'] = bool(item.get('force')) or target['was_ram']
    target['adopt'] = bool(item.get('adopt'))
    risks = list(namespace.get('data_risks') or []) if namespace else []
    owned = namespace is None or _recorded(namespace) or target['adopt']
    target['owned'] = bool(namespace) and _recorded(namespace)

    if namespace and not owned:
        # Only an item the user named reaches here (the default items are recorded ones).
        target['problem'] = '%s (in pmem_system_ram_namespaces)' % (
            namespace.get('ownership_note') or 'namespace %s was not created by pmem.dax' % name)
    elif risks and not target['force'] and (state == 'absent' or (device and device.get('mode') != 'system-ram')):
        why = ('may hold data or is in use: %s. The role %s only with force: true on its item in '
               'pmem_system_ram_namespaces (its data is lost)'
               % ('; '.join(risks), 'destroys it' if state == 'absent' else 'turns it into RAM (overwriting it)'))
        if item.get('default'):
            target['left_alone'] = why
        else:
            target['problem'] = 'namespace %s %s' % (name, why)
    elif state == 'absent':
        target['delta'] = -_int(device.get('online_bytes')) if device else 0
    elif namespace and item.get('size') is not None and namespace.get('raw_size') is not None \
            and _bytes(item['size']) != _int(namespace['raw_size']):
        target['problem'] = ('namespace %s exists with %s bytes, not %s: the role does not resize namespaces '
                             '(remove it with state absent first)' % (name, namespace['raw_size'], _bytes(item['size'])))
    elif device and device.get('mode') == 'system-ram':
        target['delta'] = _int(device.get('total_bytes')) - _int(device.get('online_bytes'))
        if device.get('movable') is not None and bool(device['movable']) != target['movable']:
            target['problem'] = ('%s is online in the %s zone, not as asked (movable=%s): remove it with state absent '
                                 'and add it again' % (name, 'Movable' if device['movable'] else 'Normal', target['movable']))
    elif device:
        target['delta'] = (_int(device.get('size')) // block) * block if block else 0
    elif namespace:
        why = ('namespace %s is named %s but is in %s mode, not devdax: the role does not convert a namespace that '
               'may hold data' % (namespace.get('dev'), name, namespace.get('mode', '?')))
        if item.get('default'):
            target['left_alone'] = why
        else:
            target['problem'] = why
    elif not region:
        where = item['region'] if item.get('region') is not None else 'on NUMA node %s' % item.get('numa_node', '?')
        target['problem'] = 'no region %s (regions: %s)' % (where, ', '.join(sorted(regions)))
    else:
        if chosen:
            size = chosen['size']
        else:
            size = _bytes(item['size']) if item.get('size') is not None else _int(region.get('free'))
        target['size'] = size
        target['delta'] = new_namespace_delta(size, block)
        if size > _int(region.get('free')):
            target['problem'] = '%s has %s bytes free in one extent, %s asks for %s' % (
                region_name, _int(region.get('free')), name, size)
        elif size < 2 * block:
            target['problem'] = ('%s (%s bytes) is smaller than two memory blocks of %s bytes: it would bring no memory'
                                 % (name, size, block))
    # What is already done needs no step. An adopted namespace still has one: recording the adoption.
    target['namespace_done'] = namespace is not None and target['owned']
    target['memory_done'] = device is not None and device.get('mode') == 'system-ram' and target['delta'] == 0
    return target


def _cxl_target(view, item, memdevs, region):
    """A CXL target of an item over memdevs, for an existing region (present or absent) or a new one (region None).

    owned: the view's owned of the region (in the ownership record); adopt: the item takes over regions that are not.
    """
    device = None
    if region and region.get('dax_devices'):
        device = view.get('chardevs', {}).get(region['dax_devices'][0])
    node = device.get('target_node', -1) if device else (-1 if region else NEW_CXL_NODE)
    return {'name': 'cxl:' + ','.join(memdevs), 'memdevs': list(memdevs), 'region': region.get('name') if region else None,
            'device': device.get('chardev') if device else None,
            'movable': True if item.get('movable') is None else bool(item['movable']), 'exists': region is not None,
            'mode': device.get('mode') if device else None, 'node': str(node),
            'size': _int(region.get('size')) if region else None, 'delta': 0, 'problem': '',
            'owned': bool(region and region.get('owned')), 'adopt': bool(item.get('adopt'))}


def _plan_new_cxl(view, target, item):
    """Size, delta and problem of a region to create over target['memdevs']."""
    memdevs = dict((memdev['name'], memdev) for memdev in view.get('cxl', {}).get('memdevs') or [])
    ways = len(target['memdevs'])
    unit = REGION_UNIT * ways
    free = min(_int(memdevs[name].get('free', memdevs[name].get('ram_size'))) for name in target['memdevs']) * ways
    size = _bytes(item['size']) if item.get('size') is not None else free // unit * unit
    block = _int(view.get('block_size'))
    target['size'] = size
    target['delta'] = size // block * block if block else 0
    if size <= 0:
        target['problem'] = '%s has no free RAM capacity for a region' % ', '.join(target['memdevs'])
    elif size % unit:
        target['problem'] = ('%s: size %s is not a multiple of %s (256 MiB per memdev of the region)'
                             % (target['name'], size, unit))
    elif size > free:
        target['problem'] = '%s: size %s is more than the free RAM capacity (%s bytes)' % (target['name'], size, free)


def _plan_cxl_present(view, target):
    """Delta and problem of an existing region, as for a namespace's dax device."""
    block = _int(view.get('block_size'))
    device = view.get('chardevs', {}).get(target['device']) or {}
    if device.get('mode') == 'system-ram':
        target['delta'] = _int(device.get('total_bytes')) - _int(device.get('online_bytes'))
        if device.get('movable') is not None and bool(device['movable']) != target['movable']:
            target['problem'] = ('%s (%s) is online in the %s zone, not as asked (movable=%s): remove it with state '
                                 'absent and add it again' % (target['name'], target['region'],
                                                              'Movable' if device['movable'] else 'Normal', target['movable']))
    elif device:
        target['delta'] = (_int(device.get('size')) // block) * block if block else 0
    else:
        target['problem'] = '%s (%s) has no dax device' % (target['name'], target['region'])


def _cxl_absent_targets(view, item, ram_regions, targets, unowned):
    asked = list(item.get('memdevs') or [])
    for region in ram_regions:
        if (asked and not set(asked) & set(region.get('memdevs') or [])) \
                or region['name'] in [target['region'] for target in targets]:
            continue
        target = _cxl_target(view, item, region['memdevs'], region)
        if not target['owned'] and not target['adopt']:
            if not asked:
                unowned.setdefault(region['name'], {'name': target['name'], 'why': region_not_owned_message(region)})
                continue
            target['problem'] = '%s (in pmem_system_ram_cxl_regions)' % region_not_owned_message(region)
        targets.append(target)


def _cxl_present_targets(view, item, memdevs, targets):
    cxl = view.get('cxl') or {}
    ram_regions = [region for region in cxl.get('regions') or [] if region.get('type') == 'ram']
    asked = list(item.get('memdevs') or [])
    if not asked and not memdevs:
        targets.append(dict(_cxl_target(view, item, [], None), problem=(
            'no CXL memdev with RAM capacity on this host (pmem_info cxl.memdevs: %s)'
            % (', '.join(memdev.get('name', '?') for memdev in cxl.get('memdevs') or []) or 'none'))))
        return
    unknown = [name for name in asked if name not in [memdev['name'] for memdev in memdevs]]
    if unknown:
        targets.append(dict(_cxl_target(view, item, asked, None), problem=(
            'no CXL memdev %s with RAM capacity (memdevs: %s)'
            % (', '.join(unknown), ', '.join(memdev['name'] for memdev in memdevs) or 'none'))))
        return
    for group in [asked] if asked else [[memdev['name']] for memdev in memdevs]:
        exact = [region for region in ram_regions if sorted(region.get('memdevs') or []) == sorted(group)]
        used = [region for region in cxl.get('regions') or [] if set(group) & set(region.get('memdevs') or [])]
        if exact or (used and not asked):
            region = (exact or used)[0]
            if region['name'] in [target['region'] for target in targets]:
                continue
            target = _cxl_target(view, item, region['memdevs'], region)
            if region.get('type') != 'ram':
                target['problem'] = '%s is in %s, a %s region' % (target['name'], region['name'], region.get('type'))
            else:
                _plan_cxl_present(view, target)
        else:
            target = _cxl_target(view, item, group, None)
            if used:
                target['problem'] = ('%s already used by %s: remove that region first'
                                     % (', '.join(group), ', '.join(region['name'] for region in used)))
            else:
                _plan_new_cxl(view, target, item)
        targets.append(target)


def cxl_targets(view, items, state, alone=None):
    """One target per CXL region the items ask for (present) or name (absent).

    Absent destroys only what pmem.dax created: a region the ownership record does not list is a problem
    when an item names its memdevs, and is left alone when the item names none - not a target, but
    appended to alone (when given) as {name, why}. An item's adopt takes such regions over.
    """
    cxl = view.get('cxl') or {}
    memdevs = [memdev for memdev in cxl.get('memdevs') or [] if _int(memdev.get('ram_size'))]
    ram_regions = [region for region in cxl.get('regions') or [] if region.get('type') == 'ram']
    targets = []
    unowned = {}
    for item in items:
        if state == 'absent':
            _cxl_absent_targets(view, item, ram_regions, targets, unowned)
        else:
            _cxl_present_targets(view, item, memdevs, targets)
    for target in targets:
        device = view.get('chardevs', {}).get(target['device']) or {}
        if state == 'absent':
            target['delta'] = -_int(device.get('online_bytes')) if device.get('mode') == 'system-ram' else 0
        target['region_done'] = target['exists']
        target['memory_done'] = device.get('mode') == 'system-ram' and target['delta'] == 0
    if alone is not None:
        # A region one item leaves alone may be another's target (named with adopt).
        alone.extend(entry for name, entry in sorted(unowned.items())
                     if name not in [target['region'] for target in targets])
    return targets


def forecast(view, targets):
    nodes = dict((node, {'kernel': _int(memory.get('kernel')), 'movable': _int(memory.get('movable'))})
                 for node, memory in view.get('nodes', {}).items())
    for target in targets:
        memory = nodes.setdefault(target['node'], {'kernel': 0, 'movable': 0})
        memory['movable' if target['movable'] else 'kernel'] += target['delta']
    return nodes


def plan_errors(view, items, targets, nodes, state, prefix, max_movable_ratio, mem_available, removal_reserve,
                memmap_on_memory=False):
    errors = []
    if state == 'present' and not items and not any(target.get('memdevs') is not None for target in targets):
        errors.append(
            'No region has free space and no namespace named %s* was created by pmem.dax. Free space in a region (destroy namespaces you '
            'no longer need), or list the namespaces in pmem_system_ram_namespaces. A region that shows one raw '
            'namespace spanning it has no labels: initialise them once with the pmem.dax.pmem_namespace module '
            '(init_labels=true, force=true; this wipes the region).' % prefix)
    problems = [target['problem'] for target in targets if target['problem']]
    if problems:
        errors.append('Nothing was changed: %s.' % '; '.join(problems))
    # The kernel keeps page tables, slab and other unmovable data in kernel zones; with too little of it
    # against ZONE_MOVABLE, hosts run out of kernel memory while plenty is free. The page map of memory
    # hot-plugged now (64 bytes per 4 KiB page) is taken from the kernel memory the host already has (the new
    # memory is not online yet when kmem adds it), so it counts against the kernel side.
    movable = sum(memory['movable'] for memory in nodes.values())
    # With memmap_on_memory the page map goes on the new memory itself (its first pages), not on the kernel side.
    memmap = 0 if memmap_on_memory else sum(
        target['delta'] // MEMMAP_FRACTION for target in targets
        if target['delta'] > 0 and target.get('mode') != 'system-ram' and not target['problem'])
    kernel = sum(memory['kernel'] for memory in nodes.values()) - memmap
    if state == 'present' and max_movable_ratio > 0 and movable > max_movable_ratio * kernel:
        errors.append(
            'After the change this host would have %.1f GiB of movable memory against %.1f GiB of kernel memory%s, a '
            'ratio of %.1f:1, above the limit of %g:1 (pmem_system_ram_max_movable_ratio). Add less (size), online '
            'some of it as kernel memory (movable=false, which cannot be removed later), or raise the limit if you '
            'know the workload.' % (movable / GIB, kernel / GIB,
                                    ' (after the %.0f MiB page map of the new memory)' % (memmap / MIB) if memmap else '',
                                    movable / max(kernel, 1), max_movable_ratio))
    # Offlining migrates every page on the devices to other memory: without room for them the kernel retries
    # until the timeout (kernel 6.1) or the OOM killer ends a process (6.12).
    removed = abs(sum(target['delta'] for target in targets))
    if state == 'absent' and view.get('hotremove') and mem_available - removed < _bytes(removal_reserve, 'removal_reserve'):
        errors.append(
            'Removing %.1f GiB would leave %.1f MiB available (MemAvailable minus the memory to remove), less than '
            'the %s reserve (pmem_system_ram_removal_reserve). Stop or shrink what uses the memory, then run the role '
            'again.' % (removed / GIB, (mem_available - removed) / MIB, removal_reserve))
    return errors


def movable_only_node_errors(view, targets, nodes, demotion):
    """The nodes this change would leave with only ZONE_MOVABLE memory, no CPU and page demotion off.

    The kernel never puts its own data (slab, page tables) in ZONE_MOVABLE, and the default policy allocates
    on the local node first: a CPU-less node with only movable memory is used by processes only when every
    other node runs short, or through demotion. Such a host can run out of kernel memory, or reclaim hard,
    while the new memory sits idle (the kernel's CXL page-allocator notes). Demotion on, some kernel memory on
    the node, or the user's explicit consent (allow_movable_only_node) makes it a choice, not a trap.
    """
    if demotion or view.get('demotion'):
        return []
    cpu_nodes = view.get('cpu_nodes') or []
    growing = sorted(set(target['node'] for target in targets
                         if target['delta'] > 0 and target['movable'] and not target['problem']))
    errors = []
    for node in growing:
        memory = nodes.get(node, {})
        if node in cpu_nodes or memory.get('kernel') or not memory.get('movable'):
            continue
        errors.append(
            'Nothing was changed: node %s would hold %.2f GiB, all of it movable, and has no CPU. With page demotion '
            'off the kernel never places its own data there and processes reach it only when every other node '
            'runs short, so the host can run out of memory while this sits idle. Turn demotion on '
            '(pmem_system_ram_demotion: true), online some of it as kernel memory (movable: false, not removable '
            'later), or accept it (pmem_system_ram_allow_movable_only_node: true).'
            % ('chosen by the kernel' if node == 'cxl' else node, memory['movable'] / GIB))
    return errors


def plan_system_ram(view, state, namespaces=None, prefix=DEFAULT_PREFIX, max_movable_ratio=3, mem_available=0,
                    removal_reserve='256m', cxl_regions=None, chosen=None, demotion=False,
                    allow_movable_only_node=False, memmap_on_memory=False):
    """The plan of one host: {targets, cxl_targets, forecast, left_alone, errors} (the module's RETURN).

    Each target: name, movable, region (name), size (bytes, new namespaces only), node (NUMA node of the
    memory, a string), exists, mode (devdax | system-ram | null), delta (bytes of online memory the change
    adds, negative for a removal; an upper bound for a new namespace), problem ('' or why it cannot be done),
    namespace_done / memory_done (nothing left to do for the namespace / its memory), owned, adopt, force.
    Each CXL target: name (cxl:mem0), memdevs, region, device (daxN.M), size, node ('cxl' for a region not
    created yet: the kernel picks its node), delta, problem, region_done, memory_done, owned, adopt.
    ``chosen``: {name: {region, size}} of the namespaces to create, as plan_namespaces decided (plan_target).
    ``demotion``: this run turns page demotion on; ``allow_movable_only_node``: no refusal of a CPU-less node
    left with only movable memory (movable_only_node_errors); ``memmap_on_memory``: the page map of the new
    memory goes on that memory itself (the ratio check does not count it on the kernel side).
    """
    if state not in ('present', 'absent'):
        raise ValueError('state must be present or absent, got %r' % (state,))
    errors = []
    items = list(namespaces or []) or default_items(view, state, prefix)
    planned = []
    for item in items:
        try:
            planned.append(plan_target(view, item, state, (chosen or {}).get(item['name'])))
        except ValueError as exc:
            errors.append('Nothing was changed: %s: %s.' % (item.get('name'), exc))
    alone = left_alone(view, items, planned, prefix)
    targets = [target for target in planned if not target.get('left_alone')]
    if any(item.get('default') for item in items):
        items = [item for item in items if item['name'] in [target['name'] for target in targets]]
    cxl = []
    try:
        cxl = cxl_targets(view, list(cxl_regions or []), state, alone)
    except ValueError as exc:
        errors.append('Nothing was changed: pmem_system_ram_cxl_regions: %s.' % exc)
    nodes = forecast(view, targets + cxl)
    errors += plan_errors(view, items, targets + cxl, nodes, state, prefix, float(max_movable_ratio or 0),
                          _int(mem_available), removal_reserve, memmap_on_memory)
    if state == 'present' and not allow_movable_only_node:
        errors += movable_only_node_errors(view, targets + cxl, nodes, demotion)
    return {'targets': targets, 'cxl_targets': cxl, 'forecast': nodes, 'errors': errors, 'left_alone': alone}


# -- after the change ---------------------------------------------------------------------------------------


def _online_ram(device):
    return _int(device.get('online_bytes')) if device.get('mode') == 'system-ram' else 0


def _device_problems(label, device, movable):
    if device.get('mode') != 'system-ram':
        return ['%s is not in system-ram mode (%s)' % (label, device.get('mode') or 'no dax device')]
    if _int(device.get('online_blocks')) != _int(device.get('total_blocks')):
        return ['%s: only %s of %s memory blocks online' % (label, device.get('online_blocks'), device.get('total_blocks'))]
    if device.get('movable') is not None and bool(device['movable']) != movable:
        return ['%s: memory is in the %s zone, asked for movable=%s'
                % (label, 'Movable' if device['movable'] else 'Normal', movable)]
    return []


def verify(plan, state, before, after, pending=()):
    """Why the host read after the change does not match the plan: [] when it does.

    The devices count blocks per device; the kernel counts each node's online memory separately. The two
    must agree: each node grew (or shrank) by exactly the memory of the devices that changed on it.
    ``pending`` names namespaces whose memory only a reboot can release (no hot-remove).
    """
    problems = []
    expected = {}

    def account(node, change):
        expected[node] = expected.get(node, 0) + change

    for target in plan['targets']:
        old = before['devices'].get(target['name']) or {}
        new = after['devices'].get(target['name']) or {}
        if state == 'present':
            problems += _device_problems(target['name'], new, target['movable'])
            account(target['node'], _online_ram(new) - _online_ram(old))
        elif target['name'] in pending:
            account(target['node'], _online_ram(new) - _online_ram(old))
        else:
            if target['name'] in after['namespaces']:
                problems.append('namespace %s still exists' % target['name'])
            account(target['node'], -_online_ram(old))
    regions = [region for region in after['cxl'].get('regions') or [] if region.get('type') == 'ram']
    for target in plan['cxl_targets']:
        old = before['chardevs'].get(target['device']) or {} if target['device'] else {}
        found = next((region for region in regions if sorted(region['memdevs']) == sorted(target['memdevs'])), None)
        if state == 'present':
            new = after['chardevs'].get(((found or {}).get('dax_devices') or [None])[0]) or {}
            if found is None:
                problems.append('no CXL RAM region over %s' % ', '.join(target['memdevs']))
            else:
                problems += _device_problems('%s (%s)' % (target['name'], found['name']), new, target['movable'])
            account(str(new.get('target_node', target['node'])), _online_ram(new) - _online_ram(old))
        elif before.get('hotremove'):
            if found is not None:
                problems.append('CXL region %s over %s still exists' % (found['name'], ', '.join(target['memdevs'])))
            account(target['node'], -_online_ram(old))
    # Devices no target names change only with another run's work (which holds the host lock for its whole
    # run, so not during this one) or the kernel's own: counted, so that only memory no device explains fails.
    named = set(target['name'] for target in plan['targets'])
    cxl_chardevs = set(target['device'] for target in plan['cxl_targets'] if target['device'])
    for region in regions:
        if any(sorted(region['memdevs']) == sorted(target['memdevs']) for target in plan['cxl_targets']):
            cxl_chardevs.update(region.get('dax_devices') or [])
    for chardev in sorted(set(before['chardevs']) | set(after['chardevs'])):
        old = before['chardevs'].get(chardev) or {}
        new = after['chardevs'].get(chardev) or {}
        if (old.get('name') or new.get('name')) in named or chardev in cxl_chardevs:
            continue
        change = _online_ram(new) - _online_ram(old)
        if change:
            account(str(new.get('target_node', old.get('target_node'))), change)
    zero = {'kernel': 0, 'movable': 0}
    for node in sorted(set(before['nodes']) | set(after['nodes']) | set(expected)):
        if node == NEW_CXL_NODE:
            continue
        b = before['nodes'].get(node, zero)
        a = after['nodes'].get(node, zero)
        grew = a['kernel'] + a['movable'] - b['kernel'] - b['movable']
        if grew != expected.get(node, 0):
            problems.append('node %s online memory changed by %s bytes, the devices account for %s'
                            % (node, grew, expected.get(node, 0)))
    return problems


def _gib(value):
    return '%.2f GiB' % (value / float(GIB))


def node_line(memory):
    return '%s (kernel %s, movable %s)' % (_gib(memory['kernel'] + memory['movable']), _gib(memory['kernel']),
                                           _gib(memory['movable']))


def summary_lines(kernel, view, nodes_after, changes, alone, check_mode, tiering_before=None, tiering_after=None,
                  udev_lines=()):
    """The summary a person reads: the policy, what udev rules that online memory mean here, each node before ->
    after (memory by zone kind; tier, huge pages, interleave weight and demotion/promotion counters where the
    kernel has them), each change, what was left alone. ``tiering_before``/``tiering_after``:
    _tiering.tiering_by_node of the host before and after; ``udev_lines``: udev_decision's lines."""
    lines = ['kernel %s, auto_online_blocks=%s (blocks kept offline until daxctl picks the zone)'
             % (kernel, view.get('auto_online') or 'unknown')]
    lines.extend('udev: ' + line for line in udev_lines)
    zero = {'kernel': 0, 'movable': 0}
    tiering_before, tiering_after = tiering_before or {}, tiering_after or {}
    for node in sorted(set(view['nodes']) | set(nodes_after)):
        node_after = nodes_after.get(node, zero)
        line = 'node %s: %s -> %s' % (node, node_line(view['nodes'].get(node, zero)), node_line(node_after))
        text = tiering_text(tiering_before.get(str(node)), tiering_after.get(str(node)))
        if text and (node_after['kernel'] or node_after['movable']):
            line += '; ' + text
        lines.append(line)
    prefix = 'would: ' if check_mode else 'changed: '
    lines.extend(prefix + change for change in changes)
    if not changes:
        lines.append('no change needed')
    lines.extend('left alone: %s: %s' % (entry['name'], entry['why']) for entry in alone)
    return lines


# -- the run ------------------------------------------------------------------------------------------------


def desired_namespace(target, item, state, uuid=None):
    """The pmem_namespace item of a target (plan_namespaces' desired)."""
    size = item.get('size')
    return {'name': target['name'], 'state': state, 'mode': 'devdax', 'several': True,
            'region': item.get('region') if state == 'present' else None,
            'numa_node': item.get('numa_node') if state == 'present' else None,
            'size': _bytes(size) if size is not None and state == 'present' else None, 'align': None,
            'force': target['force'] if state == 'absent' else False, 'init_labels': False,
            'adopt': target['adopt'], 'uuid': uuid}


def desired_region(target, state, record):
    """The cxl_region desired of a CXL target (plan_region's)."""
    if state == 'absent':
        return {'state': 'absent', 'type': 'ram', 'region': target['region'], 'memdevs': None, 'size': None,
                'decoder': None, 'online': True, 'movable': target['movable'], 'ownership': True,
                'adopt': target['adopt'], 'record': record}
    return {'state': 'present', 'type': 'ram', 'region': None, 'memdevs': list(target['memdevs']),
            'size': target['size'], 'decoder': None, 'online': True, 'movable': target['movable'],
            'ownership': True, 'adopt': target['adopt'], 'record': record}


def change_lines(state, plan, done, check_mode, pending=()):
    """What the run changed (or, in check mode, would change), one line each.

    ``done``: {'created': names, 'adopted': names, 'plugged': names, 'offlined': names, 'devdax': names,
    'destroyed': names, 'cxl_created': cxl targets, 'cxl_onlined': cxl targets, 'cxl_offlined': cxl targets,
    'cxl_destroyed': region names, 'demotion': bool, 'tiering': lines, 'udev_written': udev_decision entries,
    'udev_removed': entries}. udev overrides come first (before the first hot-plug); tiering is undone before the
    memory goes and set after it came.
    """
    lines = ['udev rules override %s written (the rules of %s that online memory skip memory blocks)'
             % (entry['override']['path'], entry['path']) for entry in done.get('udev_written', ())]
    lines.extend('udev rules override %s removed (not needed any more)' % entry['override']['path']
                 for entry in done.get('udev_removed', ()))
    if state == 'absent':
        lines.extend(done.get('tiering', ()))
    zone = {True: 'movable', False: 'kernel, not removable'}
    for target in plan['targets']:
        if target['name'] in done.get('adopted', ()):
            lines.append('namespace %s adopted (recorded as created by pmem.dax)' % target['name'])
        if target['name'] in done.get('created', ()):
            lines.append('namespace %s created in %s' % (target['name'], target['region']))
    for target in plan['targets']:
        if target['name'] in done.get('plugged', ()):
            where = ', page map on its own memory' if done.get('memmap') else ''
            lines.append('%s hot-plugged as system RAM (%s%s)' % (target['name'], zone[target['movable']], where))
    for target in done.get('cxl_created', ()):
        lines.append('CXL RAM region over %s created as system RAM (%s)'
                     % (', '.join(target['memdevs']), zone[target['movable']]))
    for target in done.get('cxl_onlined', ()):
        lines.append('%s (%s) memory brought online' % (target['name'], target['region']))
    if done.get('demotion'):
        lines.append('page demotion to the slower memory tier enabled')
    if state == 'present':
        lines.extend(done.get('tiering', ()))
    lines.extend('memory offlined (pages migrated out): %s' % name for name in done.get('offlined', ()))
    lines.extend('back to devdax: %s' % name for name in done.get('devdax', ()))
    lines.extend('memory offlined (pages migrated out): %s' % target['name'] for target in done.get('cxl_offlined', ()))
    lines.extend('CXL region destroyed: %s' % name for name in done.get('cxl_destroyed', ()))
    lines.extend('namespace destroyed: %s' % name for name in done.get('destroyed', ()))
    lines.extend('memory of %s is released at the next reboot (no memory hot-remove in this kernel)' % name
                 for name in pending)
    return lines


def config_entries(state, plan, view, memmap_on_memory=False):
    """The boot-time config's entries of this run's targets (dax_persist's namespaces and cxl_regions);
    ``memmap_on_memory``: the boot script sets each device's switch again before the hot-plug."""
    if state == 'absent':
        return ([{'name': target['name']} for target in plan['targets']],
                [{'memdevs': target['memdevs']} for target in plan['cxl_targets']])
    namespaces = []
    for target in plan['targets']:
        namespace = view['namespaces'].get(target['name']) or {}
        entry = {'name': target['name'], 'movable': target['movable'], 'uuid': namespace.get('uuid')}
        if memmap_on_memory:
            entry['memmap_on_memory'] = True
        namespaces.append(entry)
    regions = [{'memdevs': target['memdevs'], 'size': target['size'], 'movable': target['movable']}
               for target in plan['cxl_targets']]
    return namespaces, regions


class StepError(Exception):
    """A change failed: the message, and what the run did before it."""


class SystemRamRun(object):
    """One run of the system_ram module on one host, under the host lock the caller holds.

    read() -> plan() (fails before any change) -> apply() (real runs) -> verify(). The single-purpose
    planners decide each step, the executors of module_utils carry them out; every step after a change
    is planned again on the host as it is then, so what runs is what the host needs.
    """

    def __init__(self, module, runner, sysfs, params):
        self.module = module
        self.runner = runner
        self.sysfs = sysfs
        self.params = params
        self.state_name = params['state']
        self.items = list(params.get('namespaces') or [])
        self.cxl_items = list(params.get('cxl_regions') or [])
        self.record_path = _ownership.record_path(sysfs)
        # A property of the kernel, read once: each read lists every memory block of the host.
        self.hotremove = sysfs.hotremove()
        # The tiering settings as asked (state present) or what undoes them (absent); None: none asked.
        self.tiering = None
        settings = dict((key, value) for key, value in (params.get('tiering') or {}).items()
                        if value is not None and value != [] and value != {})
        if settings:
            self.tiering = settings if self.state_name == 'present' else undo_settings(settings)
        self.done = {}
        self.pending = []
        self.commands = []
        # host_facts (tools, udev rules, kernel features) and the cxl section as read(), for preflight().
        self.facts = None
        self.cxl = None
        self.udev = udev_decision([], self.state_name, False, False)

    # -- reading ----------------------------------------------------------------------------------------

    def _read_record(self):
        return _ownership.read_record(self.record_path)

    def read(self, state=None):
        """The host as it is now: (HostState, view); CXL only when the run has CXL items. ``state``: a
        HostState read just now, reused."""
        state = state or HostState.read(self.runner, self.sysfs)
        record = self._read_record()
        cxl = cxl_summary(self.runner, self.sysfs) if self.cxl_items else None
        self.cxl = cxl
        return state, host_view(state, record, self.hotremove, cxl, self.sysfs.demotion_enabled())

    def read_facts(self):
        """The host's tools, udev rules that online memory and kernel features (_host.host_facts), once."""
        if self.facts is None:
            self.facts = host_facts(self.runner, self.sysfs)
        return self.facts

    def tiering_now(self, view=None):
        """The tiering knobs and, per node, memory by zone kind, pools, weight, tier and counters; ``view``: the
        host_view read just now, whose memory per node is reused."""
        return read_tiering(self.sysfs, view['nodes'] if view else None)

    def _users_of(self, state, offlined=()):
        """What uses a namespace, without the online memory this run takes offline before it destroys."""
        def users_of(namespace):
            usage = namespace_users(state, namespace)
            if namespace['name'] in offlined:
                return Usage(None, usage.others, usage.data)
            return usage
        return users_of

    # -- planning ---------------------------------------------------------------------------------------

    def _item_of(self, name):
        return next((item for item in self.items if item['name'] == name), {})

    def preflight(self, state, view):
        """What the kernel and the host lack for the run, and what to do about udev rules that online memory
        (self.udev); raises StepError with every reason the run cannot go on. ``state``, ``view``: read()."""
        facts = self.read_facts()
        params = self.params
        problems = host_problems(
            dict(features=facts['features'], block_size=view['block_size'], dax_model=state.dax_model,
                 regions=len(view['regions']), demotion_enabled=view['demotion'], cxl=self.cxl,
                 cxl_path=facts['cxl_path'], kernel=self.sysfs.kernel_release()),
            self.state_name, wants_cxl=bool(self.cxl_items), demotion=bool(params.get('demotion')))
        self.udev = udev_decision(facts['udev_rules'], self.state_name, params.get('udev_override', True),
                                  self.module.check_mode)
        problems += self.udev['problems']
        if problems:
            raise StepError('Nothing was changed: %s' % ' '.join(problems))

    def plan(self, state, view, tiering=None):
        """The plan (plan_system_ram's) and the single-purpose plans of its first steps: (plan, steps).

        steps: {'namespaces': [(desired, Plan)], 'memory': [(device, Plan)], 'regions': [(target, desired, Plan)],
        'tiering': plan_tiering's plan or None}. ``tiering``: tiering_now(), read with ``state``.
        Raises StepError with every reason the change cannot be done (preflight()'s first), before any change.
        """
        self.preflight(state, view)
        params = self.params
        options = dict(state=self.state_name, namespaces=self.items, prefix=params['name_prefix'],
                       max_movable_ratio=params['max_movable_ratio'],
                       mem_available=self.sysfs.meminfo().get('MemAvailable') or 0,
                       removal_reserve=params['removal_reserve'], cxl_regions=self.cxl_items,
                       demotion=bool(params.get('demotion')),
                       allow_movable_only_node=bool(params.get('allow_movable_only_node')),
                       memmap_on_memory=bool(params.get('memmap_on_memory')) and self.state_name == 'present')
        try:
            plan = plan_system_ram(view, **options)
        except ValueError as exc:
            raise StepError('Nothing was changed: %s' % exc)
        if plan['errors']:
            raise StepError(' '.join(plan['errors']))
        record = self._read_record()
        steps = {'namespaces': [], 'memory': [], 'regions': []}
        if self.state_name == 'present':
            creates = [desired_namespace(target, self._item_of(target['name']), 'present', _ownership.new_uuid())
                       for target in plan['targets'] if not target['namespace_done']]
            planned, error = plan_namespaces(state, creates, self._users_of(state), record)
            if error:
                raise StepError('Nothing was changed: %s' % error)
            chosen = dict((desired['name'], {'region': step.after['region'], 'size': step.after['size']})
                          for desired, step in planned if step.changed and step.after.get('state') == 'present'
                          and not view['namespaces'].get(desired['name']))
            if chosen:
                plan = plan_system_ram(view, chosen=chosen, **options)
                if plan['errors']:
                    raise StepError(' '.join(plan['errors']))
            steps['namespaces'] = planned
        steps['memory'] = self._memory_steps(state, plan)
        if self.pending and not params.get('reboot_allowed', True):
            raise StepError('Nothing was changed: %s' % (NO_HOTREMOVE % ', '.join(self.pending)))
        steps['regions'] = self._region_steps(plan, record)
        if self.state_name == 'absent':
            steps['namespaces'] = self._destroy_steps(state, plan, record)
        if self.state_name == 'present' and params.get('memmap_on_memory'):
            self._check_memmap_on_memory(state, plan)
        steps['tiering'] = self._plan_tiering(tiering, plan) if self.tiering else None
        return plan, steps

    def _plan_tiering(self, tiering, plan):
        """The tiering writes, planned on the nodes as the memory change forecasts them (a present run sets them
        once its memory is online, and plans them again then; an absent run undoes them before the memory goes)."""
        try:
            desired = dict(self.tiering, weighted_interleave=normalize_weights(self.tiering.get('weighted_interleave')))
        except ValueError as exc:
            raise StepError('Nothing was changed: %s' % exc)
        self.tiering = desired
        # Only numbered nodes: memory of a CXL region not created yet has no node number before it exists.
        forecast = dict((node, memory) for node, memory in plan['forecast'].items() if str(node).isdigit()) \
            if self.state_name == 'present' else None
        planned = plan_tiering(tiering or self.tiering_now(), desired, forecast)
        if planned['errors']:
            raise StepError('Nothing was changed: %s.' % '; '.join(planned['errors']))
        return planned

    def _check_memmap_on_memory(self, state, plan):
        """Refuses, before any change, a page map on the new memory the kernel would not place there: the
        per-device switch (Linux 6.8) only works with memory_hotplug.memmap_on_memory on, which is read-only
        once booted (a kernel command-line argument); without it kmem quietly puts the map in DRAM."""
        value = self.sysfs.memmap_on_memory()
        if value is None:
            raise StepError('Nothing was changed: memmap_on_memory=true, but this kernel has no %s (built without '
                            'CONFIG_MHP_MEMMAP_ON_MEMORY)' % MEMMAP_ON_MEMORY_PATH)
        if value.strip().lower() not in ('y', '1', 'force'):
            raise StepError('Nothing was changed: memmap_on_memory=true, but %s is %s: boot with '
                            'memory_hotplug.memmap_on_memory=1 on the kernel command line (it cannot be switched on '
                            'while the host runs), or leave memmap_on_memory off' % (MEMMAP_ON_MEMORY_PATH, value.strip()))
        pending = [target for target in plan['targets'] if not target['memory_done']]
        probes = [self.sysfs.dax_memmap_on_memory(chardev) for chardev in state.dax_devices]
        if pending and probes and all(probe is None for probe in probes):
            raise StepError('Nothing was changed: memmap_on_memory=true, but the dax devices of this kernel have no '
                            'memmap_on_memory switch (Linux 6.8 or newer)')

    def _set_memmap_on_memory(self, target, device):
        """The device's switch, set before kmem takes the device (it decides at hot-plug)."""
        if not self.params.get('memmap_on_memory') or device.chardev is None:
            return
        if self.sysfs.dax_memmap_on_memory(device.chardev) is True:
            return
        path = '/sys/bus/dax/devices/%s/memmap_on_memory' % device.chardev
        self.runner.run_change('tee', [self.sysfs.path(path)], data='1')
        if self.sysfs.dax_memmap_on_memory(device.chardev) is not True:
            raise StepError('%s: could not set %s to 1 (kernels before 6.8 have no such switch)' % (target['name'], path))

    def _memory_steps(self, state, plan, fresh=False):
        """plan_mode / plan_memory of every existing dax device whose memory changes (the room check included).

        ``fresh``: ``state`` was read after this run created its namespaces, which have dax devices now.
        """
        host_memory = read_host_memory(self.sysfs)
        steps = []
        hotremove = self.hotremove is not False
        for target in plan['targets'] + plan['cxl_targets']:
            is_cxl = 'memdevs' in target
            if self.state_name == 'present':
                existing = target['region_done'] if is_cxl else (target['exists'] or fresh)
                if target['memory_done'] or not existing:
                    continue
            elif target['mode'] != 'system-ram':
                continue
            elif not hotremove:
                self.pending.append(target['name'])
                continue
            if is_cxl:
                device, error = device_from_state(state, target['device']), None
            else:
                device, error = find_device(state, namespace=target['name'])
            if device is None:
                raise StepError('Nothing was changed: %s' % (error or '%s has no dax device' % target['name']))
            if self.state_name == 'present':
                step, _misplaced = plan_mode(device, MODE_SYSTEM_RAM, online=True, movable=target['movable'],
                                             host_memory=host_memory, auto_online=state.auto_online_blocks)
            elif is_cxl:
                step, _misplaced = plan_memory(device, 'offline', host_memory=host_memory)
            else:
                step, _misplaced = plan_mode(device, MODE_DEVDAX, host_memory=host_memory)
            if step.error:
                raise StepError('Nothing was changed: %s: %s' % (target['name'], step.error))
            steps.append((target, device, step))
            host_memory = memory_after(host_memory, device, step)
        return steps

    def _cxl_state(self):
        return CxlState.read(self.runner)

    def _region_steps(self, plan, record):
        """plan_region of each CXL region to create (present) or destroy once its memory is offline (absent)."""
        if not plan['cxl_targets']:
            return []
        cxl = self._cxl_state()
        steps = []
        for target in plan['cxl_targets']:
            if self.state_name == 'present' and target['region_done']:
                continue
            if self.state_name == 'absent' and target['name'] in self.pending:
                continue
            desired = desired_region(target, self.state_name, record)
            if self.state_name == 'absent' and target['mode'] == 'system-ram':
                # Its memory goes offline first: planned again then (plan_region refuses online memory).
                steps.append((target, desired, None))
                continue
            step = plan_region(cxl, desired)
            if step.error:
                raise StepError('Nothing was changed: %s: %s' % (target['name'], step.error))
            steps.append((target, desired, step))
        return steps

    def _destroy_steps(self, state, plan, record):
        """plan_namespaces of the namespaces to destroy, their memory counted as offline already."""
        destroys = [desired_namespace(target, {}, 'absent') for target in plan['targets']
                    if target['exists'] and target['name'] not in self.pending]
        offlined = [target['name'] for target in plan['targets'] if target['mode'] == 'system-ram']
        planned, error = plan_namespaces(state, destroys, self._users_of(state, offlined), record)
        if error:
            raise StepError('Nothing was changed: %s' % error)
        return planned

    @staticmethod
    def planned_commands(steps):
        commands = [argv for desired, step in steps['namespaces'] for argv in step.commands]
        commands += [argv for target, device, step in steps['memory'] for argv in step.commands]
        commands += [argv for target, desired, step in steps['regions'] if step for argv in step.commands]
        return commands

    def predicted_done(self, plan, steps, view):
        """What check mode says the run would do (change_lines' done)."""
        done = {'adopted': [desired['name'] for desired, step in steps['namespaces']
                            if any(action.kind == 'record' for action in step.actions)],
                'udev_written': self.udev['write'], 'udev_removed': self.udev['remove']}
        if self.state_name == 'present':
            done['created'] = [desired['name'] for desired, step in steps['namespaces']
                               if any(action.argv and action.argv[1] == 'create-namespace' for action in step.actions)]
            done['plugged'] = [target['name'] for target in plan['targets'] if not target['memory_done']]
            done['memmap'] = bool(self.params.get('memmap_on_memory'))
            done['cxl_created'] = [target for target, desired, step in steps['regions'] if step and step.changed]
            done['cxl_onlined'] = [target for target in plan['cxl_targets']
                                   if target['region_done'] and not target['memory_done']]
            done['demotion'] = bool(self.params.get('demotion')) and not self.sysfs.demotion_enabled()
        else:
            memory = [target for target, device, step in steps['memory'] if 'memdevs' not in target]
            done['offlined'] = [target['name'] for target, device, step in steps['memory']
                                if 'memdevs' not in target and device.online_blocks()]
            done['devdax'] = [target['name'] for target in memory]
            done['cxl_offlined'] = [target for target, device, step in steps['memory']
                                    if 'memdevs' in target and step.changed]
            done['cxl_destroyed'] = [target['region'] for target, desired, step in steps['regions']]
            done['destroyed'] = [desired['name'] for desired, step in steps['namespaces'] if step.changed
                                 and any(action.kind == 'command' for action in step.actions)]
        if steps.get('tiering'):
            done['tiering'] = [write['what'] for write in steps['tiering']['writes']]
        return done

    # -- applying ---------------------------------------------------------------------------------------

    def _apply_tiering(self, writes):
        """The tiering writes; one that does not read back as asked is written back with those before it."""
        try:
            apply_tiering(self.runner, self.sysfs, writes)
        except TieringError as exc:
            raise StepError(exc.message)
        self.done['tiering'] = [write['what'] for write in writes]

    def tiering_problems(self, tiering):
        """What the host, read after the run (``tiering``), still lacks of the tiering asked."""
        if not self.tiering:
            return []
        planned = plan_tiering(tiering, self.tiering)
        return planned['errors'] + ['still to do: %s' % write['what'] for write in planned['writes']]

    def _run_memory(self, target, device, step):
        executor = MemoryExecutor(self.runner, self.sysfs, device, timeout=self.params['timeout'],
                                  retries=self.params['retries'])
        try:
            executor.execute(step)
        except MemoryOperationError as exc:
            raise StepError('%s: %s' % (target['name'], exc.message))
        finally:
            for warning in executor.warnings:
                self.module.warn(warning)

    def _apply_namespaces(self, planned):
        if not any(step.changed for desired, step in planned):
            return HostState.read(self.runner, self.sysfs)
        state, outcomes, failure = apply_namespace_plans(self.module, self.runner, self.sysfs, planned,
                                                         self.record_path, self._read_record())
        for outcome in outcomes:
            # changed: a command ran; only the host read again says whether it did what it should.
            reached = namespace_presence_reached(state, outcome)
            if outcome['changed'] and reached:
                desired = next(desired for desired, step in planned if desired['name'] == outcome['name'])
                adopted = any(action.kind == 'record' for desired_, step in planned if desired_ is desired
                              for action in step.actions)
                key = 'adopted' if adopted else ('created' if desired['state'] == 'present' else 'destroyed')
                self.done.setdefault(key, []).append(outcome['name'])
        missed = [desired['name'] for desired, step in planned
                  if not namespace_presence_reached(state, desired)]
        if missed:
            raise StepError('namespace%s %s not %s after the run%s' % (
                's' if len(missed) > 1 else '', ', '.join(missed), planned[0][0]['state'], failure_detail(failure)))
        return state

    def _apply_region(self, target, desired, step):
        desired = dict(desired, record=self._read_record())
        if step is None:
            step = plan_region(self._cxl_state(), desired)
            if step.error:
                raise StepError('%s: %s' % (target['name'], step.error))
        if not step.changed:
            return
        cxl, failure = apply_region_plan(self.module, self.runner, self.sysfs, step, desired, self.record_path,
                                         desired['record'])
        if not region_goal_reached(cxl, desired):
            raise StepError('%s: the CXL region is not %s after the run%s'
                            % (target['name'], desired['state'], failure_detail(failure)))
        self.done.setdefault('cxl_created' if desired['state'] == 'present' else 'cxl_destroyed', []).append(
            target if desired['state'] == 'present' else target['region'])

    def _apply_udev(self):
        """Write and remove the udev overrides preflight() decided on, then make udev read its rules again:
        before the first hot-plug, so that no rule onlines the new memory in its own zone."""
        for entry in self.udev['write']:
            write_text(self.module, self.sysfs.path(entry['override']['path']),
                       entry['override']['content'], mode=0o644, directory_mode=0o755)
            self.done.setdefault('udev_written', []).append(entry)
        for entry in self.udev['remove']:
            try:
                os.remove(self.sysfs.path(entry['override']['path']))
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise StepError('could not remove %s: %s' % (entry['override']['path'], exc))
            self.done.setdefault('udev_removed', []).append(entry)
        if self.udev['write'] or self.udev['remove']:
            self.runner.run_change('udevadm', ['control', '--reload'])

    def apply(self, state, plan, steps):
        """Carry the plan out; raises StepError at the first step that fails (self.done says what ran).

        Returns the host as read after the last step when that read is still the truth (a removal ends with
        the namespaces' re-read), else None.
        """
        if self.state_name == 'present':
            self._apply_udev()
            state = self._apply_namespaces(steps['namespaces'])
            for target, device, step in self._memory_steps(state, dict(plan, cxl_targets=[]), fresh=True):
                self._set_memmap_on_memory(target, device)
                self._run_memory(target, device, step)
                self.done.setdefault('plugged', []).append(target['name'])
                self.done['memmap'] = bool(self.params.get('memmap_on_memory'))
            for target, desired, step in steps['regions']:
                self._apply_region(target, desired, step)
            if any(target['region_done'] and not target['memory_done'] for target in plan['cxl_targets']):
                state = HostState.read(self.runner, self.sysfs)
            for target, device, step in self._memory_steps(state, dict(plan, targets=[])):
                self._run_memory(target, device, step)
                self.done.setdefault('cxl_onlined', []).append(target)
            if self.params.get('demotion') and not self.sysfs.demotion_enabled():
                self.runner.run_change('tee', [self.sysfs.path(DEMOTION_PATH)], data='true')
                if not self.sysfs.demotion_enabled():
                    raise StepError('could not set %s to true' % DEMOTION_PATH)
                self.done['demotion'] = True
            if self.tiering:
                # Planned again on the nodes as they came online (their pools and weights exist only now).
                planned = plan_tiering(self.tiering_now(), self.tiering)
                if planned['errors']:
                    raise StepError('the tiering cannot be set on the memory as it came online: %s'
                                    % '; '.join(planned['errors']))
                self._apply_tiering(planned['writes'])
            return None
        if steps.get('tiering'):
            self._apply_tiering(steps['tiering']['writes'])
        for target, device, step in steps['memory']:
            if not step.changed:
                continue
            self._run_memory(target, device, step)
            if 'memdevs' in target:
                self.done.setdefault('cxl_offlined', []).append(target)
            else:
                if device.online_blocks():
                    self.done.setdefault('offlined', []).append(target['name'])
                self.done.setdefault('devdax', []).append(target['name'])
        for target, desired, step in steps['regions']:
            self._apply_region(target, desired, step)
        state = HostState.read(self.runner, self.sysfs)
        return self._apply_namespaces(self._destroy_steps(state, plan, self._read_record()))
