#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: dax_memory
short_description: Online or offline the memory of a dax device in system-ram mode
version_added: 0.1.0
description:
  - Brings the memory blocks of a dax device in system-ram mode online (in zone Movable or Normal) or takes
    them offline, safely and idempotently.
  - Before taking memory offline the module checks that the rest of the host has room for the pages that
    must migrate off the device (free memory after offlining must stay above a safety margin of three times
    C(vm.min_free_kbytes), at least 128 MiB), and refuses with the figures instead of hanging or waking the
    OOM killer.
  - Memory goes offline one block at a time, each write bounded by what is left of O(timeout); blocks that
    stay busy are retried O(retries) times. The writes of one pass over the device's blocks are made by one
    process, so the processes a removal starts do not grow with its size (RV(processes)). If some still
    refuse, the task fails naming them (and the kernel's reason when its log says), and the blocks this run
    took offline are put back online in the zone they were in, unless O(leave_partial=true).
  - A device left partly offline (by C(daxctl offline-memory), which stops at the first busy block, or with
    O(leave_partial=true)) is a normal state; running again finishes the job.
  - The decision is made from the memory block states in sysfs, never from the exit codes of C(daxctl).
  - Runs hold a host-wide lock (C(/run/lock/pmem-dax.lock)) so that two pmem.dax tasks never interleave.
author:
  - pmem.dax contributors (@pmem-dax)
requirements:
  - daxctl and ndctl on the managed host; a kernel with memory hot-remove to take memory offline
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
  - pmem.dax.dax_device
options:
  state:
    description:
      - V(online) onlines every offline memory block of the device, in the zone O(movable) asks for.
      - V(offline) takes every online memory block of the device offline. A device in devdax mode has no
        memory online, so V(offline) holds for it already.
    type: str
    choices: [online, offline]
    default: online
  timeout:
    description:
      - Seconds that taking memory offline may take in total, retries included.
    type: int
    default: 120
  retries:
    description:
      - How many more passes are made over blocks that would not go offline, two seconds apart.
    type: int
    default: 3
  leave_partial:
    description:
      - When some blocks would not go offline, leave the blocks this run took offline as they are instead of
        putting them back online.
    type: bool
    default: false
notes:
  - The device must be in system-ram mode for O(state=online); see M(pmem.dax.dax_mode).
seealso:
  - module: pmem.dax.dax_mode
  - module: pmem.dax.pmem_namespace
  - module: pmem.dax.pmem_info
'''

EXAMPLES = r'''
- name: Online the memory of the namespace labelled "db" into zone Movable
  pmem.dax.dax_memory:
    namespace: db
    state: online

- name: Take it offline again, waiting at most 5 minutes
  pmem.dax.dax_memory:
    namespace: db
    state: offline
    timeout: 300

- name: Take the memory of two devices offline in one run, after checking there is room for both
  pmem.dax.dax_memory:
    devices:
      - namespace: db
      - device: dax1.0
    state: offline

- name: Move memory that was onlined into zone Normal by hand over to zone Movable
  pmem.dax.dax_memory:
    device: dax0.0
    state: online
    movable: true
    relocate: true
'''

RETURN = r'''
device:
  description:
    - The dax device after the task (predicted in check mode).
  returned: when the device was found, with O(device) or O(namespace)
  type: dict
  contains:
    chardev:
      description: Name of the dax device.
      type: str
      sample: dax0.0
    mode:
      description: V(system-ram), V(devdax), or null when no driver is bound.
      type: str
      sample: system-ram
    namespace:
      description: The namespace the device belongs to.
      type: str
      sample: namespace0.0
    name:
      description: Name label of that namespace.
      type: str
      sample: db
    target_node:
      description: NUMA node the memory is added to.
      type: int
      sample: 1
    size:
      description: Size of the dax device in bytes.
      type: int
      sample: 1054867456
    block_size:
      description: Memory block size of the host in bytes.
      type: int
      sample: 134217728
    online_blocks:
      description: Memory blocks of the device that are online.
      type: int
      sample: 7
    total_blocks:
      description: Memory blocks of the device (the whole blocks inside its range, which kmem adds).
      type: int
      sample: 7
    online_bytes:
      description: Bytes of the device that are online.
      type: int
      sample: 939524096
    total_bytes:
      description: Bytes of all memory blocks of the device.
      type: int
      sample: 939524096
    zones:
      description: Zones the online blocks are in.
      type: list
      elements: str
      sample: [Movable]
    movable:
      description: Whether all online blocks are in zone Movable; null when none is online.
      type: bool
      sample: true
misplaced_blocks:
  description: Online blocks left in another zone than O(movable) asks for (O(relocate=false)).
  returned: success
  type: list
  elements: dict
  sample: [{block: memory40, zone: Normal}]
devices:
  description:
    - With O(devices), one entry per item, in the order given (what RV(device), RV(actions), RV(commands) and
      RV(misplaced_blocks) say for one device).
    - When the task fails, the devices before the failing one are as they were made, the failing one as it
      was left, the ones after it as they were.
  returned: with O(devices), on success and after a failure while changing
  type: list
  elements: dict
  contains:
    device:
      description: The dax device after the task (predicted in check mode), as RV(device).
      type: dict
    changed:
      description: Whether this device was (or in check mode would be) changed.
      type: bool
    actions:
      description: What the task does to this device, in order.
      type: list
      elements: str
    commands:
      description: The commands run (or that would run in check mode) for this device.
      type: list
      elements: list
    misplaced_blocks:
      description: Online blocks of this device left in another zone than asked for.
      type: list
      elements: dict
actions:
  description: What the task does (did, or would do in check mode), in order (with O(devices), for all of them).
  returned: success
  type: list
  elements: str
  sample: ["offline 7 memory blocks of dax0.0 (memory40-memory46; zone Movable)"]
commands:
  description:
    - The commands run (or that would run in check mode), as argument lists. Sysfs writes appear as
      C(tee <path>); the value written is in RV(actions).
    - Memory block states are written by one process per pass over a device's blocks (the module's own
      Python interpreter running a short program that writes each block's C(state) in turn, each write
      bounded by what is left of O(timeout)), shown as C([write_memory_blocks, VALUE, BLOCKS, ...]), each
      value written with the blocks it went to, for example C([write_memory_blocks, offline,
      memory41-memory47]). A retry of the blocks that stayed busy, and putting blocks back online after a
      failure, are one more such entry each, which check mode cannot predict.
  returned: always
  type: list
  elements: list
  sample: [[write_memory_blocks, offline, memory40-memory46]]
processes:
  description:
    - How many processes the task started on the host, read-only commands included (C(ndctl list),
      C(daxctl list), C(dmesg) on a failure to offline), in check mode too.
    - Taking memory offline starts one process per pass over a device's blocks, whatever its size; taking
      8 GiB (64 blocks of 128 MiB) offline with no busy block starts 3 (two reads, one pass).
  returned: success, and on a failure while changing
  type: int
  sample: 3
busy_blocks:
  description: On failure to offline, the blocks that stayed online, their zone and why.
  returned: failure
  type: list
  elements: dict
  sample: [{block: memory47, zone: Normal, reason: "busy (EBUSY: the kernel could neither migrate nor isolate its pages)"}]
kernel_log:
  description: On failure to offline, the kernel log lines about offlining and unmovable pages.
  returned: failure
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._memory import module_spec, plan_memory, run_module


def main():
    module = AnsibleModule(**module_spec(
        state=dict(type='str', default='online', choices=['online', 'offline']),
        retries=dict(type='int', default=3),
        leave_partial=dict(type='bool', default=False),
    ))
    params = module.params
    run_module(module, lambda device, host_memory, auto_online, movable: plan_memory(
        device, params['state'], movable=movable, relocate=params['relocate'],
        host_memory=host_memory))


if __name__ == '__main__':
    main()
