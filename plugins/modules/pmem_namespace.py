#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: pmem_namespace
short_description: Create and destroy persistent memory namespaces, identified by their name label
version_added: 0.1.0
description:
  - Makes sure a persistent memory (NVDIMM) namespace with a given name label exists with the wanted size
    and mode, or does not exist, using C(ndctl).
  - The name label is the identity of a namespace; device names such as V(namespace0.1) change between
    boots and hosts. C(ndctl create-namespace) is not idempotent by itself; this module is.
  - A namespace that exists with another size, mode or region is left alone and the task fails, unless
    O(force=true), which destroys and re-creates it (its data is lost).
  - Sizes are checked against the free space and alignment of the region before anything changes.
  - Runs hold a host-wide lock (C(/run/lock/pmem-dax.lock)) so that two pmem.dax tasks never interleave.
  - Data safety. A namespace is never destroyed, whatever its name, without O(force=true) (per item with
    O(namespaces)) while it may hold data or is in use - an V(fsdax), V(sector) or V(raw) namespace; a device
    whose first MiB holds a filesystem, partition table, swap, LUKS, LVM or other signature (probed as
    C(blkid)/C(wipefs -n) would); a mounted block device; a device file a process has open. Memory online as
    system RAM is refused even with O(force) (take it offline first).
  - Ownership. With O(ownership=true) the module keeps the collection's ownership record
    (C(/var/lib/pmem-dax/owned.json)) - a namespace it creates is recorded by its uuid, chosen and recorded
    before C(ndctl create-namespace) runs, so nothing is ever created unrecorded; an existing namespace is
    changed or destroyed only when it is recorded with the same uuid, or when adopted (O(adopt=true)). A
    name is not ownership - a namespace someone else created with the same name is refused, and so is a
    recorded name whose uuid changed (re-created by hand).
author:
  - pmem.dax contributors (@pmem-dax)
requirements:
  - ndctl and daxctl on the managed host
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
options:
  name:
    description:
      - The name label of the namespace (at most 63 bytes). It is what identifies the namespace.
      - Exactly one of O(name) and O(namespaces) is required.
    type: str
  namespaces:
    description:
      - Several namespaces in one run, instead of O(name); O(state), O(mode), O(force) and O(init_labels)
        apply to every item, and O(region), O(numa_node), O(size) and O(align) are given per item.
      - All items are planned from one read of the host before anything changes, each as if the items
        before it were done (the space they take from a region is no longer free), and the task fails
        before any change when one of them cannot be done. Space an earlier item frees (O(state=absent),
        or a re-create in another region) is not counted for the later ones.
      - Then they are changed one after the other, in the order given; the host is read once more at the
        end. When a command fails, the items after it are not started.
      - Cheaper than a loop over the module on a slow host (one module start-up, one lock, two state reads).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The name label, as O(name). Each name may be given once.
        type: str
        required: true
      region:
        description:
          - As O(region), for this namespace.
        type: str
      numa_node:
        description:
          - As O(numa_node), for this namespace.
        type: int
      size:
        description:
          - As O(size), for this namespace.
        type: raw
      align:
        description:
          - As O(align), for this namespace.
        type: raw
      force:
        description:
          - As O(force), for this namespace only (default O(force)).
        type: bool
      adopt:
        description:
          - As O(adopt), for this namespace only (default O(adopt)).
        type: bool
  state:
    description:
      - V(present) creates the namespace when no namespace has this name.
      - V(absent) destroys every namespace with this name.
    type: str
    choices: [present, absent]
    default: present
  region:
    description:
      - The region to create the namespace in, as V(region0) or V(0).
      - When omitted, the labelled region with the most free space is used (only regions on O(numa_node)
        when that is set).
    type: str
  numa_node:
    description:
      - Only use a region whose memory is on this NUMA node (the node it becomes as system RAM, ndctl's
        C(target_node); ndctl's C(numa_node) is the nearest node with CPUs, used only when there is no
        target node).
    type: int
  size:
    description:
      - Size of the namespace, in bytes or with a unit (V(12g), V(12G), V(12GiB), V(512m); k, m, g and t are
        powers of 1024).
      - Must be a multiple of the region alignment (16 MiB on most hosts) and fit in its free space; the
        error names the nearest valid sizes and the free space.
      - When omitted, the namespace takes all the free space of the region, and an existing namespace of
        any size matches.
      - A V(devdax) or V(fsdax) namespace keeps its page structures on the media, so its usable size is
        about 1.6% below this.
    type: raw
  mode:
    description:
      - The namespace mode. V(devdax) gives a C(/dev/daxN.M) character device, which the
        M(pmem.dax.dax_mode) module can turn into system RAM.
    type: str
    choices: [devdax, fsdax, sector, raw]
    default: devdax
  align:
    description:
      - Alignment of the namespace (for example V(2m) or V(1g) for devdax), in bytes or with a unit.
        When omitted, ndctl's default for the mode is used and any alignment matches.
    type: raw
  force:
    description:
      - Destroy and re-create a namespace that exists with another size, mode, region or alignment.
      - Destroy a namespace for O(state=absent) even when it is mounted or open.
      - A namespace whose memory is online as system RAM is never destroyed; take the memory offline
        first with M(pmem.dax.dax_memory).
      - Needed as well for O(init_labels=true).
    type: bool
    default: false
  ownership:
    description:
      - Keep and obey the ownership record (see the description). The role P(pmem.dax.pmem_system_ram#role)
        sets it; without it the module acts on the name label (the data-safety rule still applies).
    type: bool
    default: false
  adopt:
    description:
      - With O(ownership=true), take over a namespace that is not recorded (or whose uuid changed) - it is
        recorded as created by pmem.dax, and then may be destroyed or turned into RAM like one. Its data is
        not protected any more.
    type: bool
    default: false
  init_labels:
    description:
      - Write namespace labels on the DIMMs of a label-less region (a region that shows one raw namespace
        spanning all of it and no free space) so that it can hold named namespaces.
      - This destroys all data in the region and needs O(force=true).
    type: bool
    default: false
notes:
  - Check mode reads the host and reports the commands (RV(commands)) and diff that a real run performs.
  - After the change the module reads the host again and reports what is there, not what ndctl printed.
seealso:
  - module: pmem.dax.pmem_info
  - module: pmem.dax.dax_mode
  - module: pmem.dax.dax_memory
'''

EXAMPLES = r'''
- name: A 12 GiB devdax namespace called "db" in the region with most free space
  pmem.dax.pmem_namespace:
    name: db
    size: 12g

- name: All free space of the region on NUMA node 1, as one fsdax namespace
  pmem.dax.pmem_namespace:
    name: logs
    mode: fsdax
    numa_node: 1

- name: Resize "db" to 16 GiB (destroys its data)
  pmem.dax.pmem_namespace:
    name: db
    size: 16g
    force: true

- name: Give a label-less region labels, then create a namespace in it (destroys all data in region0)
  pmem.dax.pmem_namespace:
    name: db
    region: region0
    size: 2g
    init_labels: true
    force: true

- name: One devdax namespace over all free space of each region, in one run
  pmem.dax.pmem_namespace:
    namespaces:
      - name: ram0
        region: region0
      - name: ram1
        region: region1

- name: Remove the namespace "db" (refused while it may hold data - fsdax, a filesystem signature, mounted, open)
  pmem.dax.pmem_namespace:
    name: db
    state: absent

- name: Remove the fsdax namespace "logs" and the filesystem on it
  pmem.dax.pmem_namespace:
    name: logs
    state: absent
    force: true

- name: Create "ram0", recorded in the ownership record as made by pmem.dax (its uuid, before ndctl runs)
  pmem.dax.pmem_namespace:
    name: ram0
    region: region0
    ownership: true

- name: Remove namespaces, but only those pmem.dax created; "legacy" (made by an older version) is adopted first
  pmem.dax.pmem_namespace:
    namespaces:
      - name: ram0
      - name: legacy
        adopt: true
    state: absent
    ownership: true
'''

RETURN = r'''
namespaces:
  description:
    - With O(namespaces), one entry per item, in the order given.
  returned: with O(namespaces), on success and after a failure while changing
  type: list
  elements: dict
  sample:
    - name: ram0
      state: present
      changed: true
      commands: [[ndctl, create-namespace, --region=region0, --mode=devdax, --name=ram0]]
      namespace: {dev: namespace0.0, name: ram0, region: region0, mode: devdax}
  contains:
    name:
      description: The name label of the item.
      type: str
    state:
      description: V(present) or V(absent), as asked.
      type: str
    changed:
      description: Whether this namespace was (or in check mode would be) changed.
      type: bool
    commands:
      description: The ndctl commands run (or that would run in check mode) for this item.
      type: list
      elements: list
    namespace:
      description: The namespace after the run, as RV(namespace).
      type: dict
namespace:
  description:
    - The namespace as the host shows it after the run (in check mode, what the run would create; V(dev),
      V(uuid), V(chardev) and V(blockdev) are then null for a namespace that does not exist yet).
    - Empty for O(state=absent).
  returned: with O(name)
  type: dict
  sample:
    dev: namespace0.0
    name: db
    uuid: 9d6b9d3c-0a55-4a4e-9c7c-1c0f4b1e5f6a
    mode: devdax
    size: 12683575296
    raw_size: 12884901888
    region: region0
    chardev: dax0.0
    blockdev: null
    dax_mode: devdax
  contains:
    dev:
      description: The namespace device name.
      type: str
    name:
      description: The name label.
      type: str
    uuid:
      description: The namespace UUID.
      type: str
    mode:
      description: The namespace mode as ndctl reports it (a device in system-ram mode shows V(devdax) here).
      type: str
    size:
      description: The usable size in bytes as ndctl reports it.
      type: int
    raw_size:
      description: The size given at creation, in bytes.
      type: int
    region:
      description: The region that holds the namespace.
      type: str
    chardev:
      description: The dax character device (V(devdax) mode).
      type: str
    blockdev:
      description: The block device (V(fsdax), V(sector) and V(raw) modes).
      type: str
    dax_mode:
      description: V(devdax) or V(system-ram) for the dax device of a devdax namespace.
      type: str
commands:
  description: The ndctl commands run (or, in check mode, that would run), as argument lists (with O(namespaces), for all items).
  returned: always
  type: list
  elements: list
  sample:
    - [ndctl, create-namespace, --region=region0, --mode=devdax, --name=db, --size=12884901888]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._apply import (
    apply_namespace_plans,
    failure_detail,
    namespace_goal_reached,
    predicted_namespace_outcomes,
)
from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._lock import LOCK_TIMEOUT, host_lock
from ansible_collections.pmem.dax.plugins.module_utils._namespace import MODES, namespace_users, plan_namespaces
from ansible_collections.pmem.dax.plugins.module_utils import _ownership
from ansible_collections.pmem.dax.plugins.module_utils._sizes import SizeError, parse_size
from ansible_collections.pmem.dax.plugins.module_utils._state import HostState
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs

# Options of one namespace; with namespaces= each item has its own, the others apply to every item.
ITEM_OPTIONS = ('region', 'numa_node', 'size', 'align')


def returned_items(outcomes, several):
    """namespaces (every item's result) for namespaces=; namespace for name=."""
    if several:
        return dict(namespaces=outcomes)
    return dict(namespace=outcomes[0]['namespace'])


def diff_of(planned, several):
    if not several:
        return dict(before=planned[0][1].before, after=planned[0][1].after)
    return dict(before=dict((desired['name'], plan.before) for desired, plan in planned),
                after=dict((desired['name'], plan.after) for desired, plan in planned))


def desired_from(params):
    desired = dict(params)
    for option in ('size', 'align'):
        if params[option] is not None:
            desired[option] = parse_size(params[option], option)
    return desired


def desired_items(params):
    """[desired] for every namespace asked for: the one of name=, or each item of namespaces=."""
    shared = dict((key, params[key]) for key in ('state', 'mode', 'force', 'init_labels', 'adopt'))
    if params['namespaces'] is None:
        items = [desired_from(dict(params, namespaces=None))]
    else:
        # An item's force/adopt left unset takes the module's; its other options stay its own.
        items = [desired_from(dict(shared, several=True, **dict(
            (key, value) for key, value in item.items() if value is not None or key not in shared)))
            for item in params['namespaces']]
    if params['ownership']:
        for desired in items:
            desired['uuid'] = _ownership.new_uuid() if desired['state'] == 'present' else None
    return items


def not_reached_message(missed, failure):
    if len(missed) == 1:
        subject = 'namespace %r is' % missed[0]['name']
    else:
        subject = 'namespaces %s are' % ', '.join(repr(desired['name']) for desired in missed)
    return '%s not %s after the run%s' % (subject, missed[0]['state'], failure_detail(failure))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str'),
            namespaces=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                region=dict(type='str'),
                numa_node=dict(type='int'),
                size=dict(type='raw'),
                align=dict(type='raw'),
                force=dict(type='bool'),
                adopt=dict(type='bool'),
            )),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            region=dict(type='str'),
            numa_node=dict(type='int'),
            size=dict(type='raw'),
            mode=dict(type='str', default='devdax', choices=list(MODES)),
            align=dict(type='raw'),
            force=dict(type='bool', default=False),
            init_labels=dict(type='bool', default=False),
            ownership=dict(type='bool', default=False),
            adopt=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('name', 'namespaces')] + [('namespaces', option) for option in ITEM_OPTIONS],
        required_one_of=[('name', 'namespaces')],
        supports_check_mode=True,
    )
    several = module.params['namespaces'] is not None
    try:
        items = desired_items(module.params)
    except SizeError as exc:
        module.fail_json(msg=str(exc), commands=[])

    runner = CliRunner(module)
    sysfs = Sysfs()
    try:
        with host_lock(module, LOCK_TIMEOUT):
            state = HostState.read(runner, sysfs)
            record_path = _ownership.record_path(sysfs)
            try:
                record = _ownership.read_record(record_path) if module.params['ownership'] else None
            except _ownership.RecordError as exc:
                module.fail_json(msg=str(exc), commands=[])
            planned, error = plan_namespaces(state, items, lambda namespace: namespace_users(state, namespace), record)
            if error:
                module.fail_json(msg=error, commands=[])
            result = dict(changed=any(plan.changed for desired, plan in planned),
                          commands=[argv for desired, plan in planned for argv in plan.commands])
            if module._diff:
                result['diff'] = diff_of(planned, several)
            if not result['changed'] or module.check_mode:
                outcomes = predicted_namespace_outcomes(state, planned)
                module.exit_json(**dict(result, **returned_items(outcomes, several)))
            state, outcomes, failure = apply_namespace_plans(module, runner, sysfs, planned, record_path, record)
    except CliError as exc:
        module.fail_json(msg=str(exc), commands=runner.changes, **exc.to_dict())

    adopted = any(action.kind == 'record' for desired, plan in planned for action in plan.actions)
    result.update(commands=runner.changes, changed=bool(runner.changes) or adopted)
    result.update(returned_items(outcomes, several))
    missed = [desired for desired, plan in planned if not namespace_goal_reached(state, desired)]
    if missed:
        module.fail_json(msg=not_reached_message(missed, failure), **result)
    if failure is not None:
        module.warn('%s returned rc %s (%s), but %s as asked'
                    % (' '.join(failure.argv), failure.rc, (failure.stderr or '').strip(),
                       'the namespaces are' if several else 'the namespace is'))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
