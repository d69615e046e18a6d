#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: memory_tiering
short_description: Tune how the kernel uses a slower memory node (demotion, promotion, huge pages, interleave weights)
version_added: 0.1.0
description:
  - Once persistent or CXL memory is online as a CPU-less NUMA node, these kernel settings decide what lands there.
    The module sets the ones given and leaves the others as they are.
  - Every request is checked before the first write (a kernel without the file, a node without memory, 1 GiB pages on
    memory that is all C(ZONE_MOVABLE), a weight out of range), and the module fails changing nothing.
  - A write that does not read back as asked (the kernel could not fill a huge page pool) makes the module write back
    every value it changed, then fail (never a half-done host).
  - None of these survives a reboot; the role C(pmem.dax.pmem_system_ram) keeps the ones its variables set
    (C(pmem_system_ram_promotion), C(pmem_system_ram_hugepages), C(pmem_system_ram_weighted_interleave) and others)
    in its boot-time config.
options:
  demotion:
    description: Page demotion of cold pages to the slower tier (C(/sys/kernel/mm/numa/demotion_enabled), Linux 5.15/6.1).
    type: bool
  promotion:
    description:
      - Promotion of hot pages from the slower tier, by NUMA balancing in memory tiering mode (bit 2 of
        C(/proc/sys/kernel/numa_balancing); the other bit, balancing between CPU nodes, is kept). Linux 6.1 or newer.
    type: bool
  promote_rate_limit_mbps:
    description: The most promotion may move, in MB/s (C(/proc/sys/kernel/numa_balancing_promote_rate_limit_MBps), Linux 6.1).
    type: int
  hugepages:
    description:
      - Huge page pools per node (C(/sys/devices/system/node/nodeN/hugepages/hugepages-<size>kB/nr_hugepages)).
      - 1 GiB pages cannot come from C(ZONE_MOVABLE), so the module refuses them on a node whose memory is all movable.
    type: list
    elements: dict
    suboptions:
      node:
        description: The NUMA node.
        type: int
        required: true
      size:
        description: The page size, V(2M) or V(1G) (C(2MiB), bytes).
        type: raw
        required: true
      count:
        description: The number of pages the pool must hold (V(0) empties it).
        type: int
        required: true
  weighted_interleave:
    description:
      - Weights of the weighted-interleave memory policy per node, 1 to 255 (C(/sys/kernel/mm/mempolicy/weighted_interleave/nodeN),
        Linux 6.9), as a dict of node number to weight. Weight 3 on node 0 and 1 on node 1 put three pages on node 0 for each on node 1.
    type: dict
  weighted_interleave_auto:
    description: Let the kernel set the interleave weights from the nodes' bandwidth (C(weighted_interleave/auto), Linux 6.16).
    type: bool
  nodes_forecast:
    description:
      - For check mode after a M(pmem.dax.system_ram) dry run, its C(forecast) (node to C(kernel)/C(movable) bytes). A node that has
        no memory online yet is planned as that run would leave it (pools empty, 2 MiB and 1 GiB pages), instead
        of being refused as a node without memory. Nodes with memory online are read as they are.
    type: dict
seealso:
  - module: pmem.dax.pmem_info
  - module: pmem.dax.memory_demotion
notes:
  - Kernel versions each knob needs, as the kernel documents them. Demotion 5.15 (6.1 with memory tiers), promotion
    in memory tiering mode and its rate limit 6.1, weighted interleave 6.9, automatic weights 6.16. The module checks
    for the files, not the version, so vendor kernels with backports work.
author:
  - pmem.dax contributors (@pmem-dax)
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
'''

EXAMPLES = r'''
- name: Demote cold pages to node 1, promote hot ones back at up to 256 MB/s
  pmem.dax.memory_tiering:
    demotion: true
    promotion: true
    promote_rate_limit_mbps: 256

- name: Keep 512 huge pages of 2 MiB on the persistent memory node, and spread interleaved pages 3:1
  pmem.dax.memory_tiering:
    hugepages:
      - {node: 1, size: 2M, count: 512}
    weighted_interleave: {0: 3, 1: 1}

- name: Give the huge pages back before the memory is taken offline
  pmem.dax.memory_tiering:
    hugepages:
      - {node: 1, size: 2M, count: 0}
'''

RETURN = r'''
changes:
  description: What changed (in check mode, what would change).
  returned: always
  type: list
  elements: str
  sample: ["NUMA balancing 0 -> 2 (promotion of hot pages on)", "2 MiB pages on node 1: 0 -> 512"]
tiering:
  description: The settings after the task (in check mode, as they would be), per node the huge page pools and weight.
  returned: success
  type: dict
  sample: {demotion: true, numa_balancing: 2, promote_rate_limit_mbps: 256, weighted_interleave_auto: null,
           nodes: {"1": {hugepages: {"2 MiB": 512, "1 GiB": 0}, weight: null}}}
summary:
  description:
    - One line per node with memory online, as the run leaves it (in check mode, would leave it). Its memory tier, memory by
      zone kind, huge page pools and interleave weight (before -> after where the run changes them), and the pages
      demotion moved to it and promotion moved from it since boot (C(pgdemote_*), C(pgpromote_success)).
  returned: success
  type: list
  elements: str
  sample: ["node 1: kernel 0.00 GiB, movable 3.88 GiB, tier 22, 2 MiB pages 0 -> 64, interleave weight 1, demoted 1200 pages, promoted 37"]
commands:
  description: The commands run (or, in check mode, that would run), as argument lists.
  returned: always
  type: list
  elements: list
  sample: [[tee, /proc/sys/kernel/numa_balancing]]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._lock import LOCK_TIMEOUT, host_lock
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs
from ansible_collections.pmem.dax.plugins.module_utils._tiering import (
    TieringError, apply_tiering, change_lines, node_lines, normalize_weights, plan_tiering, read_tiering,
    tiering_argument_spec)


def main():
    module = AnsibleModule(
        argument_spec=dict(tiering_argument_spec(), demotion=dict(type='bool'), nodes_forecast=dict(type='dict')),
        supports_check_mode=True,
    )
    try:
        desired = dict(module.params, weighted_interleave=normalize_weights(module.params['weighted_interleave']))
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False, commands=[], changes=[])
    sysfs = Sysfs()
    with host_lock(module, LOCK_TIMEOUT):
        current = read_tiering(sysfs)
        plan = plan_tiering(current, desired, module.params['nodes_forecast'])
        planned = [['tee', write['path']] for write in plan['writes']]
        if plan['errors']:
            module.fail_json(msg='Nothing was changed: %s.' % '; '.join(plan['errors']), changed=False,
                             commands=[], changes=[])
        result = dict(changed=bool(plan['writes']), changes=change_lines(plan['writes']),
                      commands=planned, tiering=plan['after'], summary=node_lines(current, plan['after']))
        if module._diff:
            result['diff'] = dict(before=plan['before'], after=plan['after'])
        if plan['writes'] and not module.check_mode:
            try:
                result['commands'] = apply_tiering(CliRunner(module), sysfs, plan['writes'])
            except TieringError as exc:
                module.fail_json(msg=exc.message, changed=False, commands=exc.commands, changes=[])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
