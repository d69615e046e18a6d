#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: cxl_region
short_description: Create and destroy CXL RAM regions (CXL type-3 memory expanders)
version_added: 0.1.0
description:
  - Creates a C(ram) region over CXL memory devices with C(cxl create-region), or disables and destroys
    regions with C(cxl disable-region) and C(cxl destroy-region).
  - Since Linux 6.3 the kernel (kmem) onlines a new CXL RAM region's memory by itself, in the zone that
    C(/sys/devices/system/memory/auto_online_blocks) says. The module sets that policy to what O(online)
    and O(movable) ask for while it creates the region, and restores it afterwards, so the memory lands
    in C(ZONE_MOVABLE) by default and can be taken out again.
  - The result is decided from the topology re-read after the commands, never from C(cxl)'s exit code
    (C(cxl create-region) can exit 0 after failing).
  - A region does not survive a reboot; run the module (or the role) again at boot to re-create it.
  - Ownership. With O(ownership=true) the module keeps the collection's ownership record
    (C(/var/lib/pmem-dax/owned.json)) - a region it creates is recorded as soon as C(cxl create-region)
    reports it, by its name, uuid and memdevs, and a region is destroyed only when it is recorded, or when
    adopted (O(adopt=true)). The kernel gives a RAM region no uuid, so a RAM region is recorded by its name and
    memdevs.
seealso:
  - module: pmem.dax.dax_memory
  - module: pmem.dax.pmem_info
author:
  - pmem.dax contributors (@pmem-dax)
requirements:
  - the C(cxl) command (Debian package C(cxl), ndctl 78 or newer) and Linux 6.3 or newer
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
options:
  state:
    description:
      - V(present) creates a RAM region over O(memdevs) unless one exists over exactly these memdevs.
      - V(absent) disables and destroys O(region), or every region over O(memdevs), or with neither every
        RAM region. A region whose memory is online is refused; take it offline first with
        M(pmem.dax.dax_memory).
    type: str
    choices: [present, absent]
    default: present
  memdevs:
    description:
      - CXL memory devices (C(mem0), ...) of the region, interleaved in this order.
      - Omitted means every memdev with volatile capacity, one region each; a memdev already in a RAM
        region counts as done.
    type: list
    elements: str
  region:
    description:
      - With O(state=absent), the region to remove (C(region0)). Region names are given by the kernel, so
        O(state=present) does not take one.
    type: str
  type:
    description: The region type; only V(ram) (volatile memory) is supported.
    type: str
    choices: [ram]
    default: ram
  size:
    description:
      - Size of the region, in bytes or with a unit (C(512m), C(1g)); a multiple of 256 MiB per memdev.
      - Omitted means all free volatile capacity of the memdevs.
    type: raw
  decoder:
    description:
      - Root decoder (CXL fixed memory window) to map the region in, like C(decoder0.0).
      - Omitted means the volatile-capable root decoder with the most free space that can reach the memdevs.
    type: str
  online:
    description: Whether the kernel brings the new region's memory online (as system RAM) when it is created.
    type: bool
    default: true
  movable:
    description:
      - With O(online=true), put the memory in C(ZONE_MOVABLE) (it can be taken offline and removed again).
        V(false) puts it in C(ZONE_NORMAL), where the kernel's own data makes it permanent until reboot.
    type: bool
    default: true
  ownership:
    description:
      - Keep and obey the ownership record (see the description). The role P(pmem.dax.pmem_system_ram#role)
        sets it; without it O(state=absent) destroys any region it is pointed at (whose memory is offline).
    type: bool
    default: false
  adopt:
    description:
      - With O(ownership=true), take over the regions of the request that are not recorded - they are recorded
        as created by pmem.dax (O(state=present)) or destroyed like one (O(state=absent)).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Turn every CXL memory expander into movable system RAM
  pmem.dax.cxl_region:
    state: present

- name: A 512 MiB region on mem0, memory left offline for dax_memory to online
  pmem.dax.cxl_region:
    memdevs: [mem0]
    size: 512m
    online: false

- name: A region over mem0, recorded as pmem.dax's in the ownership record
  pmem.dax.cxl_region:
    memdevs: [mem0]
    ownership: true

- name: Remove a region that pmem.dax did not create (its memory is offline)
  pmem.dax.cxl_region:
    state: absent
    region: region1
    ownership: true
    adopt: true

- name: Take the memory offline, then remove the region
  block:
    - name: Offline the region's memory
      pmem.dax.dax_memory:
        device: dax0.0
        state: offline
    - name: Destroy region0
      pmem.dax.cxl_region:
        state: absent
        region: region0
'''

RETURN = r'''
regions:
  description: The regions the request covers, as they are after the run (predicted in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    region:
      description: Region name (null for a region check mode predicts).
      type: str
    type:
      description: C(ram).
      type: str
    size:
      description: Size in bytes.
      type: int
    memdevs:
      description: The memdevs of the region, in interleave order.
      type: list
      elements: str
    dax_devices:
      description: The dax devices of the region (C(daxN.M)), as M(pmem.dax.dax_memory) takes them.
      type: list
      elements: str
    online_blocks:
      description: Memory blocks of the region online as system RAM.
      type: int
    total_blocks:
      description: Memory blocks of the region.
      type: int
  sample:
    - {region: region0, type: ram, size: 1073741824, memdevs: [mem0], dax_devices: [dax0.0],
       online_blocks: 8, total_blocks: 8}
commands:
  description: The commands run (or planned in check mode); sysfs writes show as C(tee PATH).
  returned: always
  type: list
  elements: list
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._apply import apply_region_plan, failure_detail, region_result
from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._cxl import CxlState, goal_reached, plan_region
from ansible_collections.pmem.dax.plugins.module_utils._lock import LOCK_TIMEOUT, host_lock
from ansible_collections.pmem.dax.plugins.module_utils import _ownership
from ansible_collections.pmem.dax.plugins.module_utils._sizes import SizeError, parse_size
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            memdevs=dict(type='list', elements='str'),
            region=dict(type='str'),
            type=dict(type='str', default='ram', choices=['ram']),
            size=dict(type='raw'),
            decoder=dict(type='str'),
            online=dict(type='bool', default=True),
            movable=dict(type='bool', default=True),
            ownership=dict(type='bool', default=False),
            adopt=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('region', 'memdevs')],
        supports_check_mode=True,
    )
    desired = dict(module.params)
    try:
        if desired['size'] is not None:
            desired['size'] = parse_size(desired['size'], 'size')
    except SizeError as exc:
        module.fail_json(msg=str(exc), commands=[])
    runner = CliRunner(module)
    sysfs = Sysfs()
    try:
        with host_lock(module, LOCK_TIMEOUT):
            record_path = _ownership.record_path(sysfs)
            try:
                desired['record'] = _ownership.read_record(record_path) if desired['ownership'] else None
            except _ownership.RecordError as exc:
                module.fail_json(msg=str(exc), commands=[])
            cxl = CxlState.read(runner)
            plan = plan_region(cxl, desired)
            if plan.error:
                module.fail_json(msg=plan.error, commands=[])
            result = dict(changed=plan.changed, commands=plan.commands)
            if module._diff:
                result['diff'] = dict(before=plan.before, after=plan.after)
            if not plan.changed or module.check_mode:
                result['regions'] = region_result(cxl, plan.after['regions'])
                module.exit_json(**result)
            cxl, failure = apply_region_plan(module, runner, sysfs, plan, desired, record_path, desired['record'])
    except CliError as exc:
        module.fail_json(msg=str(exc), commands=runner.changes, **exc.to_dict())

    result['commands'] = runner.changes
    now = plan_region(cxl, desired)
    if desired['state'] == 'present':
        result['regions'] = region_result(cxl, now.after.get('regions', []) if not now.error else [])
    else:
        result['regions'] = []
    if not goal_reached(cxl, desired):
        module.fail_json(msg='the CXL regions are not %s after the run%s' % (desired['state'], failure_detail(failure)),
                         **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
