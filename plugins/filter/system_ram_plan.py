# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
name: system_ram_plan
short_description: Plan of the pmem_system_ram role - targets, memory forecast per node, and what stops it
version_added: 0.1.0
description:
  - The pure planning step of the P(pmem.dax.pmem_system_ram#role) role, from the role's condensed snapshot
    of one host. Decides which namespaces the role acts on (the listed ones, or by default one named
    namespace per region over its free space only, existing namespaces never touched), which CXL RAM regions
    (the listed ones; present creates those that do not exist, absent removes those over the listed memdevs),
    how much online memory each brings or takes away per NUMA node, and every reason the change cannot be
    done.
  - A CXL region that does not exist yet has no NUMA node before the kernel creates it (it gets the node of
    its CXL fixed memory window); its memory is forecast under the key C(cxl).
  - Reasons, checked before any change, each a message that says what to do. Nothing to turn into RAM;
    a namespace that does not fit, exists with another size or mode, or is online in the other zone; a
    movable:kernel ratio above O(max_movable_ratio) after the change; a removal that would leave less than
    O(removal_reserve) available.
author:
  - pmem.dax contributors (@pmem-dax)
options:
  _input:
    description:
      - The role's snapshot of the host (C(nodes), C(block_size), C(regions) by name with C(free), C(namespaces)
        and C(devices) by name label, C(hotremove), C(cxl) with C(memdevs) and C(regions) as pmem_info reports
        them, C(chardevs) every dax device by chardev), as tasks/snapshot.yml of the role builds it.
    type: dict
    required: true
  state:
    description: V(present) or V(absent).
    type: str
    required: true
  namespaces:
    description: The role's O(pmem.dax.pmem_system_ram#role:main:pmem_system_ram_namespaces); empty for the default.
    type: list
    elements: dict
    default: []
  cxl_regions:
    description:
      - The role's O(pmem.dax.pmem_system_ram#role:main:pmem_system_ram_cxl_regions) - items with C(memdevs)
        (omitted - every memdev with RAM capacity, one region each), C(size), C(movable); empty for none.
    type: list
    elements: dict
    default: []
  prefix:
    description: Name prefix of the namespaces the role makes by default.
    type: str
    default: pmem-ram-
  max_movable_ratio:
    description: Ceiling of movable to kernel memory after the change; V(0) turns the check off.
    type: float
    default: 3
  mem_available:
    description: MemAvailable of the host in bytes (for the removal check).
    type: int
    default: 0
  removal_reserve:
    description: Memory (bytes or C(256m)) that must stay available after a removal.
    type: str
    default: 256m
'''

EXAMPLES = r'''
- name: Plan
  ansible.builtin.set_fact:
    plan: "{{ snapshot | pmem.dax.system_ram_plan(state='present', namespaces=[], max_movable_ratio=3) }}"
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    targets:
      description:
        - One per namespace acted on - name, movable, exists, mode (of its dax device, or null), region, node
          (string), size (bytes, new namespaces only), delta (bytes of online memory the change adds, negative
          for a removal; an upper bound for a new namespace), problem (or empty), namespace_done, memory_done.
      type: list
      elements: dict
    cxl_targets:
      description:
        - One per CXL RAM region acted on - name (C(cxl:mem0,mem1), for messages), memdevs, region (name, null
          when new), device (its dax chardev, or null), movable, exists, mode, node (string; C(cxl) for a new
          region), size (bytes of the region), delta, problem, region_done, memory_done, owned (in the ownership
          record), adopt.
      type: list
      elements: dict
    forecast:
      description: Memory per NUMA node (string keys) after the change, C(kernel) and C(movable) bytes.
      type: dict
    left_alone:
      description:
        - What the role does not touch although it looks like the role's (a C(pmem-ram-*) namespace or a CXL region
          pmem.dax did not create, or one that may hold data), each C(name) and C(why).
      type: list
      elements: dict
    errors:
      description: Why the change cannot be done, one message per reason; empty when it can.
      type: list
      elements: str
'''

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.pmem.dax.plugins.module_utils._cxl import region_not_owned_message
from ansible_collections.pmem.dax.plugins.module_utils._ownership import RECORDED

GIB = 1073741824
MIB = 1048576
# The kernel maps CXL regions in 256 MiB units per memdev (the HDM decoder granularity).
CXL_REGION_UNIT = 268435456
# Forecast key of memory in a CXL region not created yet: the kernel gives it its window's node then.
NEW_CXL_NODE = 'cxl'


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _bytes(size):
    return size if isinstance(size, int) else human_to_bytes(str(size))


def _recorded(namespace):
    """Created (or adopted) by pmem.dax, same uuid: pmem_info's owned field (a snapshot without it: not ours)."""
    return namespace.get('owned') == RECORDED


def default_items(snapshot, state, prefix):
    """The role's own namespaces, plus for present one new namespace per region with two blocks free.

    Its own: named with the prefix and recorded in the ownership record with the same uuid. A name is
    not ownership: a prefix-named namespace someone else made (or re-made) is left alone (left_alone).
    """
    block = _int(snapshot.get('block_size'))
    namespaces = snapshot.get('namespaces', {})
    owned = sorted(name for name, namespace in namespaces.items() if name.startswith(prefix) and _recorded(namespace))
    items = [{'name': name, 'default': True} for name in owned]
    if state == 'present':
        for dev, region in sorted(snapshot.get('regions', {}).items()):
            if prefix + dev not in namespaces and _int(region.get('free')) >= 2 * block:
                items.append({'name': prefix + dev, 'region': dev, 'default': True})
    return items


def left_alone(snapshot, items, targets, prefix):
    """What the role did not touch although it looks like the role's, and why: [{name, why}]."""
    acted_on = set(target['name'] for target in targets if not target.get('left_alone'))
    alone = [{'name': target['name'], 'why': target['left_alone']} for target in targets if target.get('left_alone')]
    if any(item.get('default') for item in items) or not items:
        for name, namespace in sorted(snapshot.get('namespaces', {}).items()):
            if name.startswith(prefix) and name not in acted_on and not _recorded(namespace) \
                    and name not in [entry['name'] for entry in alone]:
                alone.append({'name': name, 'why': namespace.get('ownership_note') or 'not created by pmem.dax'})
    return alone


def _region_name(snapshot, item, namespace):
    regions = snapshot.get('regions', {})
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


def plan_target(snapshot, item, state):
    block = _int(snapshot.get('block_size'))
    regions = snapshot.get('regions', {})
    name = item['name']
    namespace = snapshot.get('namespaces', {}).get(name)
    device = snapshot.get('devices', {}).get(name)
    movable = item.get('movable')
    target = {'name': name, 'movable': True if movable is None else bool(movable), 'exists': namespace is not None,
              'mode': device.get('mode') if device else None, 'size': None, 'problem': '', 'delta': 0}
    region_name = _region_name(snapshot, item, namespace)
    region = regions.get(region_name, {})
    target['region'] = region_name
    if device and 'target_node' in device:
        node = device['target_node']
    elif 'target_node' in region:
        node = region['target_node']
    else:
        node = region.get('numa_node', -1)
    target['node'] = str(node)
    # A namespace that is system RAM when the run starts holds nobody's data: the removal may destroy it
    # once its memory is offline (the module's signature probe would read leftover RAM pages).
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
        target['problem'] = ('namespace %s is named %s but is in %s mode, not devdax: the role does not convert a '
                             'namespace that may hold data' % (namespace.get('dev'), name, namespace.get('mode', '?')))
    elif not region:
        where = item['region'] if item.get('region') is not None else 'on NUMA node %s' % item.get('numa_node', '?')
        target['problem'] = 'no region %s (regions: %s)' % (where, ', '.join(sorted(regions)))
    else:
        size = _bytes(item['size']) if item.get('size') is not None else _int(region.get('free'))
        target['size'] = size
        target['delta'] = ((size * 63 // 64) // block) * block if block else 0
        if size > _int(region.get('free')):
            target['problem'] = '%s has %s bytes free in one extent, %s asks for %s' % (
                region_name, _int(region.get('free')), name, size)
        elif size < 2 * block:
            target['problem'] = ('%s (%s bytes) is smaller than two memory blocks of %s bytes: it would bring no memory'
                                 % (name, size, block))
    # What is already done needs no module call: each costs seconds on a busy or emulated host.
    # An adopted namespace still needs pmem_namespace: it records the adoption.
    target['namespace_done'] = namespace is not None and target['owned']
    target['memory_done'] = device is not None and device.get('mode') == 'system-ram' and target['delta'] == 0
    return target


def _cxl_target(snapshot, item, memdevs, region):
    """A CXL target of an item over memdevs, for an existing region (present or absent) or a new one (region None).

    owned: pmem_info's owned of the region (in the ownership record; a snapshot without it: not ours);
    adopt: the item takes over regions that are not.
    """
    device = None
    if region and region.get('dax_devices'):
        device = snapshot.get('chardevs', {}).get(region['dax_devices'][0])
    node = device.get('target_node', -1) if device else (-1 if region else NEW_CXL_NODE)
    return {'name': 'cxl:' + ','.join(memdevs), 'memdevs': list(memdevs), 'region': region.get('name') if region else None,
            'device': device.get('chardev') if device else None,
            'movable': True if item.get('movable') is None else bool(item['movable']), 'exists': region is not None,
            'mode': device.get('mode') if device else None, 'node': str(node),
            'size': _int(region.get('size')) if region else None, 'delta': 0, 'problem': '',
            'owned': bool(region and region.get('owned')), 'adopt': bool(item.get('adopt'))}


def _plan_new_cxl(snapshot, target, item):
    """Size, delta and problem of a region to create over target['memdevs']."""
    memdevs = dict((memdev['name'], memdev) for memdev in snapshot.get('cxl', {}).get('memdevs') or [])
    ways = len(target['memdevs'])
    unit = CXL_REGION_UNIT * ways
    free = min(_int(memdevs[name].get('free', memdevs[name].get('ram_size'))) for name in target['memdevs']) * ways
    size = _bytes(item['size']) if item.get('size') is not None else free // unit * unit
    block = _int(snapshot.get('block_size'))
    target['size'] = size
    target['delta'] = size // block * block if block else 0
    if size <= 0:
        target['problem'] = '%s has no free RAM capacity for a region' % ', '.join(target['memdevs'])
    elif size % unit:
        target['problem'] = ('%s: size %s is not a multiple of %s (256 MiB per memdev of the region)'
                             % (target['name'], size, unit))
    elif size > free:
        target['problem'] = '%s: size %s is more than the free RAM capacity (%s bytes)' % (target['name'], size, free)


def _plan_cxl_present(snapshot, target):
    """Delta and problem of an existing region, as for a namespace's dax device."""
    block = _int(snapshot.get('block_size'))
    device = snapshot.get('chardevs', {}).get(target['device']) or {}
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


def cxl_targets(snapshot, items, state, alone=None):
    """One target per CXL region the items ask for (present) or name (absent); see RETURN.

    Absent destroys only what pmem.dax created: a region the ownership record does not list (pmem_info's
    owned) is a problem when an item names its memdevs, and is left alone when the item names none - not a
    target, but appended to alone (the plan's left_alone list, when given) as {name, why}. An item's adopt
    takes such regions over.
    """
    cxl = snapshot.get('cxl') or {}
    memdevs = [memdev for memdev in cxl.get('memdevs') or [] if _int(memdev.get('ram_size'))]
    ram_regions = [region for region in cxl.get('regions') or [] if region.get('type') == 'ram']
    targets = []
    unowned = {}
    for item in items:
        asked = list(item.get('memdevs') or [])
        if state == 'absent':
            for region in ram_regions:
                if (asked and not set(asked) & set(region.get('memdevs') or [])) \
                        or region['name'] in [target['region'] for target in targets]:
                    continue
                target = _cxl_target(snapshot, item, region['memdevs'], region)
                if not target['owned'] and not target['adopt']:
                    if not asked:
                        unowned.setdefault(region['name'], {'name': target['name'], 'why': region_not_owned_message(region)})
                        continue
                    target['problem'] = '%s (in pmem_system_ram_cxl_regions)' % region_not_owned_message(region)
                targets.append(target)
            continue
        if not asked and not memdevs:
            targets.append(dict(_cxl_target(snapshot, item, [], None), problem=(
                'no CXL memdev with RAM capacity on this host (pmem_info cxl.memdevs: %s)'
                % (', '.join(memdev.get('name', '?') for memdev in cxl.get('memdevs') or []) or 'none'))))
            continue
        unknown = [name for name in asked if name not in [memdev['name'] for memdev in memdevs]]
        if unknown:
            targets.append(dict(_cxl_target(snapshot, item, asked, None), problem=(
                'no CXL memdev %s with RAM capacity (memdevs: %s)'
                % (', '.join(unknown), ', '.join(memdev['name'] for memdev in memdevs) or 'none'))))
            continue
        for group in [asked] if asked else [[memdev['name']] for memdev in memdevs]:
            exact = [region for region in ram_regions if sorted(region.get('memdevs') or []) == sorted(group)]
            used = [region for region in cxl.get('regions') or [] if set(group) & set(region.get('memdevs') or [])]
            if exact or (used and not asked):
                region = (exact or used)[0]
                if region['name'] in [target['region'] for target in targets]:
                    continue
                target = _cxl_target(snapshot, item, region['memdevs'], region)
                if region.get('type') != 'ram':
                    target['problem'] = '%s is in %s, a %s region' % (target['name'], region['name'], region.get('type'))
                else:
                    _plan_cxl_present(snapshot, target)
            else:
                target = _cxl_target(snapshot, item, group, None)
                if used:
                    target['problem'] = ('%s already used by %s: remove that region first'
                                         % (', '.join(group), ', '.join(region['name'] for region in used)))
                else:
                    _plan_new_cxl(snapshot, target, item)
            targets.append(target)
    for target in targets:
        device = snapshot.get('chardevs', {}).get(target['device']) or {}
        if state == 'absent':
            target['delta'] = -_int(device.get('online_bytes')) if device.get('mode') == 'system-ram' else 0
        target['region_done'] = target['exists']
        target['memory_done'] = device.get('mode') == 'system-ram' and target['delta'] == 0
    if alone is not None:
        # A region one item leaves alone may be another's target (named with adopt).
        alone.extend(entry for name, entry in sorted(unowned.items())
                     if name not in [target['region'] for target in targets])
    return targets


def forecast(snapshot, targets):
    nodes = dict((node, {'kernel': _int(memory.get('kernel')), 'movable': _int(memory.get('movable'))})
                 for node, memory in snapshot.get('nodes', {}).items())
    for target in targets:
        memory = nodes.setdefault(target['node'], {'kernel': 0, 'movable': 0})
        zone = 'movable' if target['movable'] else 'kernel'
        memory[zone] += target['delta']
    return nodes


def plan_errors(snapshot, items, targets, nodes, state, prefix, max_movable_ratio, mem_available, removal_reserve):
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
    # against ZONE_MOVABLE, hosts run out of kernel memory while plenty is free.
    movable = sum(memory['movable'] for memory in nodes.values())
    kernel = sum(memory['kernel'] for memory in nodes.values())
    if state == 'present' and max_movable_ratio > 0 and movable > max_movable_ratio * kernel:
        errors.append(
            'After the change this host would have %.1f GiB of movable memory against %.1f GiB of kernel memory, a '
            'ratio of %.1f:1, above the limit of %g:1 (pmem_system_ram_max_movable_ratio). Add less (size), online '
            'some of it as kernel memory (movable=false, which cannot be removed later), or raise the limit if you '
            'know the workload.' % (movable / GIB, kernel / GIB, movable / max(kernel, 1), max_movable_ratio))
    # Offlining migrates every page on the devices to other memory: without room for them the kernel retries
    # until the timeout (kernel 6.1) or the OOM killer ends a process (6.12).
    removed = abs(sum(target['delta'] for target in targets))
    if state == 'absent' and snapshot.get('hotremove') and mem_available - removed < _bytes(removal_reserve):
        errors.append(
            'Removing %.1f GiB would leave %.1f MiB available (MemAvailable minus the memory to remove), less than '
            'the %s reserve (pmem_system_ram_removal_reserve). Stop or shrink what uses the memory, then run the role '
            'again.' % (removed / GIB, (mem_available - removed) / MIB, removal_reserve))
    return errors


def system_ram_plan(snapshot, state, namespaces=None, prefix='pmem-ram-', max_movable_ratio=3, mem_available=0,
                    removal_reserve='256m', cxl_regions=None):
    if not isinstance(snapshot, dict):
        raise AnsibleFilterError('system_ram_plan: the input must be the role snapshot (a dict)')
    if state not in ('present', 'absent'):
        raise AnsibleFilterError('system_ram_plan: state must be present or absent, got %r' % (state,))
    if not isinstance(prefix, str):
        raise AnsibleFilterError('system_ram_plan: prefix must be a string')
    try:
        items = list(namespaces or []) or default_items(snapshot, state, prefix)
        planned = []
        errors = []
        for item in items:
            try:
                planned.append(plan_target(snapshot, item, state))
            except ValueError as exc:
                errors.append('Nothing was changed: %s: size %r: %s.' % (item.get('name'), item.get('size'), exc))
        alone = left_alone(snapshot, items, planned, prefix)
        targets = [target for target in planned if not target.get('left_alone')]
        items = [item for item in items if item['name'] in [target['name'] for target in targets]] \
            if any(item.get('default') for item in items) else items
        cxl = []
        try:
            cxl = cxl_targets(snapshot, list(cxl_regions or []), state, alone)
        except ValueError as exc:
            errors.append('Nothing was changed: pmem_system_ram_cxl_regions: size: %s.' % exc)
        nodes = forecast(snapshot, targets + cxl)
        errors += plan_errors(snapshot, items, targets + cxl, nodes, state, prefix, float(max_movable_ratio or 0),
                              _int(mem_available), removal_reserve)
    except ValueError as exc:
        raise AnsibleFilterError('system_ram_plan: %s' % exc)
    return {'targets': targets, 'cxl_targets': cxl, 'forecast': nodes, 'errors': errors, 'left_alone': alone}


class FilterModule(object):
    def filters(self):
        return {'system_ram_plan': system_ram_plan}
