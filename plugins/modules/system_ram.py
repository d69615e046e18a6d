#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: system_ram
short_description: Turn persistent memory and CXL memory into system RAM, or take it back, in one converging run
version_added: 0.1.0
description:
  - The whole change of one host in one run, under one host lock - one read, one plan, then the change, a read
    again and a check of every device and every NUMA node against the plan. The role
    P(pmem.dax.pmem_system_ram#role) is a short script around this module.
  - O(state=present) creates the devdax namespaces that do not exist yet (each recorded in the ownership record
    C(/var/lib/pmem-dax/owned.json) before ndctl creates it), hot-plugs them as system RAM with all their memory
    online in the zone asked for, creates the CXL RAM regions asked for, and optionally enables page demotion.
  - O(state=absent) takes the memory offline (the kernel migrates the pages out, bounded and retried), returns the
    devices to devdax, destroys the CXL regions and then the namespaces. Only what the ownership record lists
    with the same uuid (or what an item adopts) is destroyed; a namespace that may hold data needs C(force).
  - The decisions are the single-purpose modules' (M(pmem.dax.pmem_namespace), M(pmem.dax.dax_mode),
    M(pmem.dax.dax_memory), M(pmem.dax.cxl_region)) - the same planners, run in one process. Every reason the
    change cannot be done (a namespace that does not fit or is not pmem.dax's, a movable:kernel ratio above
    O(max_movable_ratio), no room for the pages of a removal, a device with data) fails the run before the first
    change.
  - Before that, the run checks the host and names every problem at once, before any change - ndctl and daxctl
    installed and at least version 68 (cxl for O(cxl_regions)), the kmem driver and the auto-online policy,
    memory hotplug, the dax bus model, a persistent memory region, the page demotion switch for O(demotion), a
    CXL bus for O(cxl_regions), and udev rules that online hot-added memory (O(udev_override)).
  - Without O(namespaces), the run acts on one namespace per region over its free space, named
    O(name_prefix)C(<region>) (present), and on every namespace with that prefix that pmem.dax created (both
    states); namespaces with the prefix that pmem.dax did not create are left alone and listed in
    RV(left_alone).
  - Does not keep the change across a reboot; M(pmem.dax.dax_persist) and the role's boot-time unit do, from
    RV(config).
author:
  - pmem.dax contributors (@pmem-dax)
requirements:
  - ndctl and daxctl on the managed host (cxl for O(cxl_regions)); the kmem driver; memory hot-remove for
    O(state=absent)
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
options:
  state:
    description: V(present) adds the memory, V(absent) gives it back and destroys what pmem.dax created.
    type: str
    choices: [present, absent]
    default: present
  namespaces:
    description:
      - The namespaces to act on; empty for the default (see the description).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The namespace's name label, its identity.
        type: str
        required: true
      region:
        description: Region to create it in (V(region0) or V(0)); default the labelled region with the most free space.
        type: str
      numa_node:
        description: Create it in a region whose memory is on this NUMA node.
        type: int
      size:
        description: Size (bytes, or with a unit such as V(12g), V(1GiB)); default the region's free space.
        type: raw
      movable:
        description: V(true) onlines the memory in ZONE_MOVABLE (removable again); V(false) in the kernel zone.
        type: bool
        default: true
      force:
        description: Destroy it (absent) or turn it into RAM (present) although it may hold data.
        type: bool
        default: false
      adopt:
        description: Record it as created by pmem.dax, so that this run may change or destroy it.
        type: bool
        default: false
  cxl_regions:
    description: CXL RAM regions to act on besides the namespaces; empty leaves CXL memory alone.
    type: list
    elements: dict
    default: []
    suboptions:
      memdevs:
        description: Memdevs of the region; omitted means every memdev with RAM capacity, one region each.
        type: list
        elements: str
      size:
        description: Size of a new region; default all free capacity (256 MiB units per memdev).
        type: raw
      movable:
        description: Zone of the memory, as for namespaces.
        type: bool
        default: true
      adopt:
        description: Take over regions pmem.dax did not create.
        type: bool
        default: false
  name_prefix:
    description: Name prefix of the namespaces the run makes and removes by default.
    type: str
    default: pmem-ram-
  max_movable_ratio:
    description:
      - Ceiling of movable to kernel memory after the change (the kernel's advice is about 3:1); V(0) turns it off.
      - The page map of the memory the run hot-plugs (1/64 of it) is taken from the kernel memory the host has
        and counts on that side.
    type: float
    default: 3
  removal_reserve:
    description: Memory that must stay available after a removal (MemAvailable minus the memory removed).
    type: raw
    default: 256m
  timeout:
    description: Seconds that taking memory offline may take per device.
    type: int
    default: 120
  retries:
    description: Passes over the memory blocks that stayed busy while going offline.
    type: int
    default: 3
  demotion:
    description: With O(state=present), enable page demotion to the slower memory tier (C(/sys/kernel/mm/numa/demotion_enabled)).
    type: bool
    default: false
  allow_movable_only_node:
    description:
      - With O(state=present), the run refuses, before any change, to leave a NUMA node without CPUs holding only
        movable memory (C(ZONE_MOVABLE)) while page demotion is off. The kernel never places its own data in
        C(ZONE_MOVABLE) and processes allocate on their local node first, so such memory is used only when every other node
        runs short, so the host can run out of memory while it sits idle.
      - Turn O(demotion) on, online part of the memory as kernel memory (O(namespaces[].movable=false)), or set this to
        V(true) to accept the node as it is (for workloads that bind memory to the node themselves).
    type: bool
    default: false
    version_added: 0.1.0
  memmap_on_memory:
    description:
      - With O(state=present), put the page map of the memory hot-plugged now (64 bytes per 4 KiB page, 1/64 of it) on that
        memory itself, not in the kernel memory the host already has, by each dax device's C(memmap_on_memory) switch,
        set before the hot-plug. The movable:kernel ratio check then does not count the page map on the kernel side.
      - Needs Linux 6.8 or newer and the kernel command-line argument C(memory_hotplug.memmap_on_memory=1) (read-only
        once booted). Without either the run fails before any change. Memory already online keeps its page map where it is.
    type: bool
    default: false
    version_added: 0.1.0
  tiering:
    description:
      - How the kernel uses the memory once it is online, in the same run under the same lock, planned with the memory
        change (any refusal comes before the first change) and read back after it. With O(state=present) set after the
        memory is online (a new node's pools exist only then); with O(state=absent) undone before the memory goes
        (promotion off, the listed pools emptied, the listed weights back to 1; the rate limit and automatic weights
        stay as they are).
      - Each setting as in M(pmem.dax.memory_tiering), which sets them alone. Settings left out are not touched.
    type: dict
    suboptions:
      promotion:
        description: Promote hot pages from slower tiers, by NUMA balancing in memory tiering mode (bit 2 of
          C(kernel.numa_balancing); the other bit is kept).
        type: bool
      promote_rate_limit_mbps:
        description: The promotion rate limit in MB/s (C(kernel.numa_balancing_promote_rate_limit_MBps), Linux 6.1).
        type: int
      hugepages:
        description: Huge page pools per node; 1 GiB pages are refused on a node whose memory is all movable.
        type: list
        elements: dict
        suboptions:
          node: {description: The NUMA node whose pool it is., type: int, required: true}
          size: {description: 'The page size: V(2M) or V(1G).', type: raw, required: true}
          count: {description: The number of pages the pool must hold., type: int, required: true}
      weighted_interleave:
        description: Weighted-interleave weights per node, 1 to 255, as node number to weight (Linux 6.9).
        type: dict
      weighted_interleave_auto:
        description: Let the kernel set the interleave weights from the nodes' bandwidth (Linux 6.16).
        type: bool
    version_added: 0.1.0
  udev_override:
    description:
      - With O(state=present), what to do about udev rules that online every hot-added memory block as soon as it
        appears (RHEL's C(40-redhat.rules), SUSE's C(80-hotplug-cpu-mem.rules), Ubuntu's C(40-vm-hotadd.rules) where
        its condition holds). Such a rule puts the new memory in its own zone before daxctl can choose
        C(ZONE_MOVABLE), and RHEL's ignores the auto-online policy the run holds.
      - V(true) writes, before the first hot-plug, a file of the same name in C(/etc/udev/rules.d) - the
        distribution's file with only those rules made to skip memory blocks, every other line (CPU hot-add
        included) kept - and makes udev read its rules again; an override pmem.dax wrote that is not needed any more
        is removed. V(false) fails the run, before any change, while such a rule applies.
      - A rule in a file of the administrator's own in C(/etc/udev/rules.d) is never rewritten; it fails the run.
    type: bool
    default: true
    version_added: 0.1.0
  reboot_allowed:
    description:
      - With O(state=absent) on a kernel without memory hot-remove, V(true) plans the removal for after a reboot
        (the memory is listed in RV(reboot_needed); the caller drops the boot-time config and reboots), V(false)
        fails the run before any change.
    type: bool
    default: true
    version_added: 0.1.0
  missing_tools:
    description:
      - What to do when ndctl or daxctl (or, for O(cxl_regions), cxl) is not installed.
      - V(fail) fails the run before any change and says which package to install. V(report) returns them in
        RV(missing_tools) without reading or changing anything else (not changed), so that the caller can install
        them and run again, as the role P(pmem.dax.pmem_system_ram#role) does.
    type: str
    choices: [fail, report]
    default: fail
    version_added: 0.1.0
seealso:
  - module: pmem.dax.pmem_info
  - module: pmem.dax.pmem_namespace
  - module: pmem.dax.dax_mode
  - module: pmem.dax.memory_tiering
'''

EXAMPLES = r'''
- name: Every region's free space as movable system RAM, in namespaces named pmem-ram-<region>
  pmem.dax.system_ram:
    state: present

- name: One 1 GiB namespace in region0, its memory online as kernel memory
  pmem.dax.system_ram:
    namespaces:
      - name: fast-1
        region: region0
        size: 1GiB
        movable: false

- name: A dry run of the removal, with the forecast per node
  pmem.dax.system_ram:
    state: absent
  check_mode: true
  register: removal

- name: Remove a namespace that was made by hand, with a filesystem on it
  pmem.dax.system_ram:
    state: absent
    namespaces:
      - name: old-scratch
        adopt: true
        force: true

- name: The CXL memory of mem0 as system RAM, beside the namespaces
  pmem.dax.system_ram:
    cxl_regions:
      - memdevs: [mem0]

- name: 4 GiB of region0 as movable RAM with demotion, promotion of hot pages and 512 huge pages of 2 MiB on it
  pmem.dax.system_ram:
    namespaces:
      - name: tier-1
        region: region0
        size: 4GiB
    demotion: true
    tiering:
      promotion: true
      promote_rate_limit_mbps: 256
      hugepages:
        - {node: 1, size: 2M, count: 512}
'''

RETURN = r'''
changes:
  description: What the run changed (in check mode, would change), one line each.
  returned: always
  type: list
  elements: str
  sample: ['namespace pmem-ram-region0 created in region0', 'pmem-ram-region0 hot-plugged as system RAM (movable)']
commands:
  description: The commands run (in check mode, those planned for the steps that can be planned before the change).
  returned: always
  type: list
  elements: list
targets:
  description:
    - One per namespace acted on - name, movable, exists, mode (of its dax device, or null), region, node
      (string), size (bytes, new namespaces only), delta (bytes of online memory the change adds, negative for a
      removal; an upper bound for a new namespace), problem, namespace_done, memory_done, owned, adopt, force.
  returned: when the plan could be made
  type: list
  elements: dict
cxl_targets:
  description:
    - One per CXL RAM region acted on - name (C(cxl:mem0)), memdevs, region, device, movable, exists, mode, node
      (C(cxl) for a region not created yet), size, delta, problem, region_done, memory_done, owned, adopt.
  returned: when the plan could be made
  type: list
  elements: dict
forecast:
  description: Memory per NUMA node (string keys) the plan leads to, C(kernel) and C(movable) bytes.
  returned: when the plan could be made
  type: dict
nodes_before:
  description: Online memory per NUMA node before the run, C(kernel) and C(movable) bytes.
  returned: always
  type: dict
nodes_after:
  description: Online memory per NUMA node after the run (in check mode, the forecast).
  returned: always
  type: dict
left_alone:
  description: What the run did not touch although it looks like its own, each C(name) and C(why).
  returned: when the plan could be made
  type: list
  elements: dict
problems:
  description: Why the host read after the change does not match the plan (the run fails then).
  returned: when the check after the change failed
  type: list
  elements: str
tiering:
  description:
    - With O(tiering), the knobs after the run (in check mode, as they would be) - C(numa_balancing),
      C(promote_rate_limit_mbps), C(weighted_interleave_auto), per node the huge page pools and weight - as
      M(pmem.dax.memory_tiering) returns them; V(null) without O(tiering).
  returned: when the plan could be made
  type: dict
summary:
  description:
    - The policy, each node before -> after, each change and what was left alone, as lines to print.
    - A node with memory after the run also shows its memory tier, huge page pools, interleave weight and the pages
      demotion moved to it and promotion moved from it (C(pgdemote_*), C(pgpromote_success)), before -> after where they
      differ.
  returned: always
  type: list
  elements: str
config:
  description:
    - The entries of the boot-time config for this run's targets - C(namespaces) (name, movable, uuid; only names
      with O(state=absent)) and C(cxl_regions) (memdevs, size, movable) - as M(pmem.dax.dax_persist) takes them.
  returned: when the plan could be made
  type: dict
reboot_needed:
  description: Namespaces and CXL regions whose memory only a reboot releases (a kernel without memory hot-remove).
  returned: always
  type: list
  elements: str
hotremove:
  description: Whether the kernel can take memory offline again (V(null) when it cannot be told).
  returned: always
  type: bool
missing_tools:
  description: The commands the run needs that are not installed (C(ndctl), C(daxctl), C(cxl)), with O(missing_tools=report).
  returned: when O(missing_tools=report) and a command is missing
  type: list
  elements: str
  sample: [ndctl, daxctl]
check_mode:
  description: Whether the module ran in check mode (also when only a block or task set it, which the play's
    C(ansible_check_mode) does not show).
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._lock import LOCK_TIMEOUT, host_lock
from ansible_collections.pmem.dax.plugins.module_utils._ownership import RecordError
from ansible_collections.pmem.dax.plugins.module_utils._preflight import missing_tools, tool_problems
from ansible_collections.pmem.dax.plugins.module_utils._system_ram import (
    StepError,
    SystemRamRun,
    change_lines,
    config_entries,
    summary_lines,
    verify,
)
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs
from ansible_collections.pmem.dax.plugins.module_utils._tiering import knobs, tiering_argument_spec, tiering_by_node


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            namespaces=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                region=dict(type='str'),
                numa_node=dict(type='int'),
                size=dict(type='raw'),
                movable=dict(type='bool', default=True),
                force=dict(type='bool', default=False),
                adopt=dict(type='bool', default=False),
            )),
            cxl_regions=dict(type='list', elements='dict', default=[], options=dict(
                memdevs=dict(type='list', elements='str'),
                size=dict(type='raw'),
                movable=dict(type='bool', default=True),
                adopt=dict(type='bool', default=False),
            )),
            name_prefix=dict(type='str', default='pmem-ram-'),
            max_movable_ratio=dict(type='float', default=3),
            removal_reserve=dict(type='raw', default='256m'),
            timeout=dict(type='int', default=120),
            retries=dict(type='int', default=3),
            demotion=dict(type='bool', default=False),
            allow_movable_only_node=dict(type='bool', default=False),
            memmap_on_memory=dict(type='bool', default=False),
            tiering=dict(type='dict', options=tiering_argument_spec()),
            udev_override=dict(type='bool', default=True),
            reboot_allowed=dict(type='bool', default=True),
            missing_tools=dict(type='str', default='fail', choices=['fail', 'report']),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['timeout'] < 1 or params['retries'] < 0:
        module.fail_json(msg='timeout must be at least 1 second and retries at least 0 (got timeout=%s, retries=%s)'
                         % (params['timeout'], params['retries']), changed=False, commands=[])
    runner = CliRunner(module)
    sysfs = Sysfs()
    run = SystemRamRun(module, runner, sysfs, params)
    kernel = sysfs.kernel_release()
    result = dict(changed=False, commands=[], reboot_needed=[], hotremove=run.hotremove, check_mode=module.check_mode)
    try:
        # The whole run holds the lock: another run may hold it for its own offline timeout and more.
        with host_lock(module, LOCK_TIMEOUT + params['timeout']):
            facts = run.read_facts()
            wants_cxl = bool(params['cxl_regions'])
            missing = missing_tools(facts['tools'], facts['cxl_path'], wants_cxl)
            if missing and params['missing_tools'] == 'report':
                module.exit_json(missing_tools=missing, changes=[], nodes_before={}, nodes_after={},
                                 summary=['%s not installed' % ', '.join(missing)], **result)
            problems = tool_problems(facts['tools'], facts['cxl_path'], wants_cxl)
            if problems:
                module.fail_json(msg='Nothing was changed: %s' % ' '.join(problems), problems=problems,
                                 nodes_before={}, nodes_after={}, summary=[], **result)
            state, before = run.read()
            tiering_before = run.tiering_now(before)
            result['nodes_before'] = before['nodes']
            try:
                plan, steps = run.plan(state, before, tiering_before)
            except StepError as exc:
                module.fail_json(msg=str(exc), **dict(result, nodes_after=before['nodes'], summary=[]))
            check_mode = module.check_mode
            changes = change_lines(params['state'], plan, run.predicted_done(plan, steps, before), True, run.pending)
            result.update(targets=plan['targets'], cxl_targets=plan['cxl_targets'], forecast=plan['forecast'],
                          left_alone=plan['left_alone'], reboot_needed=list(run.pending))
            namespaces, regions = config_entries(params['state'], plan, before, params['memmap_on_memory'])
            result['config'] = dict(namespaces=namespaces, cxl_regions=regions)
            knobs_after = steps['tiering']['after'] if steps['tiering'] else None
            result['tiering'] = knobs_after
            if module._diff:
                result['diff'] = dict(before=dict(nodes=before['nodes']), after=dict(nodes=plan['forecast']))
                if steps['tiering']:
                    result['diff']['before']['tiering'] = steps['tiering']['before']
                    result['diff']['after']['tiering'] = knobs_after
            if check_mode or not changes:
                nodes_after = plan['forecast'] if check_mode else before['nodes']
                result.update(changed=bool(changes), commands=run.planned_commands(steps), changes=changes,
                              nodes_after=nodes_after,
                              summary=summary_lines(kernel, before, nodes_after, changes, plan['left_alone'], check_mode,
                                                    tiering_by_node(tiering_before),
                                                    tiering_by_node(tiering_before, knobs_after), run.udev['lines']))
                module.exit_json(**result)

            failure = None
            fresh = None
            try:
                fresh = run.apply(state, plan, steps)
            except StepError as exc:
                failure = str(exc)
            state, after = run.read(fresh)
            tiering_after = run.tiering_now(after)
    except (CliError, RecordError) as exc:
        details = exc.to_dict() if isinstance(exc, CliError) else {}
        module.fail_json(msg=str(exc), **dict(result, commands=runner.changes, changed=bool(runner.changes), **details))

    changes = change_lines(params['state'], plan, run.done, False, run.pending)
    namespaces, regions = config_entries(params['state'], plan, after, params['memmap_on_memory'])
    result.update(changed=bool(runner.changes), commands=runner.changes, changes=changes, nodes_after=after['nodes'],
                  config=dict(namespaces=namespaces, cxl_regions=regions),
                  summary=summary_lines(kernel, before, after['nodes'], changes, plan['left_alone'], False,
                                        tiering_by_node(tiering_before), tiering_by_node(tiering_after),
                                        run.udev['lines']))
    if run.tiering:
        result['tiering'] = knobs(tiering_after)
    if module._diff:
        result['diff'] = dict(before=dict(nodes=before['nodes']), after=dict(nodes=after['nodes']))
        if steps['tiering']:
            result['diff']['before']['tiering'] = steps['tiering']['before']
            result['diff']['after']['tiering'] = result['tiering']
    if failure:
        module.fail_json(msg='%s. Done before that: %s' % (failure, '; '.join(changes) or 'nothing'), **result)
    problems = verify(plan, params['state'], before, after, run.pending) + run.tiering_problems(tiering_after)
    if problems:
        result['problems'] = problems
        module.fail_json(msg='Verification failed after the change: %s.' % '; '.join(problems), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
