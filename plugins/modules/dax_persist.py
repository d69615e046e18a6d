#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: dax_persist
short_description: Keep persistent memory namespaces and CXL RAM regions as system RAM across reboots
version_added: 0.1.0
description:
  - System-ram mode does not survive a reboot, and the distributions' own C(daxctl.conf.d)/udev path is broken
    on Debian 12 and 13. This module manages the collection's own boot-time mechanism instead, used by the
    P(pmem.dax.pmem_system_ram#role) role. It is a JSON config listing the namespaces to bring back (by name
    label, uuid as a fallback, with their zone) and the CXL RAM regions to create again (by their memdevs,
    with size and zone), the script that applies it, and a systemd oneshot unit that runs the script early at
    boot.
  - O(state=present) adds the listed namespaces and CXL regions to the config or updates them, keeping every
    other entry, so runs with different lists add up. O(state=absent) drops the listed names and memdev sets.
    When no entry is left, the unit is disabled and the unit, the script, the config and its directory are
    removed.
  - The files are owned by root with modes that only let root change them, because the script runs as root at
    boot. Config directory V(0700) (when the module creates it), config V(0600), script V(0600) (run as
    C(python3 <script>), so it needs no execute bit), unit V(0644) (systemd's convention, it holds no secret).
    A file whose content, owner or mode differs is rewritten atomically.
  - Runs only the C(systemctl) commands needed (C(daemon-reload) after a unit change, C(enable), C(disable)),
    as argument lists.
  - Holds the host-wide lock (C(/run/lock/pmem-dax.lock)) from reading the config to its last write, so that
    two runs at once cannot write over each other's entries.
author:
  - pmem.dax contributors (@pmem-dax)
requirements:
  - systemd on the managed host
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
options:
  state:
    description:
      - V(present) puts the namespaces in O(namespaces) into the config (an entry of the same name is replaced).
      - V(absent) takes them out (only their O(namespaces[].name) matters).
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
      - Page demotion setting the unit applies at every boot while the config lists a namespace (see
        M(pmem.dax.memory_demotion) for now). Omitted, the config keeps what it has.
    type: bool
  wait_seconds:
    description: Seconds the boot script waits for the namespaces to appear.
    type: int
    default: 300
  script:
    description:
      - Text of the boot script (the role passes its C(files/pmem-dax-system-ram.py)).
      - Needed to install it; omitted, an installed script is left as it is.
    type: str
  unit:
    description:
      - Text of the systemd unit that runs the script.
      - Needed to install it; omitted, an installed unit is left as it is.
    type: str
  config_path:
    description: Where the config goes; the script reads this path.
    type: path
    default: /etc/pmem-dax/system-ram.json
  script_path:
    description: Where the script goes; the unit runs this path.
    type: path
    default: /usr/local/lib/pmem-dax-system-ram.py
  unit_path:
    description: Where the unit goes; its file name is the unit's name.
    type: path
    default: /etc/systemd/system/pmem-dax-system-ram.service
seealso:
  - module: pmem.dax.dax_mode
  - module: pmem.dax.memory_demotion
'''

EXAMPLES = r'''
- name: Bring the namespace "db-ram" back as movable system RAM at every boot
  pmem.dax.dax_persist:
    namespaces:
      - {name: db-ram, uuid: 9d6b9d3c-0a55-4a4e-9c7c-1c0f4b1e5f6a, movable: true}
    script: "{{ lookup('ansible.builtin.file', 'pmem-dax-system-ram.py', rstrip=false) }}"
    unit: "{{ lookup('ansible.builtin.template', 'pmem-dax-system-ram.service.j2') }}"

- name: Create the CXL RAM region over mem0 again at every boot, its memory movable
  pmem.dax.dax_persist:
    cxl_regions:
      - {memdevs: [mem0], movable: true}
    script: "{{ lookup('ansible.builtin.file', 'pmem-dax-system-ram.py', rstrip=false) }}"
    unit: "{{ lookup('ansible.builtin.template', 'pmem-dax-system-ram.service.j2') }}"

- name: Stop bringing it back (removes the unit with the last namespace)
  pmem.dax.dax_persist:
    state: absent
    namespaces:
      - name: db-ram
'''

RETURN = r'''
config:
  description:
    - The config after the task (in check mode, the one it would write); no namespace means none is kept.
    - C(cxl_regions) appears only while the config lists one.
  returned: success
  type: dict
  sample:
    namespaces: [{name: db-ram, uuid: 9d6b9d3c-0a55-4a4e-9c7c-1c0f4b1e5f6a, movable: true}]
    cxl_regions: [{memdevs: [mem0], size: null, movable: true}]
    demotion: null
    wait_seconds: 300
files:
  description: The files written or removed (in check mode, that would be).
  returned: success
  type: list
  elements: path
  sample: [/etc/pmem-dax/system-ram.json]
commands:
  description: The systemctl commands run (or, in check mode, that would run), as argument lists.
  returned: success
  type: list
  elements: list
  sample: [[systemctl, daemon-reload], [systemctl, enable, pmem-dax-system-ram.service]]
'''

import json
import os
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._lock import host_lock
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import Sysfs

# Owner of every file written: root. A module attribute so that unit tests, not run as root, can say who.
OWNER = (0, 0)
CONFIG_DIR_MODE = 0o700
MODES = {'config': 0o600, 'script': 0o600, 'unit': 0o644}
# Seconds to wait for the host lock: another run may be offlining memory under it (dax_memory's timeout).
LOCK_TIMEOUT = 300
UUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z')
UNIT_RE = re.compile(r'^[A-Za-z0-9:_.@-]+\.service\Z')
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
    for key in ('config_path', 'script_path', 'unit_path'):
        path = params[key]
        if not os.path.isabs(path) or '..' in path.split('/'):
            module.fail_json(msg='%s must be an absolute path without "..", got %r' % (key, path))
    if not UNIT_RE.match(os.path.basename(params['unit_path'])):
        module.fail_json(msg='unit_path must end in a unit name like pmem-dax-system-ram.service, got %r'
                             % params['unit_path'])
    if params['wait_seconds'] < 0:
        module.fail_json(msg='wait_seconds must be 0 or more, got %d' % params['wait_seconds'])


def read_text(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


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
        [{'name': item['name'], 'uuid': item.get('uuid'), 'movable': item['movable']} for item in params['namespaces']],
        lambda entry: entry['name'], params['state'])
    demotion = params['demotion'] if params['demotion'] is not None else existing.get('demotion')
    config = {'namespaces': entries, 'demotion': demotion, 'wait_seconds': params['wait_seconds']}
    regions = merge_entries(
        [entry for entry in existing.get('cxl_regions') or [] if isinstance(entry, dict) and entry.get('memdevs')],
        [{'memdevs': list(item['memdevs']), 'size': item.get('size') or None, 'movable': item['movable']}
         for item in params['cxl_regions']],
        lambda entry: tuple(sorted(entry['memdevs'])), params['state'])
    # Only a config that lists CXL regions has the key: the config of a host without them stays as it was.
    if regions:
        config['cxl_regions'] = regions
    return config


def render(config):
    return json.dumps(config, indent=4, sort_keys=True) + '\n'


def file_differs(path, text, mode):
    try:
        info = os.lstat(path)
    except OSError:
        return True
    if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != mode or (info.st_uid, info.st_gid) != OWNER:
        return True
    return read_text(path) != text


def write_file(module, path, text, mode):
    """Write atomically: a temporary file in the same directory, owner and mode set, then renamed over."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.pmem-dax-')
    try:
        os.write(handle, to_bytes(text))
        os.fchmod(handle, mode)
        os.fchown(handle, OWNER[0], OWNER[1])
        os.close(handle)
        handle = None
        os.rename(temporary, path)
    except OSError as exc:
        if handle is not None:
            os.close(handle)
        if os.path.exists(temporary):
            os.remove(temporary)
        module.fail_json(msg='could not write %s: %s' % (path, exc))
    module.set_default_selinux_context(path, False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            namespaces=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                uuid=dict(type='str'),
                movable=dict(type='bool', default=True),
            )),
            cxl_regions=dict(type='list', elements='dict', default=[], options=dict(
                memdevs=dict(type='list', elements='str', required=True),
                size=dict(type='int'),
                movable=dict(type='bool', default=True),
            )),
            demotion=dict(type='bool'),
            wait_seconds=dict(type='int', default=300),
            script=dict(type='str'),
            unit=dict(type='str'),
            config_path=dict(type='path', default='/etc/pmem-dax/system-ram.json'),
            script_path=dict(type='path', default='/usr/local/lib/pmem-dax-system-ram.py'),
            unit_path=dict(type='path', default='/etc/systemd/system/pmem-dax-system-ram.service'),
        ),
        supports_check_mode=True,
    )
    validate(module)
    # The config is read, changed and written back: two runs at once (two plays adding different namespaces)
    # would each write their own entries over the other's without the lock.
    with host_lock(module, LOCK_TIMEOUT):
        persist(module)


def persist(module):
    params = module.params
    root = Sysfs()
    paths = {
        'config': root.path(params['config_path']),
        'script': root.path(params['script_path']),
        'unit': root.path(params['unit_path']),
    }
    host_paths = {'config': params['config_path'], 'script': params['script_path'], 'unit': params['unit_path']}
    unit_name = os.path.basename(params['unit_path'])
    config_dir = os.path.dirname(paths['config'])

    existing_text = read_text(paths['config'])
    try:
        existing = json.loads(existing_text) if existing_text else {}
    except ValueError:
        module.warn('%s is not valid JSON; it is rewritten' % params['config_path'])
        existing = {}
    if not isinstance(existing, dict):
        existing = {}
    config = desired_config(existing, params)
    needed = bool(config['namespaces'] or config.get('cxl_regions'))
    for key in ('script', 'unit'):
        if needed and params[key] is None and not os.path.isfile(paths[key]):
            module.fail_json(msg='%s is not installed yet (%s): give its text in %s' % (key, host_paths[key], key))

    runner = CliRunner(module)
    try:
        enabled = runner.run('systemctl', ['is-enabled', unit_name], check=False).stdout.strip() == 'enabled'
    except CliError as exc:
        module.fail_json(msg='%s (the boot-time mechanism is a systemd unit)' % exc, **exc.to_dict())

    texts = {'config': render(config), 'script': params['script'], 'unit': params['unit']}
    # A script or unit given as None is left as installed (a run that only takes names out needs neither).
    writes = [key for key in ('config', 'script', 'unit')
              if needed and texts[key] is not None and file_differs(paths[key], texts[key], MODES[key])]
    removals = [key for key in ('unit', 'script', 'config') if not needed and os.path.lexists(paths[key])]
    # The config directory is created 0700 when missing and removed once empty; an existing one is left as
    # it is (config_path could point into a directory that is not the collection's own).
    make_dir = needed and not os.path.isdir(config_dir)
    remove_dir = not needed and os.path.isdir(config_dir) and \
        not set(os.listdir(config_dir)) - set([os.path.basename(paths['config'])])
    before_commands = [['systemctl', 'disable', unit_name]] if not needed and enabled else []
    after_commands = [['systemctl', 'daemon-reload']] if 'unit' in writes or 'unit' in removals else []
    if needed and not enabled:
        after_commands.append(['systemctl', 'enable', unit_name])
    commands = before_commands + after_commands

    changed = bool(writes or removals or make_dir or remove_dir or commands)
    diff = [{'before_header': host_paths[key], 'after_header': host_paths[key],
             'before': read_text(paths[key]) or '', 'after': texts[key] if needed else ''}
            for key in ('config', 'script', 'unit') if key in writes or key in removals]
    diff.append({'before': {'unit_enabled': enabled}, 'after': {'unit_enabled': needed}})
    result = dict(changed=changed, config=config, commands=commands,
                  files=[host_paths[key] for key in writes + removals])
    if module._diff:
        result['diff'] = diff

    if module.check_mode or not changed:
        module.exit_json(**result)

    for argv in before_commands:
        run_systemctl(module, runner, argv[1:])
    if make_dir:
        os.makedirs(config_dir, CONFIG_DIR_MODE)
        os.chown(config_dir, OWNER[0], OWNER[1])
        os.chmod(config_dir, CONFIG_DIR_MODE)
    for key in writes:
        if not os.path.isdir(os.path.dirname(paths[key])):
            os.makedirs(os.path.dirname(paths[key]), 0o755)
        write_file(module, paths[key], texts[key], MODES[key])
    for key in removals:
        os.remove(paths[key])
    if remove_dir:
        os.rmdir(config_dir)
    for argv in after_commands:
        run_systemctl(module, runner, argv[1:])
    module.exit_json(**result)


def run_systemctl(module, runner, args):
    result = runner.run_change('systemctl', args)
    if result.rc != 0:
        module.fail_json(msg='systemctl %s failed (rc %s): %s' % (' '.join(args), result.rc, result.stderr.strip()),
                         cmd=result.argv, rc=result.rc, stdout=result.stdout, stderr=result.stderr)


if __name__ == '__main__':
    main()
