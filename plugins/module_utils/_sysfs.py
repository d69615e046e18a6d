# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read the kernel's view of dax devices, memory blocks and NUMA nodes (sysfs and a few /proc files).

Every path is taken under ``root`` (default "/") so that unit tests can point it at a fake tree.
Nothing here writes but ``write_auto_online`` (through the runner); other writes go through
daxctl/ndctl or the executors.

API (stable; additions only):

Name checks (run them before a name reaches a path or a command):
    ``validate_region(value)`` -> "regionN" (also accepts "N" and an int);
    ``validate_namespace(value)`` -> "namespaceN.M"; ``validate_dax(value)`` -> "daxN.M";
    each raises :class:`NameError_` (a ValueError) with a clear message otherwise.
    ``REGION_RE``, ``NAMESPACE_RE``, ``DAX_RE``, ``NMEM_RE``.

``Sysfs(root=None)`` (None: ``DEFAULT_ROOT``, "/"; unit tests change that):
    ``path(*parts)``                -> absolute path under root
    ``read(*parts)``                -> stripped text or None when missing/unreadable
    ``dax_model()``                 -> "bus" | "class" | None
    ``dax_devices()``               -> {chardev: {chardev, driver, mode, target_node, numa_node, size,
                                        resource, align}}  (mode from the driver: kmem -> "system-ram",
                                        device_dax -> "devdax", None when unbound)
    ``block_size()``                -> int bytes (block_size_bytes is hex without 0x)
    ``auto_online_blocks()``        -> "offline" | "online" | "online_movable" | "online_kernel" | None
    ``memory_block_indices()``      -> sorted list of existing memoryK indices
    ``memory_block(index)``         -> {index, state, zone, valid_zones, removable, node}
                                       (zone: zone of an online block, else None)
    ``memory_blocks(indices=None)`` -> {index: memory_block(index)} (all blocks when None)
    ``block_range(start, size, block_size)`` -> list of the block indices wholly inside the range
                                       (kmem hot-plugs only those)
    ``nodes()``                     -> {node: {node, has_cpu, has_memory, memory_blocks: [indices]}}
    ``node_meminfo(node)``          -> {"MemTotal": bytes, "MemFree": bytes, ...}
    ``meminfo()``                   -> /proc/meminfo as {key: bytes}
    ``online_memory(blocks, block_size, nodes)`` -> {node: {zone: bytes}} from online blocks
    ``memory_tiers()``              -> [{tier, nodes: [int]}]
    ``demotion_enabled()``          -> bool | None
    ``node_ids()``                  -> sorted list of the NUMA nodes in /sys/devices/system/node
    ``numa_balancing()``            -> int | None (kernel.numa_balancing: a bit mask, NUMA_BALANCING_* below)
    ``promote_rate_limit_mbps()``   -> int | None (kernel.numa_balancing_promote_rate_limit_MBps)
    ``memmap_on_memory()``          -> "Y" | "N" | "force" | None (the memory_hotplug.memmap_on_memory parameter)
    ``dax_memmap_on_memory(chardev)`` -> bool | None (the per dax device switch, kernel 6.8+)
    ``node_hugepages(node)``        -> [{size: bytes, nr_hugepages, free_hugepages}] by size
    ``weighted_interleave(node)``   -> int | None (the node's weight, kernel 6.9+)
    ``weighted_interleave_auto()``  -> bool | None (the "auto" switch of newer kernels)
    ``node_tiering_counters(node)`` -> {pgdemote_*/pgpromote_*: int} of the node's vmstat, None without one
    ``numa_tiering()``              -> the switches above and, per node, tier, huge pages, weight and counters
                                       (pmem_info's "numa"); absent files read as None, never an error
    ``hotremove()``                 -> bool | None (kernel CONFIG_MEMORY_HOTREMOVE)
    ``kernel_release()``            -> str | None
    ``region_mappings(region)``     -> ["nmem0", ...] (the DIMMs of an nd region)
    ``region_interleave_ways(region)`` -> int | None
    ``namespace_raw_size(namespace)`` -> int | None (the size stored in the label: what --size asked)
    ``namespace_devtype(namespace)``  -> "nd_namespace_io" (label-less) | "nd_namespace_pmem" | None
    ``block_dev_numbers(name)``     -> "major:minor" of /sys/class/block/<name>, or None
    ``mounts()``                    -> [{source, mountpoint, devno}] from /proc/self/mountinfo
    ``open_files(paths)``           -> [{pid, comm, path, how}] of other processes holding any of paths open (how:
                                       open, a file descriptor) or mapped (a mapping in /proc/PID/maps)

auto_online_blocks, the kernel's policy for hot-added memory (kmem's dax devices, CXL RAM regions):
    ``AUTO_ONLINE_PATH``; the words ``AUTO_ONLINE_OFF`` ("offline"), ``ONLINE_MOVABLE``, ``ONLINE_KERNEL``
    (also what a memoryN/state write takes to online a block in ZONE_MOVABLE / ZONE_NORMAL);
    ``auto_online_policy(online, movable)`` -> the word that makes the kernel online new memory as asked;
    ``write_auto_online(runner, sysfs, policy)`` -> CommandResult: the one write of the policy, as
    ``tee AUTO_ONLINE_PATH`` through ``runner.run_change`` (recorded like any change). The only write here:
    the executors that hold the policy around a hot-plug and restore it share it. Whether the kernel took
    the value is for the caller to read back (``auto_online_blocks()``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

REGION_RE = re.compile(r'^region\d+\Z')
NAMESPACE_RE = re.compile(r'^namespace\d+\.\d+\Z')
DAX_RE = re.compile(r'^dax\d+\.\d+\Z')
NMEM_RE = re.compile(r'^nmem\d+\Z')
_MEMORY_DIR_RE = re.compile(r'^memory(\d+)$')
_NODE_DIR_RE = re.compile(r'^node(\d+)$')
_TIER_DIR_RE = re.compile(r'^memory_tier(\d+)$')

DRIVER_MODES = {'kmem': 'system-ram', 'device_dax': 'devdax'}

# Root that Sysfs() reads under when none is given; unit tests point it at a fake tree.
DEFAULT_ROOT = '/'


# Files other layers write (with tee) as well as read: named once here, the layer that owns sysfs paths.
AUTO_ONLINE_PATH = '/sys/devices/system/memory/auto_online_blocks'
DEMOTION_PATH = '/sys/kernel/mm/numa/demotion_enabled'
NUMA_BALANCING_PATH = '/proc/sys/kernel/numa_balancing'
PROMOTE_RATE_LIMIT_PATH = '/proc/sys/kernel/numa_balancing_promote_rate_limit_MBps'
MEMMAP_ON_MEMORY_PATH = '/sys/module/memory_hotplug/parameters/memmap_on_memory'
WEIGHTED_INTERLEAVE_DIR = '/sys/kernel/mm/mempolicy/weighted_interleave'

# kernel.numa_balancing is a bit mask: 1 balances tasks and pages between nodes, 2 is the memory tiering
# mode that promotes hot pages from lower tiers (include/linux/sched/sysctl.h).
NUMA_BALANCING_NORMAL = 1
NUMA_BALANCING_MEMORY_TIERING = 2

# The lines of a node's vmstat that count pages moved between tiers (pgdemote_kswapd, pgpromote_success...).
_TIERING_COUNTER_RE = re.compile(r'^(pgdemote_\w+|pgpromote_\w+)\s+(\d+)$')
_HUGEPAGES_DIR_RE = re.compile(r'^hugepages-(\d+)kB$')

# auto_online_blocks words (ONLINE_* are also what memoryN/state takes to online a block in that zone).
AUTO_ONLINE_OFF = 'offline'
ONLINE_MOVABLE = 'online_movable'
ONLINE_KERNEL = 'online_kernel'


def auto_online_policy(online, movable):
    """The auto_online_blocks word that has the kernel online new memory as asked (in ZONE_MOVABLE or
    ZONE_NORMAL), or leave it offline."""
    if not online:
        return AUTO_ONLINE_OFF
    return ONLINE_MOVABLE if movable else ONLINE_KERNEL


def write_auto_online(runner, sysfs, policy):
    """Set auto_online_blocks to policy: ``tee`` through the runner, so that the write is bounded and
    returned in ``commands`` like any change; never raises on its rc (read the value back to know)."""
    return runner.run_change('tee', [sysfs.path(AUTO_ONLINE_PATH)], data=policy)


class NameError_(ValueError):
    """A device or region name that does not look like one; never let it reach a path or command."""


def validate_region(value):
    text = str(value).strip() if value is not None else ''
    if text.isdigit():
        text = 'region' + str(int(text))
    if not REGION_RE.match(text):
        raise NameError_('region must look like region0 or 0, got %r' % (value,))
    return text


def validate_namespace(value):
    text = str(value).strip() if value is not None else ''
    if not NAMESPACE_RE.match(text):
        raise NameError_('namespace device must look like namespace0.1, got %r' % (value,))
    return text


def validate_dax(value):
    text = str(value).strip() if value is not None else ''
    if text.startswith('/dev/'):
        text = text[len('/dev/'):]
    if not DAX_RE.match(text):
        raise NameError_('dax device must look like dax0.1 (or /dev/dax0.1), got %r' % (value,))
    return text


def parse_int(text):
    """sysfs numbers: decimal, or hex with 0x; None when unreadable."""
    if text is None:
        return None
    text = text.strip()
    try:
        if text.lower().startswith('0x'):
            return int(text, 16)
        return int(text)
    except ValueError:
        return None


def parse_bool(text):
    """sysfs switches ("true", "1", "Y"...); None when unreadable."""
    if text is None:
        return None
    return text.strip().lower() in ('true', '1', 'y', 'yes')


def parse_cpulist(text):
    """"0-2,4" -> [0, 1, 2, 4]."""
    result = []
    for part in (text or '').strip().split(','):
        part = part.strip()
        if not part:
            continue
        if '-' in part:
            low, high = part.split('-', 1)
            result.extend(range(int(low), int(high) + 1))
        else:
            result.append(int(part))
    return result


class Sysfs(object):
    """Read-only view of /sys and /proc under a root; see the module docstring for the API."""

    def __init__(self, root=None):
        self.root = root or DEFAULT_ROOT

    def path(self, *parts):
        return os.path.join(self.root, *[part.lstrip('/') for part in parts])

    def read(self, *parts):
        try:
            with open(self.path(*parts)) as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return None

    def _listdir(self, *parts):
        try:
            return sorted(os.listdir(self.path(*parts)))
        except (IOError, OSError):
            return []

    def _link_name(self, *parts):
        """Last component of a symlink target (a driver name), or None."""
        try:
            return os.path.basename(os.readlink(self.path(*parts)))
        except (IOError, OSError):
            return None

    # dax devices -------------------------------------------------------------------------------

    def dax_model(self):
        if os.path.isdir(self.path('sys/bus/dax')):
            return 'bus'
        if os.path.isdir(self.path('sys/class/dax')):
            return 'class'
        return None

    def _dax_base(self):
        if self.dax_model() == 'class':
            return 'sys/class/dax'
        return 'sys/bus/dax/devices'

    def dax_devices(self):
        base = self._dax_base()
        devices = {}
        for name in self._listdir(base):
            if not DAX_RE.match(name):
                continue
            driver = self._link_name(base, name, 'driver')
            devices[name] = {
                'chardev': name,
                'driver': driver,
                'mode': DRIVER_MODES.get(driver),
                'target_node': parse_int(self.read(base, name, 'target_node')),
                'numa_node': parse_int(self.read(base, name, 'numa_node')),
                'size': parse_int(self.read(base, name, 'size')),
                'resource': parse_int(self.read(base, name, 'resource')),
                'align': parse_int(self.read(base, name, 'align')),
            }
        return devices

    # memory blocks -----------------------------------------------------------------------------

    def block_size(self):
        text = self.read('sys/devices/system/memory/block_size_bytes')
        if text is None:
            return None
        try:
            return int(text, 16)
        except ValueError:
            return None

    def auto_online_blocks(self):
        return self.read(AUTO_ONLINE_PATH)

    def memory_block_indices(self):
        indices = []
        for name in self._listdir('sys/devices/system/memory'):
            match = _MEMORY_DIR_RE.match(name)
            if match:
                indices.append(int(match.group(1)))
        return sorted(indices)

    def _block_node(self, index):
        for name in self._listdir('sys/devices/system/memory', 'memory%d' % index):
            match = _NODE_DIR_RE.match(name)
            if match:
                return int(match.group(1))
        return None

    def memory_block(self, index):
        base = 'sys/devices/system/memory/memory%d' % int(index)
        state = self.read(base, 'state')
        valid_zones = (self.read(base, 'valid_zones') or '').split()
        # For an online block valid_zones names the zone it is in; for an offline block it lists
        # the zones it could go to.
        zone = valid_zones[0] if state == 'online' and valid_zones else None
        removable = self.read(base, 'removable')
        return {
            'index': int(index),
            'state': state,
            'zone': zone,
            'valid_zones': valid_zones,
            'removable': None if removable is None else removable == '1',
            'node': self._block_node(index),
        }

    def memory_blocks(self, indices=None):
        if indices is None:
            indices = self.memory_block_indices()
        existing = set(self.memory_block_indices())
        return dict((index, self.memory_block(index)) for index in indices if index in existing)

    @staticmethod
    def block_range(start, size, block_size):
        if start is None or not size or not block_size:
            return []
        first = -(-int(start) // block_size)
        end = (int(start) + int(size)) // block_size
        return list(range(first, end))

    # nodes, tiers ------------------------------------------------------------------------------

    def nodes(self):
        nodes = {}
        for name in self._listdir('sys/devices/system/node'):
            match = _NODE_DIR_RE.match(name)
            if not match:
                continue
            node = int(match.group(1))
            blocks = []
            for entry in self._listdir('sys/devices/system/node', name):
                block = _MEMORY_DIR_RE.match(entry)
                if block:
                    blocks.append(int(block.group(1)))
            cpus = parse_cpulist(self.read('sys/devices/system/node', name, 'cpulist'))
            nodes[node] = {
                'node': node,
                'has_cpu': bool(cpus),
                'has_memory': bool(blocks),
                'memory_blocks': sorted(blocks),
            }
        return nodes

    @staticmethod
    def _parse_meminfo(text, prefix_re=None):
        values = {}
        for line in (text or '').splitlines():
            if prefix_re is not None:
                line = prefix_re.sub('', line)
            if ':' not in line:
                continue
            key, rest = line.split(':', 1)
            fields = rest.split()
            if not fields:
                continue
            try:
                amount = int(fields[0])
            except ValueError:
                continue
            if len(fields) > 1 and fields[1] == 'kB':
                amount *= 1024
            values[key.strip()] = amount
        return values

    def node_meminfo(self, node):
        text = self.read('sys/devices/system/node/node%d' % int(node), 'meminfo')
        return self._parse_meminfo(text, re.compile(r'^Node\s+\d+\s+'))

    def meminfo(self):
        return self._parse_meminfo(self.read('proc/meminfo'))

    @staticmethod
    def online_memory(blocks, block_size, nodes=None):
        """Online bytes per node and zone: {node: {zone: bytes}}, from memory_blocks() output."""
        result = {}
        for block in blocks.values():
            if block['state'] != 'online':
                continue
            node = block['node']
            if node is None and nodes:
                for candidate in nodes.values():
                    if block['index'] in candidate['memory_blocks']:
                        node = candidate['node']
                        break
            zones = result.setdefault(node, {})
            zone = block['zone'] or 'unknown'
            zones[zone] = zones.get(zone, 0) + (block_size or 0)
        return result

    def memory_tiers(self):
        tiers = []
        for name in self._listdir('sys/devices/virtual/memory_tiering'):
            match = _TIER_DIR_RE.match(name)
            if not match:
                continue
            text = self.read('sys/devices/virtual/memory_tiering', name, 'nodelist') or ''
            tiers.append({'tier': int(match.group(1)), 'nodes': parse_cpulist(text)})
        return sorted(tiers, key=lambda tier: tier['tier'])

    def demotion_enabled(self):
        return parse_bool(self.read(DEMOTION_PATH))

    # tiering: promotion, memmap placement, huge pages, interleave weights, counters ------------

    def node_ids(self):
        return sorted(int(match.group(1)) for match in map(_NODE_DIR_RE.match, self._listdir('sys/devices/system/node'))
                      if match)

    def numa_balancing(self):
        return parse_int(self.read(NUMA_BALANCING_PATH))

    def promote_rate_limit_mbps(self):
        return parse_int(self.read(PROMOTE_RATE_LIMIT_PATH))

    def memmap_on_memory(self):
        return self.read(MEMMAP_ON_MEMORY_PATH)

    def dax_memmap_on_memory(self, chardev):
        return parse_bool(self.read(self._dax_base(), validate_dax(chardev), 'memmap_on_memory'))

    def node_hugepages(self, node):
        base = 'sys/devices/system/node/node%d/hugepages' % int(node)
        pools = []
        for name in self._listdir(base):
            match = _HUGEPAGES_DIR_RE.match(name)
            if match:
                pools.append({'size': int(match.group(1)) * 1024,
                              'nr_hugepages': parse_int(self.read(base, name, 'nr_hugepages')),
                              'free_hugepages': parse_int(self.read(base, name, 'free_hugepages'))})
        return sorted(pools, key=lambda pool: pool['size'])

    def weighted_interleave(self, node):
        return parse_int(self.read(WEIGHTED_INTERLEAVE_DIR, 'node%d' % int(node)))

    def weighted_interleave_nodes(self):
        """The nodes that have an interleave weight file: every possible node, online or not."""
        return sorted(int(match.group(1)) for match in map(_NODE_DIR_RE.match, self._listdir(WEIGHTED_INTERLEAVE_DIR))
                      if match)

    def weighted_interleave_auto(self):
        return parse_bool(self.read(WEIGHTED_INTERLEAVE_DIR, 'auto'))

    def node_tiering_counters(self, node):
        text = self.read('sys/devices/system/node/node%d' % int(node), 'vmstat')
        if text is None:
            return None
        counters = {}
        for line in text.splitlines():
            match = _TIERING_COUNTER_RE.match(line.strip())
            if match:
                counters[match.group(1)] = int(match.group(2))
        return counters

    def numa_tiering(self):
        """What decides how the kernel uses a slower memory node, host-wide and per node (one small file
        each: cheap enough for every pmem_info call)."""
        tier_of_node = {}
        for tier in self.memory_tiers():
            for node in tier['nodes']:
                tier_of_node[node] = tier['tier']
        balancing = self.numa_balancing()
        return {
            'demotion_enabled': self.demotion_enabled(),
            'numa_balancing': balancing,
            'promotion': None if balancing is None else bool(balancing & NUMA_BALANCING_MEMORY_TIERING),
            'promote_rate_limit_mbps': self.promote_rate_limit_mbps(),
            'memmap_on_memory': self.memmap_on_memory(),
            'weighted_interleave_auto': self.weighted_interleave_auto(),
            'nodes': [{
                'node': node,
                'tier': tier_of_node.get(node),
                'hugepages': self.node_hugepages(node),
                'weighted_interleave': self.weighted_interleave(node),
                'tiering_counters': self.node_tiering_counters(node),
            } for node in self.node_ids()],
        }

    def hotremove(self):
        # Since kernel 5.8 every memory block's "removable" reads 1 exactly when the kernel has
        # CONFIG_MEMORY_HOTREMOVE; the kernel config file is the fallback.
        indices = self.memory_block_indices()
        if indices:
            removable = self.read('sys/devices/system/memory/memory%d' % indices[0], 'removable')
            if removable in ('0', '1'):
                return removable == '1'
        release = self.kernel_release()
        if release:
            config = self.read('boot', 'config-' + release)
            if config is not None:
                return 'CONFIG_MEMORY_HOTREMOVE=y' in config.splitlines()
        return None

    def kernel_release(self):
        return self.read('proc/sys/kernel/osrelease')

    # nd bus (regions, namespaces) --------------------------------------------------------------

    def region_mappings(self, region):
        region = validate_region(region)
        count = parse_int(self.read('sys/bus/nd/devices', region, 'mappings')) or 0
        dimms = []
        for position in range(count):
            text = self.read('sys/bus/nd/devices', region, 'mapping%d' % position)
            if text:
                dimm = text.split(',')[0]
                if NMEM_RE.match(dimm):
                    dimms.append(dimm)
        return dimms

    def region_interleave_ways(self, region):
        region = validate_region(region)
        return parse_int(self.read('sys/bus/nd/devices', region, 'mappings'))

    def namespace_raw_size(self, namespace):
        namespace = validate_namespace(namespace)
        return parse_int(self.read('sys/bus/nd/devices', namespace, 'size'))

    def namespace_devtype(self, namespace):
        namespace = validate_namespace(namespace)
        text = self.read('sys/bus/nd/devices', namespace, 'devtype')
        if text:
            return text
        uevent = self.read('sys/bus/nd/devices', namespace, 'uevent') or ''
        for line in uevent.splitlines():
            if line.startswith('DEVTYPE='):
                return line.split('=', 1)[1]
        return None

    # users of a device -------------------------------------------------------------------------

    def block_dev_numbers(self, name):
        if '/' in name or name.startswith('.'):
            return None
        return self.read('sys/class/block', name, 'dev')

    def mounts(self):
        mounts = []
        for line in (self.read('proc/self/mountinfo') or '').splitlines():
            fields = line.split()
            if len(fields) < 5 or '-' not in fields:
                continue
            separator = fields.index('-')
            source = fields[separator + 2] if len(fields) > separator + 2 else None
            mounts.append({'devno': fields[2], 'mountpoint': fields[4], 'source': source})
        return mounts

    def open_files(self, paths):
        wanted = set(paths)
        own_pid = str(os.getpid())
        users = []
        if not wanted:
            return users
        for pid in self._listdir('proc'):
            if not pid.isdigit() or pid == own_pid:
                continue
            found = set()
            for fd in self._listdir('proc', pid, 'fd'):
                try:
                    target = os.readlink(self.path('proc', pid, 'fd', fd))
                except (IOError, OSError):
                    continue
                if target in wanted and target not in found:
                    found.add(target)
                    users.append({'pid': int(pid), 'comm': self.read('proc', pid, 'comm'), 'path': target,
                                  'how': 'open'})
            # A process may map a device DAX file and close it: the mapping alone keeps using the memory.
            for line in (self.read('proc', pid, 'maps') or '').splitlines():
                fields = line.split(None, 5)
                target = fields[5].strip() if len(fields) == 6 else None
                if target in wanted and target not in found:
                    found.add(target)
                    users.append({'pid': int(pid), 'comm': self.read('proc', pid, 'comm'), 'path': target,
                                  'how': 'mapped'})
        return users
