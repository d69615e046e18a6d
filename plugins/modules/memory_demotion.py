#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: memory_demotion
short_description: Switch page demotion to slower memory tiers on or off
version_added: 0.1.0
description:
  - Sets C(/sys/kernel/mm/numa/demotion_enabled). With it on, the kernel moves cold pages from DRAM to a slower
    memory tier (persistent memory hot-plugged as system RAM lands in one) instead of swapping or dropping them.
  - The setting lasts until the next reboot; M(pmem.dax.dax_persist) keeps it across reboots.
  - Fails, changing nothing, on a kernel without the switch (memory tiering came with Linux 5.15 and 6.1).
author:
  - pmem.dax contributors (@pmem-dax)
extends_documentation_fragment:
  - pmem.dax.attributes
  - pmem.dax.attributes.changes
options:
  enabled:
    description: V(true) turns page demotion on, V(false) off.
    type: bool
    required: true
seealso:
  - module: pmem.dax.dax_persist
  - module: pmem.dax.pmem_info
'''

EXAMPLES = r'''
- name: Let the kernel demote cold pages to the persistent memory tier
  pmem.dax.memory_demotion:
    enabled: true
'''

RETURN = r'''
demotion_enabled:
  description: The setting after the task (in check mode, the one it would have).
  returned: success
  type: bool
  sample: true
commands:
  description: The commands run (or, in check mode, that would run), as argument lists.
  returned: always
  type: list
  elements: list
  sample: [[tee, /sys/kernel/mm/numa/demotion_enabled]]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import DEMOTION_PATH, Sysfs


def main():
    module = AnsibleModule(argument_spec=dict(enabled=dict(type='bool', required=True)), supports_check_mode=True)
    wanted = module.params['enabled']
    sysfs = Sysfs()
    current = sysfs.demotion_enabled()
    if current is None:
        module.fail_json(msg='this kernel has no %s (memory tiering and page demotion came with Linux 5.15/6.1): '
                             'boot a newer kernel, or leave demotion alone' % DEMOTION_PATH, commands=[])
    changed = current != wanted
    diff = {'before': {'demotion_enabled': current}, 'after': {'demotion_enabled': wanted}}
    runner = CliRunner(module)
    if changed and not module.check_mode:
        # Like every sysfs write of the collection: tee with the value on stdin, an argument list, no shell.
        result = runner.run_change('tee', [sysfs.path(DEMOTION_PATH)], data='true' if wanted else 'false')
        if sysfs.demotion_enabled() != wanted:
            module.fail_json(msg='could not set %s to %s (rc %s): %s'
                                 % (DEMOTION_PATH, str(wanted).lower(), result.rc, result.stderr.strip() or 'no output'),
                             commands=[['tee', DEMOTION_PATH]])
    result = dict(changed=changed, demotion_enabled=wanted, commands=[['tee', DEMOTION_PATH]] if changed else [])
    if module._diff:
        result['diff'] = diff
    module.exit_json(**result)


if __name__ == '__main__':
    main()
