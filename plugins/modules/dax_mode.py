#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: dax_mode
short_description: Switch a dax device between devdax and system-ram (hot-plugged memory) mode
version_added: 0.1.0
description:
  - Turns a dax device (a devdax persistent memory namespace) into system RAM with C(daxctl reconfigure-device
    --mode=system-ram), onlines its memory in the zone asked for, and turns it back into a devdax device,
    idempotently.
  - When the kernel policy C(/sys/devices/system/memory/auto_online_blocks) would online hot-plugged memory by
    itself (Debian 13 does; it would land in zone Normal and could never be taken away), the policy is set to
    V(offline) while the device is hot-plugged and restored afterwards, also when the task fails.
  - Memory already online in another zone than asked is reported (RV(misplaced_blocks) and a warning) and
    moved only with O(relocate=true).
  - Going back to devdax takes the memory offline first with the rules of M(pmem.dax.dax_memory) (room check,
    bounded wait, retries). If that fails, the device is left as it was, all its memory online in the zones it
    was in, and the task fails naming the busy blocks.
  - Only whole, aligned memory blocks inside the device can be hot-plugged; the predicted amount (in the diff
    and RV(device)) accounts for that.
  - System-ram mode does not survive a reboot by itself.
  - Runs hold a host-wide lock (C(/run/lock/pmem-dax.lock)) so that two pmem.dax tasks never interleave.
author:
  - pmem.dax contributors (@pmem-dax)
requirements:
  - daxctl and ndctl on the managed host; the kmem driver; a kernel with memory hot-remove to go back to devdax
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
  - pmem.dax.dax_device
options:
  mode:
    description:
      - V(system-ram) hot-plugs the device's memory into the system (kmem driver).
      - V(devdax) gives the device back to the device_dax driver; its data is not kept either way.
    type: str
    choices: [system-ram, devdax]
    required: true
  online:
    description:
      - With O(mode=system-ram), online the memory (in the zone O(movable) asks for).
      - V(false) hot-plugs it and leaves it offline; memory that is already online stays online (use
        M(pmem.dax.dax_memory) to take it offline).
    type: bool
    default: true
  timeout:
    description:
      - Seconds that taking memory offline may take in total (O(mode=devdax), O(relocate=true)).
    type: int
    default: 120
seealso:
  - module: pmem.dax.dax_memory
  - module: pmem.dax.pmem_namespace
  - module: pmem.dax.pmem_info
'''

EXAMPLES = r'''
- name: Make the namespace labelled "db" system RAM, online in zone Movable
  pmem.dax.dax_mode:
    namespace: db
    mode: system-ram

- name: Hot-plug dax0.0 but leave its memory offline for now
  pmem.dax.dax_mode:
    device: dax0.0
    mode: system-ram
    online: false

- name: Both namespaces as system RAM in one run ("web" in zone Normal); nothing changes unless both can be done
  pmem.dax.dax_mode:
    devices:
      - namespace: db
      - namespace: web
        movable: false
    mode: system-ram

- name: Give the memory back and return the device to devdax
  pmem.dax.dax_mode:
    namespace: db
    mode: devdax
    timeout: 300
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
  sample: ["hot-plug dax0.0 as system-ram (7 memory blocks), memory left offline"]
commands:
  description:
    - The commands run (or that would run in check mode), as argument lists. Sysfs writes appear as
      C(tee <path>); the value written is in RV(actions).
    - Taking memory offline before going back to devdax runs as in M(pmem.dax.dax_memory), one process per
      pass over the device's blocks, shown as C([write_memory_blocks, offline, memory41-memory47]); a retry
      or a rollback adds such an entry, which check mode cannot predict.
  returned: always
  type: list
  elements: list
  sample: [[daxctl, reconfigure-device, --mode=system-ram, --no-online, dax0.0], [daxctl, online-memory, dax0.0]]
processes:
  description:
    - Processes the task started on the host (in check mode too), the reads of the host included. Going
      back to devdax starts one per pass over the device's memory blocks however large it is, plus
      C(daxctl reconfigure-device).
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

from ansible_collections.pmem.dax.plugins.module_utils._memory import module_spec, plan_mode, run_module


def main():
    module = AnsibleModule(**module_spec(
        mode=dict(type='str', required=True, choices=['system-ram', 'devdax']),
        online=dict(type='bool', default=True),
    ))
    params = module.params
    run_module(module, lambda device, host_memory, auto_online, movable: plan_mode(
        device, params['mode'], online=params['online'], movable=movable,
        relocate=params['relocate'], host_memory=host_memory, auto_online=auto_online))


if __name__ == '__main__':
    main()
