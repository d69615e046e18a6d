#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: dax_persist
short_description: Keep the boot-time config of namespaces and CXL RAM regions to bring back as system RAM
version_added: 0.1.0
description:
  - System-ram mode does not survive a reboot, and the distributions' own C(daxctl.conf.d)/udev path is broken
    on Debian 12 and 13. The P(pmem.dax.pmem_system_ram#role) role installs a boot script and a systemd
    oneshot unit of its own instead; this module keeps what they read, a JSON config listing the namespaces
    to bring back (by name label, uuid as a fallback, with their zone) and the CXL RAM regions to create
    again (by their memdevs, with size and zone).
  - O(state=present) adds the listed namespaces and CXL regions to the config or replaces the entries with
    the same name or memdevs, keeping every other entry, so runs with different lists add up.
    O(state=absent) drops the listed names and memdev sets. When no entry is left the config file is removed,
    and its directory once empty; RV(empty) tells the caller to remove the unit and the script then.
  - The config is root's, mode V(0600) (its directory V(0700) when the module creates it), because a script
    run as root at boot acts on it. A config whose content, owner or mode differs is written again
    atomically (a temporary file beside it, then renamed over it).
  - Holds the host-wide lock (C(/run/lock/pmem-dax.lock)) from reading the config to writing it, so that two
    runs at once cannot write over each other's entries.
author:
  - pmem.dax contributors (@pmem-dax)
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
options:
  state:
    description:
      - V(present) puts the namespaces in O(namespaces) and the regions in O(cxl_regions) into the config (an
        entry of the same name, or of the same memdevs, is replaced).
      - V(absent) takes them out (only O(namespaces[].name) and O(cxl_regions[].memdevs) matter).
    type: str
    choices: [present, absent]
    default: present
  namespaces:
    description: The namespaces to add, update or drop.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name label of the namespace; the boot script finds the namespace by it.
        type: str
        required: true
      uuid:
        description: Namespace uuid, used at boot when no namespace carries the name.
        type: str
      movable:
        description: V(true) onlines the memory in ZONE_MOVABLE at boot, V(false) in ZONE_NORMAL.
        type: bool
        default: true
      memmap_on_memory:
        description: V(true) sets the device's C(memmap_on_memory) switch at boot before the hot-plug (see M(pmem.dax.system_ram)).
        type: bool
        default: false
  cxl_regions:
    description:
      - The CXL RAM regions to add, update or drop. A CXL RAM region does not survive a reboot (its decoders
        are programmed by the kernel at run time), so the boot script creates each one again over its memdevs
        (C(cxl create-region)), with the auto-online policy set to the zone asked for, and brings its memory
        online. An entry is identified by its set of memdevs.
    type: list
    elements: dict
    default: []
    suboptions:
      memdevs:
        description: The CXL memdevs of the region (C(mem0), ...), interleaved in this order.
        type: list
        elements: str
        required: true
      size:
        description: Size of the region in bytes; omitted (or V(0)) means all RAM capacity of the memdevs.
        type: int
      movable:
        description: V(true) onlines the memory in ZONE_MOVABLE at boot, V(false) in ZONE_NORMAL.
        type: bool
        default: true
  demotion:
    description:
      - Page demotion setting the boot script applies at every boot while the config lists an entry (see
        M(pmem.dax.memory_demotion) for now). Omitted, the config keeps what it has.
    type: bool
  tiering:
    description:
      - Tiering settings the boot script writes at every boot once the memory is online, as M(pmem.dax.memory_tiering)
        takes them. The keys kept are C(promotion), C(promote_rate_limit_mbps), C(hugepages) (a list of C(node), C(size), C(count)),
        C(weighted_interleave) (node number to weight) and C(weighted_interleave_auto). None of them survives a reboot by itself.
      - Omitted, the config keeps what it has; V({}) drops them from the config.
    type: dict
  wait_seconds:
    description: Seconds the boot script waits for the namespaces and memdevs to appear.
    type: int
    default: 300
  config_path:
    description: Where the config is; the boot script gets this path as its argument.
    type: path
    default: /etc/pmem-dax/system-ram.json
  expect_files:
    description:
      - Files the caller installs beside the config (the boot script and unit), with the SHA-1 of the content and
        the mode they must have (owner root); RV(files_current) says whether all of them are there as expected.
      - This lets a caller skip its own copy tasks when nothing drifted, without a module run per file (each
        costs seconds on a slow host). Read only, also in check mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      checksum:
        description: SHA-1 (hex) of its expected content.
        type: str
        required: true
      mode:
        description: Its expected mode, octal, such as V('0600').
        type: str
        required: true
seealso:
  - module: pmem.dax.dax_mode
  - module: pmem.dax.memory_demotion
'''

EXAMPLES = r'''
- name: Bring the namespace "db-ram" back as movable system RAM at every boot
  pmem.dax.dax_persist:
    namespaces:
      - {name: db-ram, uuid: 9d6b9d3c-0a55-4a4e-9c7c-1c0f4b1e5f6a, movable: true}
  register: boot_config

- name: Create the CXL RAM region over mem0 again at every boot, its memory movable
  pmem.dax.dax_persist:
    cxl_regions:
      - {memdevs: [mem0], movable: true}

- name: Stop bringing it back (the config goes with its last entry)
  pmem.dax.dax_persist:
    state: absent
    namespaces:
      - name: db-ram
  register: boot_config

- name: Remove the boot-time unit once the config lists nothing
  ansible.builtin.file:
    path: /etc/systemd/system/pmem-dax-system-ram.service
    state: absent
  when: boot_config.empty
'''

RETURN = r'''
config:
  description:
    - The config after the task (in check mode, the one it would write).
    - C(cxl_regions) appears only while the config lists one.
  returned: success
  type: dict
  sample:
    namespaces: [{name: db-ram, uuid: 9d6b9d3c-0a55-4a4e-9c7c-1c0f4b1e5f6a, movable: true}]
    cxl_regions: [{memdevs: [mem0], size: null, movable: true}]
    demotion: null
    wait_seconds: 300
empty:
  description:
    - Whether the config lists no namespace and no CXL region; the config file is gone then (in check mode,
      would be), and nothing is left for a boot-time unit to do.
  returned: success
  type: bool
  sample: false
path:
  description: The config file.
  returned: success
  type: str
  sample: /etc/pmem-dax/system-ram.json
files_current:
  description:
    - Whether every file of O(expect_files) exists with that content and mode, owned by root (true when none is
      given).
  returned: success
  type: bool
  sample: true
'''

import json
import os
import re
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._jsonfile import render_json, write_json
from ansible_collections.pmem.dax.plugins.module_utils._lock import LOCK_TIMEOUT, host_lock
from ansible_collections.pmem.dax.plugins.module_utils._sizes import SizeError
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs
from ansible_collections.pmem.dax.plugins.module_utils._tiering import boot_settings

# Owner of the config: root. A module attribute so that unit tests, not run as root, can say who.
OWNER = (0, 0)
CONFIG_MODE = 0o600
UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z')
MEMDEV_RE = re.compile(r'^mem[0-9]+\Z')


def validate(module):
    params = module.params
    for item in params['namespaces']:
        name = item['name']
        if not name or len(name) > 63 or any(ord(char) < 32 for char in name):
            module.fail_json(msg='namespace name %r: a name label has 1 to 63 printable characters' % (name,))
        if item.get('uuid') and not UUID_RE.match(item['uuid']):
            module.fail_json(msg='namespace %s: uuid %r does not look like a uuid' % (name, item['uuid']))
    for item in params['cxl_regions']:
        bad = [name for name in item['memdevs'] if not MEMDEV_RE.match(name or '')]
        if not item['memdevs'] or bad or len(set(item['memdevs'])) != len(item['memdevs']):
            module.fail_json(msg='cxl_regions: memdevs %r: give each CXL memdev (mem0, mem1, ...) once'
                                 % (item['memdevs'],))
        if item.get('size') is not None and item['size'] < 0:
            module.fail_json(msg='cxl_regions %s: size must be 0 or more, got %d'
                                 % (','.join(item['memdevs']), item['size']))
    path = params['config_path']
    if not os.path.isabs(path) or '..' in path.split('/'):
        module.fail_json(msg='config_path must be an absolute path without "..", got %r' % (path,))
    if params['wait_seconds'] < 0:
        module.fail_json(msg='wait_seconds must be 0 or more, got %d' % params['wait_seconds'])


def read_config(module, path, shown_path):
    """The config at path as a dict, None when there is no file; a file that is not a JSON object counts as {}."""
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None
    try:
        config = json.loads(text)
    except ValueError:
        module.warn('%s is not valid JSON; it is written again' % shown_path)
        return {}
    return config if isinstance(config, dict) else {}


def merge_entries(existing, wanted, key, state):
    """existing with the wanted entries replaced in place or appended (present), or dropped (absent)."""
    entries = [dict(entry) for entry in existing]
    keys = set(key(item) for item in wanted)
    if state == 'absent':
        return [entry for entry in entries if key(entry) not in keys]
    by_key = dict((key(item), item) for item in wanted)
    entries = [by_key.pop(key(entry), entry) for entry in entries]
    return entries + [item for item in wanted if key(item) in by_key]


def desired_config(existing, params):
    """The existing config with the listed namespaces added/updated (present) or dropped (absent), in place."""
    entries = merge_entries(
        [entry for entry in existing.get('namespaces') or [] if isinstance(entry, dict) and entry.get('name')],
        [dict({'name': item['name'], 'uuid': item.get('uuid'), 'movable': item['movable']},
              **({'memmap_on_memory': True} if item.get('memmap_on_memory') else {}))
         for item in params['namespaces']],
        lambda entry: entry['name'], params['state'])
    demotion = params['demotion'] if params['demotion'] is not None else existing.get('demotion')
    config = {'namespaces': entries, 'demotion': demotion, 'wait_seconds': params['wait_seconds']}
    # Like cxl_regions, the key appears only while there are settings to keep.
    tiering = boot_settings(params['tiering']) if params.get('tiering') is not None else existing.get('tiering')
    if tiering:
        config['tiering'] = tiering
    regions = merge_entries(
        [entry for entry in existing.get('cxl_regions') or [] if isinstance(entry, dict) and entry.get('memdevs')],
        [{'memdevs': list(item['memdevs']), 'size': item.get('size') or None, 'movable': item['movable']}
         for item in params['cxl_regions']],
        lambda entry: tuple(sorted(entry['memdevs'])), params['state'])
    # Only a config that lists CXL regions has the key: the config of a host without them stays as it was.
    if regions:
        config['cxl_regions'] = regions
    return config


def config_differs(path, existing, config):
    """Whether the file must be written: other content, or not root's 0600 regular file."""
    if existing != config:
        return True
    info = os.lstat(path)
    return not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != CONFIG_MODE or \
        (info.st_uid, info.st_gid) != OWNER


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            namespaces=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                uuid=dict(type='str'),
                movable=dict(type='bool', default=True),
                memmap_on_memory=dict(type='bool', default=False),
            )),
            cxl_regions=dict(type='list', elements='dict', default=[], options=dict(
                memdevs=dict(type='list', elements='str', required=True),
                size=dict(type='int'),
                movable=dict(type='bool', default=True),
            )),
            demotion=dict(type='bool'),
            tiering=dict(type='dict'),
            wait_seconds=dict(type='int', default=300),
            config_path=dict(type='path', default='/etc/pmem-dax/system-ram.json'),
            expect_files=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                checksum=dict(type='str', required=True),
                mode=dict(type='str', required=True),
            )),
        ),
        supports_check_mode=True,
    )
    validate(module)
    # The config is read, changed and written back: two runs at once (two plays adding different namespaces)
    # would each write their own entries over the other's without the lock.
    with host_lock(module, LOCK_TIMEOUT):
        persist(module)


def files_current(module, expected):
    """Whether each expected file is there with its content and mode, owned by root."""
    for item in expected:
        path = Sysfs().path(item['path'])
        try:
            status = os.stat(path)
        except OSError:
            return False
        if (status.st_uid, status.st_gid) != OWNER or stat.S_IMODE(status.st_mode) != int(item['mode'], 8) \
                or module.sha1(path) != item['checksum'].lower():
            return False
    return True


def persist(module):
    shown_path = module.params['config_path']
    path = Sysfs().path(shown_path)
    directory = os.path.dirname(path)
    existing = read_config(module, path, shown_path)
    try:
        config = desired_config(existing or {}, module.params)
    except (SizeError, TypeError, ValueError, KeyError) as exc:
        module.fail_json(msg='tiering: %s' % exc, changed=False)
    empty = not (config['namespaces'] or config.get('cxl_regions'))

    write = not empty and (existing is None or config_differs(path, existing, config))
    remove = empty and os.path.lexists(path)
    # The directory is removed once nothing else is in it; one that was there before with other files in it
    # (config_path need not point into the collection's own directory) stays.
    remove_directory = empty and os.path.isdir(directory) and \
        not set(os.listdir(directory)) - set([os.path.basename(path)])
    changed = write or remove or remove_directory

    result = dict(changed=changed, config=config, empty=empty, path=shown_path,
                  files_current=files_current(module, module.params['expect_files']))
    if module._diff:
        result['diff'] = {'before_header': shown_path, 'after_header': shown_path,
                          'before': render_json(existing) if existing is not None else '',
                          'after': '' if empty else render_json(config)}
    if module.check_mode or not changed:
        module.exit_json(**result)

    if write:
        write_json(module, path, config, mode=CONFIG_MODE, owner=OWNER)
    if remove:
        os.remove(path)
    if remove_directory:
        os.rmdir(directory)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
