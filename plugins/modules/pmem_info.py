#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: pmem_info
short_description: Report persistent memory regions, namespaces, dax devices and hot-plugged memory
version_added: 0.1.0
description:
  - Reads the persistent memory layout of a host (ndctl, daxctl and sysfs, each read once) and returns it.
  - Reports regions, namespaces, dax devices with their memory blocks, the memory block size, online memory
    per NUMA node and zone, the auto-online policy, memory tiers and the demotion switch, tool and kernel
    versions, the dax device model and whether the kernel can hot-remove memory.
  - Reports, in RV(numa), what decides how the kernel uses a slower memory node. Demotion and promotion switches,
    where the memmap of hot-added memory goes, and per NUMA node its memory tier, huge pages, weighted-interleave
    weight and the demotion and promotion counters.
  - Also reports, in RV(host), host facts around it that the tools do not report. Where ndctl, daxctl and cxl are
    and the versions, udev rules that online hot-added memory behind daxctl's back (with an override that stops
    them for memory only), the kernel features the role needs, and the memory available.
  - Changes nothing on the host.
author:
  - pmem.dax contributors (@pmem-dax)
requirements:
  - ndctl and daxctl on the managed host
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.info_module
options:
  require_tools:
    description:
      - V(true) fails when ndctl or daxctl is not installed.
      - V(false) reports the missing tool in RV(host) instead (path V(null)) and returns what sysfs alone shows.
        That is no regions, namespaces or dax devices, but the memory, tiers and kernel facts. A role can install
        the tools after one call, without a separate probe.
    type: bool
    default: true
seealso:
  - module: pmem.dax.pmem_namespace
  - module: pmem.dax.dax_mode
  - module: pmem.dax.dax_memory
'''

EXAMPLES = r'''
- name: Read the persistent memory layout
  pmem.dax.pmem_info:
  register: pmem

- name: Show the dax devices in system-ram mode and how much of their memory is online
  ansible.builtin.debug:
    msg: "{{ item.chardev }}: {{ item.online_blocks }}/{{ item.total_blocks }} blocks online in {{ item.zones }}"
  loop: "{{ pmem.dax_devices | selectattr('mode', 'equalto', 'system-ram') }}"
'''

RETURN = r'''
regions:
  description: The NVDIMM regions.
  returned: always
  type: list
  elements: dict
  sample:
    - name: region0
      id: 0
      size: 4294967296
      available_size: 3221225472
      max_available_extent: 3221225472
      align: 16777216
      interleave_ways: 1
      numa_node: 1
      target_node: 1
      type: pmem
      persistence_domain: memory_controller
      enabled: true
      labelled: true
      namespaces: [namespace0.0]
  contains:
    name:
      description: Region device name.
      type: str
    size:
      description: Size in bytes.
      type: int
    available_size:
      description: Free bytes.
      type: int
    max_available_extent:
      description: Largest contiguous free extent in bytes; the largest namespace that can be created.
      type: int
    align:
      description: Namespace sizes must be multiples of this.
      type: int
    numa_node:
      description: NUMA node of the region.
      type: int
    labelled:
      description: Whether the region has namespace labels; a label-less region cannot hold named namespaces.
      type: bool
namespaces:
  description: The namespaces (without the empty seed namespaces).
  returned: always
  type: list
  elements: dict
  sample:
    - dev: namespace0.0
      name: db
      uuid: 9d6b9d3c-0a55-4a4e-9c7c-1c0f4b1e5f6a
      mode: devdax
      dax_mode: system-ram
      size: 1054867456
      raw_size: 1073741824
      region: region0
      chardev: dax0.0
      blockdev: null
      map: dev
      align: 2097152
      numa_node: 1
      enabled: true
      owned: recorded
      ownership_note: null
      data_risks: []
  contains:
    owned:
      description:
        - What the ownership record (RV(ownership)) says of the namespace - V(recorded) (created or adopted by
          pmem.dax, same uuid), V(replaced) (its name is recorded with another uuid - re-created outside
          pmem.dax), V(not-recorded).
      type: str
    ownership_note:
      description:
        - Why pmem.dax leaves the namespace alone (not recorded, or recorded with another uuid) and how to adopt
          it; null when it is recorded. The words P(pmem.dax.pmem_namespace#module) refuses it with.
      type: str
    data_risks:
      description:
        - Why destroying the namespace needs force - it is mounted or open, it is in fsdax, sector or raw mode,
          or its first MiB holds a filesystem or other signature; empty when none. The same rule and words as
          P(pmem.dax.pmem_namespace#module) with O(pmem.dax.pmem_namespace#module:state=absent).
      type: list
      elements: str
ownership:
  description:
    - The collection's ownership record of this host (C(/var/lib/pmem-dax/owned.json)), what pmem.dax created
      by uuid. C(error) is set when the file cannot be read (then nothing counts as created by pmem.dax).
  returned: always
  type: dict
  sample:
    path: /var/lib/pmem-dax/owned.json
    namespaces: [{uuid: 9d6b9d3c-0a55-4a4e-9c7c-1c0f4b1e5f6a, name: pmem-ram-region0, region: region0}]
    cxl_regions: []
    error: null
dax_devices:
  description: The dax devices, each as the RV(pmem.dax.dax_mode#module:device) return value describes.
  returned: always
  type: list
  elements: dict
  sample:
    - chardev: dax0.0
      mode: system-ram
      driver: kmem
      namespace: namespace0.0
      name: db
      target_node: 1
      size: 1054867456
      resource: 5385486336
      align: 2097152
      block_size: 134217728
      online_blocks: 7
      total_blocks: 7
      online_bytes: 939524096
      total_bytes: 939524096
      zones: [Movable]
      movable: true
      memmap_on_memory: false
  contains:
    memmap_on_memory:
      description:
        - Whether kmem places the memmap (the struct pages) of the device's memory on that memory itself rather than
          in ZONE_NORMAL of other nodes; set before the device becomes system RAM.
        - V(null) when the kernel has no such per device switch (before 6.8).
      type: bool
memory:
  description: Memory hot-plug settings and online memory.
  returned: always
  type: dict
  sample:
    block_size: 134217728
    auto_online_blocks: offline
    online:
      "0": {DMA32: 1879048192, Normal: 268435456}
      "1": {Movable: 939524096}
    nodes:
      - {node: 0, has_cpu: true, memory_blocks: 16, online_bytes: 2147483648}
      - {node: 1, has_cpu: false, memory_blocks: 7, online_bytes: 939524096}
  contains:
    block_size:
      description: Memory block size in bytes (the unit memory is hot-plugged in).
      type: int
    auto_online_blocks:
      description: The kernel policy for hot-added memory (V(offline), V(online), V(online_movable), V(online_kernel)).
      type: str
    online:
      description: Online bytes per NUMA node (string keys) and zone.
      type: dict
    nodes:
      description: NUMA nodes, whether they have CPUs, their memory block count and online bytes.
      type: list
      elements: dict
memory_tiers:
  description: Memory tiers and their NUMA nodes (empty on kernels without memory tiering).
  returned: always
  type: list
  elements: dict
  sample: [{tier: 4, nodes: [0]}, {tier: 22, nodes: [1]}]
demotion_enabled:
  description: Whether page demotion to lower memory tiers is on (null when the kernel has no switch).
  returned: always
  type: bool
numa:
  description:
    - What decides how the kernel uses a slower memory node (NVDIMM or CXL memory online as a CPU-less node), read
      from sysfs and C(/proc/sys). Every value is V(null) where the kernel has no such file.
  returned: always
  type: dict
  sample:
    demotion_enabled: false
    numa_balancing: 0
    promotion: false
    promote_rate_limit_mbps: 65536
    memmap_on_memory: "N"
    weighted_interleave_auto: null
    nodes:
      - node: 0
        tier: 4
        hugepages:
          - {size: 2097152, nr_hugepages: 0, free_hugepages: 0}
          - {size: 1073741824, nr_hugepages: 0, free_hugepages: 0}
        weighted_interleave: 1
        tiering_counters: {pgdemote_kswapd: 0, pgdemote_direct: 0, pgdemote_khugepaged: 0, pgpromote_success: 0,
                           pgpromote_candidate: 0}
      - {node: 1, tier: 22, hugepages: [{size: 2097152, nr_hugepages: 512, free_hugepages: 512}], weighted_interleave: 1,
         tiering_counters: {pgdemote_kswapd: 0, pgdemote_direct: 0, pgpromote_success: 1832, pgpromote_candidate: 2051}}
  contains:
    demotion_enabled:
      description: Whether reclaim demotes pages to lower memory tiers (C(/sys/kernel/mm/numa/demotion_enabled)), as RV(demotion_enabled).
      type: bool
    numa_balancing:
      description:
        - C(kernel.numa_balancing), a bit mask - V(0) off, V(1) NUMA balancing, V(2) memory tiering mode (promotion
          of hot pages from lower tiers), V(3) both.
      type: int
    promotion:
      description: Whether the memory tiering bit of RV(numa.numa_balancing) is set (hot pages on lower tiers are promoted).
      type: bool
    promote_rate_limit_mbps:
      description: C(kernel.numa_balancing_promote_rate_limit_MBps), the most promotion may move per second, in MB.
      type: int
    memmap_on_memory:
      description:
        - The C(memory_hotplug.memmap_on_memory) parameter as the kernel shows it - V(Y), V(N), or V(force) on newer
          kernels. Whether hot-added memory can hold its own memmap; the per device switch is in RV(dax_devices).
      type: str
    weighted_interleave_auto:
      description: The C(auto) switch of weighted interleave (newer kernels than 6.12) - the kernel sets the weights itself.
      type: bool
    nodes:
      description: Per NUMA node (each in C(/sys/devices/system/node)).
      type: list
      elements: dict
      contains:
        node:
          description: The node number.
          type: int
        tier:
          description: The memory tier the node is in (RV(memory_tiers)); V(null) when in none (a node without memory).
          type: int
        hugepages:
          description:
            - The node's huge page pools, by size in bytes - C(nr_hugepages) (pages in the pool) and C(free_hugepages).
              Empty without huge page support.
          type: list
          elements: dict
        weighted_interleave:
          description: The node's weight for the weighted interleave memory policy (kernel 6.9+).
          type: int
        tiering_counters:
          description:
            - The C(pgdemote_*) and C(pgpromote_*) lines of the node's C(vmstat) - pages demoted from the node (by
              kswapd, direct reclaim, khugepaged) and promoted to it (C(pgpromote_success)) since boot. The set
              depends on the kernel.
          type: dict
check_mode:
  description:
    - Whether the task ran in check mode (with C(--check), or C(check_mode) on the task, its block or play, which
      C(ansible_check_mode) does not show).
  returned: always
  type: bool
versions:
  description: Versions of ndctl, daxctl and the kernel.
  returned: always
  type: dict
  sample: {ndctl: "76.1", daxctl: "76.1", kernel: 6.1.0-40-amd64}
dax_model:
  description: V(bus) (current kernels) or V(class) (the old dax_pmem_compat model, which cannot be reconfigured).
  returned: always
  type: str
hotremove:
  description: Whether the kernel can take hot-added memory offline and remove it (null when unknown).
  returned: always
  type: bool
cxl:
  description:
    - CXL memory expanders, from C(cxl list); C(available) is false and the lists empty when the kernel has
      no CXL bus or the C(cxl) command is not installed.
    - C(memdevs) (name, ram_size, pmem_size, serial, host, used, free), C(root_decoders) (name, size, free,
      volatile_capable, interleave_ways, memdevs), C(regions) (name, uuid, type, size, memdevs, dax_devices,
      online_blocks, total_blocks, owned); the dax devices of a region are also in RV(dax_devices).
    - A region's C(uuid) is null for a RAM region (the kernel gives only pmem regions one). C(owned) says
      whether the ownership record (RV(ownership)) lists the region - by name and uuid, or for a region without
      a uuid by name and memdevs - that is whether pmem.dax created (or adopted) it;
      P(pmem.dax.cxl_region#module) with O(pmem.dax.cxl_region#module:ownership=true) destroys only those.
  returned: always
  type: dict
  sample:
    available: true
    memdevs: [{name: mem0, ram_size: 1073741824, pmem_size: 0, used: 1073741824, free: 0}]
    root_decoders: [{name: decoder0.0, size: 4294967296, free: 3221225472, volatile_capable: true}]
    regions: [{name: region0, uuid: null, type: ram, size: 1073741824, memdevs: [mem0], dax_devices: [dax0.0],
               online_blocks: 8, total_blocks: 8, owned: true}]
host:
  description: Host facts around persistent memory that ndctl and daxctl do not report.
  returned: always
  type: dict
  sample:
    tools:
      ndctl: {path: /usr/bin/ndctl, version: "76.1"}
      daxctl: {path: /usr/bin/daxctl, version: "76.1"}
    cxl_path: /usr/bin/cxl
    online_udev_rules: [/usr/lib/udev/rules.d/40-redhat.rules]
    udev_rules:
      - path: /usr/lib/udev/rules.d/40-redhat.rules
        effective: /usr/lib/udev/rules.d/40-redhat.rules
        applies: true
        rules:
          - line: 21
            text: ATTR{state}=="offline", ATTR{state}="$env{.state}"
            does: writes ATTR{state}="online" or "online_movable"
            condition: CONST{arch}!="ppc64*" and CONST{arch}!="s390*"
            applies: true
        override: {path: /etc/udev/rules.d/40-redhat.rules, state: missing, content: "# Written by pmem.dax ..."}
    features: {memory_hotplug: true, auto_online_blocks: true, dax_bus: true, cxl_bus: false, kmem: true}
    mem_available: 2466250752
  contains:
    tools:
      description:
        - For C(ndctl) and C(daxctl), the C(path) of the program and its C(version) (both V(null) when it is not
          installed).
      type: dict
    cxl_path:
      description: Path of the C(cxl) command, V(null) when it is not installed.
      type: str
    online_udev_rules:
      description:
        - The udev rules files that online hot-added memory on this host as soon as it appears (in their own zone,
          before daxctl can choose one), as udev picks them; a rule masked by a link to C(/dev/null) in
          C(/etc/udev/rules.d) does not count, nor does an override pmem.dax wrote (M(pmem.dax.system_ram)).
        - Decided as udev evaluates the rules (GOTO and LABEL, DMI strings, the architecture), not line by line; a
          rule whose condition cannot be decided here (the output of a PROGRAM) counts.
      type: list
      elements: path
    udev_rules:
      description:
        - Every rules file (one per name, as udev picks them) with rules that online hot-added memory on some host,
          even where they do not apply here. C(path) is the file with those rules; C(effective) the file udev
          reads (C(path), or the override in C(/etc/udev/rules.d)).
        - Per rule, C(line), C(text), what it C(does), the C(condition) under which it onlines memory (V(null) on
          every host; else, for example, the Hyper-V/Xen DMI strings of Ubuntu's rule) and whether it C(applies)
          here (V(true), V(false), or V(null) when the condition cannot be decided here). C(applies) of the file is
          that of its rules together.
        - C(override) is a file for C(/etc/udev/rules.d) of the same name (which replaces the file whole) that keeps
          every line but makes those rules skip memory blocks, CPU hot-add rules included; C(state) V(missing),
          V(current), V(stale) (an override pmem.dax wrote from an older version of C(path)), V(obsolete) (an
          override pmem.dax wrote whose C(path) is gone or onlines no memory any more; no C(rules), C(content)
          V(null)), or V(impossible) (C(path) is itself in C(/etc/udev/rules.d), the administrator's own file;
          C(content) is then the suggested edit of it).
      type: list
      elements: dict
    features:
      description:
        - What the kernel offers, read from sysfs rather than guessed from its version (vendor kernels backport).
          C(memory_hotplug) (C(/sys/devices/system/memory)), C(auto_online_blocks) (the auto-online policy file),
          C(dax_bus) (C(/sys/bus/dax)), C(cxl_bus) (C(/sys/bus/cxl)), C(kmem) (the driver that hot-plugs a dax
          device as system RAM is loaded, built in or installed under C(/lib/modules); V(null) when that cannot be
          told).
      type: dict
    mem_available:
      description: MemAvailable from C(/proc/meminfo), in bytes.
      type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._cxl import cxl_summary
from ansible_collections.pmem.dax.plugins.module_utils._host import TOOLS, host_facts
from ansible_collections.pmem.dax.plugins.module_utils import _ownership
from ansible_collections.pmem.dax.plugins.module_utils._state import HostState
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs
from ansible_collections.pmem.dax.plugins.module_utils._system_ram import cxl_facts, namespace_facts


def memory_summary(state):
    online = state.online_memory()
    nodes = []
    for node_id in sorted(state.nodes):
        node = state.nodes[node_id]
        nodes.append({
            'node': node_id,
            'has_cpu': node['has_cpu'],
            'memory_blocks': len(node['memory_blocks']),
            'online_bytes': sum((online.get(node_id) or {}).values()),
        })
    return {
        'block_size': state.block_size,
        'auto_online_blocks': state.auto_online_blocks,
        'online': dict((str(node), zones) for node, zones in sorted(online.items(), key=lambda item: str(item[0]))),
        'nodes': nodes,
    }


def device_result(device, sysfs):
    result = dict(device)
    result.pop('block_indices', None)
    result['memmap_on_memory'] = sysfs.dax_memmap_on_memory(device['chardev'])
    return result


def ownership_summary(sysfs):
    path = _ownership.record_path(sysfs)
    try:
        record = _ownership.read_record(path)
        error = None
    except _ownership.RecordError as exc:
        record, error = _ownership.empty_record(), str(exc)
    return dict(path=_ownership.OWNERSHIP_PATH, namespaces=record['namespaces'], cxl_regions=record['cxl_regions'],
                error=error)


def main():
    module = AnsibleModule(argument_spec=dict(require_tools=dict(type='bool', default=True)),
                           supports_check_mode=True)
    runner = CliRunner(module)
    sysfs = Sysfs()
    try:
        if module.params['require_tools']:
            for tool in TOOLS:
                runner.bin_path(tool)  # fails with "install the ... package" before anything runs
        host = host_facts(runner, sysfs)
        versions = dict((tool, host['tools'][tool]['version']) for tool in TOOLS)
        versions['kernel'] = sysfs.kernel_release()
        if all(host['tools'][tool]['path'] for tool in TOOLS):
            state = HostState.read(runner, sysfs)
        else:
            state = HostState([], [], sysfs)
        cxl = cxl_summary(runner, sysfs)
        ownership = ownership_summary(sysfs)
    except CliError as exc:
        module.fail_json(msg=str(exc), **exc.to_dict())

    module.exit_json(
        changed=False,
        regions=state.regions,
        namespaces=namespace_facts(state, ownership),
        ownership=ownership,
        dax_devices=[device_result(state.dax_devices[chardev], sysfs) for chardev in sorted(state.dax_devices)],
        memory=memory_summary(state),
        memory_tiers=sysfs.memory_tiers(),
        demotion_enabled=sysfs.demotion_enabled(),
        numa=sysfs.numa_tiering(),
        versions=versions,
        dax_model=state.dax_model,
        hotremove=sysfs.hotremove(),
        cxl=cxl_facts(cxl, ownership),
        check_mode=module.check_mode,
        host=host,
    )


if __name__ == '__main__':
    main()
