# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One snapshot of the host's persistent memory, read once per module run; and the planner types.

API (stable; additions only):

``HostState.read(runner, sysfs)`` -> HostState
    Runs ``ndctl list -R -N -v -i`` once and ``daxctl list -D`` once, reads sysfs once.
``HostState(ndctl_regions, daxctl_devices, sysfs)``: same from already parsed JSON (unit tests).

Attributes:
    ``regions``      list of region dicts: name ("region0"), id (0), size, available_size,
                     max_available_extent, align, interleave_ways, numa_node, target_node, type,
                     labelled (bool), persistence_domain, namespaces (list of namespace dev names)
    ``namespaces``   list of namespace dicts: dev, name (label or None), uuid, mode (ndctl's: a
                     system-ram device still shows "devdax"), dax_mode ("devdax"|"system-ram"|None),
                     size (usable size ndctl reports), raw_size (size stored in the label, from sysfs;
                     falls back to size), region, chardev, blockdev, map, align, enabled (bool)
    ``dax_devices``  {chardev: device dict} (see ``device()``)
    ``block_size``, ``auto_online_blocks``, ``memory_blocks`` ({index: block}), ``nodes``,
    ``dax_model``, ``sysfs``, ``raw`` ({"ndctl": [...], "daxctl": [...]})

Lookups (return None when nothing matches):
    ``namespaces_by_name(label)`` -> list (a label can be used twice by hand)
    ``namespace_by_name(label)`` -> the first or None
    ``namespace_by_dev(dev)``, ``region(name_or_number)``, ``regions_on_node(node)`` (by target_node),
    ``dax_device(chardev)``, ``dax_device_for_namespace(label_or_dev)``, ``device_blocks(chardev)``
    -> [block dicts of the memory blocks the device covers]

``device(chardev)`` -> the ``device`` dict of docs/design.md: chardev, mode, namespace, name,
    target_node, size, block_size, online_blocks, total_blocks, online_bytes, total_bytes, zones,
    movable; plus resource, align, driver, block_indices. ``total_blocks`` counts the whole memory
    blocks inside the device's range: the blocks kmem has added (system-ram) or would add (devdax).

Planner types (shared by pmem_namespace, dax_mode, dax_memory):
    ``Action(kind, argv=None, description='', name=None, data=None)``: kind "command" with argv
    (``[tool] + args``) or kind "call" with ``name`` of an executor step and its ``data``.
    ``Plan(actions=None, before=None, after=None, error=None, warnings=None)`` with
    ``plan.changed`` (bool(actions)) and ``plan.commands`` (argv of the command actions).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.pmem.dax.plugins.module_utils._sysfs import (
    DAX_RE,
    NAMESPACE_RE,
    REGION_RE,
    Sysfs,
    validate_region,
)

NDCTL_LIST_ARGS = ['list', '-R', '-N', '-v', '-i']
DAXCTL_LIST_ARGS = ['list', '-D']


class Action(object):
    """One step of a plan: a command to run, or a named step of a module's executor."""

    def __init__(self, kind, argv=None, description='', name=None, data=None):
        self.kind = kind
        self.argv = list(argv) if argv is not None else None
        self.description = description
        self.name = name
        self.data = data

    def to_dict(self):
        result = {'kind': self.kind, 'description': self.description}
        if self.argv is not None:
            result['argv'] = self.argv
        if self.name is not None:
            result['name'] = self.name
        return result

    def __repr__(self):
        return 'Action(%r, %r, %r)' % (self.kind, self.argv or self.name, self.description)


class Plan(object):
    """What a planner decided: ordered actions (empty = no change), diff before/after, or an error."""

    def __init__(self, actions=None, before=None, after=None, error=None, warnings=None):
        self.actions = list(actions or [])
        self.before = before if before is not None else {}
        self.after = after if after is not None else {}
        self.error = error
        self.warnings = list(warnings or [])

    @property
    def changed(self):
        return bool(self.actions)

    @property
    def commands(self):
        return [action.argv for action in self.actions if action.kind == 'command']

    def __repr__(self):
        return 'Plan(actions=%r, error=%r)' % (self.actions, self.error)


def _int(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _region_id(name):
    return int(name[len('region'):]) if name and REGION_RE.match(name) else None


class HostState(object):
    """See the module docstring."""

    def __init__(self, ndctl_regions, daxctl_devices, sysfs=None):
        self.sysfs = sysfs or Sysfs()
        self.raw = {'ndctl': ndctl_regions, 'daxctl': daxctl_devices}
        self.dax_model = self.sysfs.dax_model()
        self.block_size = self.sysfs.block_size()
        self.auto_online_blocks = self.sysfs.auto_online_blocks()
        self.nodes = self.sysfs.nodes()
        self.memory_blocks = self.sysfs.memory_blocks()
        self._sysfs_dax = self.sysfs.dax_devices()
        self._daxctl = dict((item.get('chardev'), item) for item in daxctl_devices if item.get('chardev'))
        self.regions = []
        self.namespaces = []
        for raw_region in ndctl_regions:
            self._add_region(raw_region)
        self.dax_devices = {}
        for chardev in sorted(set(self._sysfs_dax) | set(self._daxctl)):
            self.dax_devices[chardev] = self.device(chardev)
        for namespace in self.namespaces:
            device = self.dax_devices.get(namespace['chardev']) if namespace['chardev'] else None
            namespace['dax_mode'] = device['mode'] if device else None

    @classmethod
    def read(cls, runner, sysfs):
        regions = runner.json('ndctl', NDCTL_LIST_ARGS)
        devices = runner.json('daxctl', DAXCTL_LIST_ARGS)
        return cls(regions, devices, sysfs)

    # building ----------------------------------------------------------------------------------

    def _add_region(self, raw):
        name = raw.get('dev')
        if not name or not REGION_RE.match(name):
            return
        namespaces = []
        for raw_namespace in raw.get('namespaces') or []:
            namespace = self._namespace_from(raw_namespace, name)
            if namespace is None:
                continue
            namespaces.append(namespace)
            self.namespaces.append(namespace)
        ways = self.sysfs.region_interleave_ways(name)
        if ways is None and isinstance(raw.get('mappings'), list):
            ways = len(raw['mappings'])
        self.regions.append({
            'name': name,
            'id': _region_id(name),
            'size': _int(raw.get('size')),
            'available_size': _int(raw.get('available_size')) or 0,
            'max_available_extent': _int(raw.get('max_available_extent')),
            'align': _int(raw.get('align')),
            'interleave_ways': ways,
            'numa_node': _int(raw.get('numa_node')),
            'target_node': _int(raw.get('target_node')),
            'type': raw.get('type'),
            'persistence_domain': raw.get('persistence_domain'),
            'enabled': raw.get('state', 'enabled') != 'disabled',
            'labelled': self._region_labelled(raw, namespaces),
            'namespaces': [namespace['dev'] for namespace in namespaces],
        })

    def _region_labelled(self, raw, namespaces):
        # A label-less region exposes one "io" namespace spanning it (no uuid, available_size 0);
        # sysfs names the namespace type, ndctl's JSON only hints at it.
        for namespace in namespaces:
            devtype = self.sysfs.namespace_devtype(namespace['dev'])
            if devtype == 'nd_namespace_io':
                return False
            if devtype is None and not namespace['uuid'] and namespace['mode'] == 'raw' \
                    and not _int(raw.get('available_size')):
                return False
        return True

    def _namespace_from(self, raw, region):
        dev = raw.get('dev')
        if not dev or not NAMESPACE_RE.match(dev):
            return None
        size = _int(raw.get('size'))
        name = raw.get('name') or None
        # "ndctl list -i" also shows each region's idle seed namespace (size 0, zero uuid), and a destroyed
        # namespace stays behind as one that still shows its old name: neither holds any capacity.
        if not size:
            return None
        chardev = raw.get('chardev')
        if not chardev:
            devices = (raw.get('daxregion') or {}).get('devices') or []
            if devices:
                chardev = devices[0].get('chardev')
        raw_size = self.sysfs.namespace_raw_size(dev)
        return {
            'dev': dev,
            'name': name,
            'uuid': raw.get('uuid'),
            # The namespace's own uuid (its label's; ndctl create-namespace --uuid sets it). For devdax and fsdax
            # "uuid" is the info block's instead. The ownership record keeps this one: chosen before creation.
            'raw_uuid': raw.get('raw_uuid') or raw.get('uuid'),
            'mode': raw.get('mode'),
            'dax_mode': None,
            'size': size,
            'raw_size': raw_size or size,
            'region': region,
            'chardev': chardev if chardev and DAX_RE.match(chardev) else None,
            'blockdev': raw.get('blockdev'),
            'map': raw.get('map'),
            'align': _int(raw.get('align')),
            'numa_node': _int(raw.get('numa_node')),
            'enabled': raw.get('state', 'enabled') != 'disabled',
        }

    def device(self, chardev):
        """The design's ``device`` dict for a dax device (None when there is no such device)."""
        from_sysfs = self._sysfs_dax.get(chardev)
        from_daxctl = self._daxctl.get(chardev)
        if from_sysfs is None and from_daxctl is None:
            return None
        from_sysfs = from_sysfs or {}
        from_daxctl = from_daxctl or {}
        # sysfs is the ground truth for the mode (bound driver); daxctl when sysfs cannot tell.
        mode = from_sysfs.get('mode') or from_daxctl.get('mode')
        size = from_sysfs.get('size') if from_sysfs.get('size') is not None else _int(from_daxctl.get('size'))
        target_node = from_sysfs.get('target_node')
        if target_node is None:
            target_node = _int(from_daxctl.get('target_node'))
        namespace = self._namespace_where('chardev', chardev)
        indices = self.sysfs.block_range(from_sysfs.get('resource'), size, self.block_size)
        blocks = [self.memory_blocks[index] for index in indices if index in self.memory_blocks]
        if mode == 'system-ram':
            # kmem has added exactly the whole blocks of the range; count what exists.
            total_blocks = len(blocks) if blocks or indices else _int(from_daxctl.get('total_memblocks'))
            online = [block for block in blocks if block['state'] == 'online']
            online_blocks = len(online) if indices else _int(from_daxctl.get('online_memblocks')) or 0
        else:
            total_blocks = len(indices)
            online = []
            online_blocks = 0
        zones = sorted(set(block['zone'] for block in online if block['zone']))
        if online:
            movable = zones == ['Movable']
        elif mode == 'system-ram' and 'movable' in from_daxctl:
            movable = bool(from_daxctl['movable'])
        else:
            movable = None
        block_size = self.block_size or 0
        return {
            'chardev': chardev,
            'mode': mode,
            'driver': from_sysfs.get('driver'),
            'namespace': namespace['dev'] if namespace else None,
            'name': namespace['name'] if namespace else None,
            'target_node': target_node,
            'size': size,
            'resource': from_sysfs.get('resource'),
            'align': from_sysfs.get('align') if from_sysfs.get('align') is not None else _int(from_daxctl.get('align')),
            'block_size': self.block_size,
            'block_indices': indices,
            'online_blocks': online_blocks,
            'total_blocks': total_blocks,
            'online_bytes': online_blocks * block_size,
            'total_bytes': (total_blocks or 0) * block_size,
            'zones': zones,
            'movable': movable,
        }

    # lookups -----------------------------------------------------------------------------------

    def namespaces_by_name(self, label):
        return [namespace for namespace in self.namespaces if label is not None and namespace['name'] == label]

    def namespace_by_name(self, label):
        found = self.namespaces_by_name(label)
        return found[0] if found else None

    def namespace_by_dev(self, dev):
        return self._namespace_where('dev', dev)

    def _namespace_where(self, field, value):
        """The first namespace whose field equals value (dev and chardev are unique), or None."""
        return next((namespace for namespace in self.namespaces if namespace[field] == value), None)

    def region(self, name_or_number):
        try:
            name = validate_region(name_or_number)
        except ValueError:
            return None
        for region in self.regions:
            if region['name'] == name:
                return region
        return None

    def regions_on_node(self, node):
        # target_node (the node the memory becomes) when known; numa_node is the nearest node with CPUs.
        return [region for region in self.regions
                if node is not None
                and int(node) == (region['target_node'] if region['target_node'] is not None else region['numa_node'])]

    def dax_device(self, chardev):
        if chardev and chardev.startswith('/dev/'):
            chardev = chardev[len('/dev/'):]
        return self.dax_devices.get(chardev)

    def dax_device_for_namespace(self, label_or_dev):
        namespace = self.namespace_by_dev(label_or_dev) if label_or_dev and NAMESPACE_RE.match(label_or_dev) \
            else self.namespace_by_name(label_or_dev)
        if namespace is None or not namespace['chardev']:
            return None
        return self.dax_devices.get(namespace['chardev'])

    def device_blocks(self, chardev):
        device = self.dax_device(chardev)
        if device is None:
            return []
        return [self.memory_blocks[index] for index in device['block_indices'] if index in self.memory_blocks]

    def online_memory(self):
        """Online bytes per NUMA node and zone: {node: {zone: bytes}}."""
        return self.sysfs.online_memory(self.memory_blocks, self.block_size, self.nodes)
