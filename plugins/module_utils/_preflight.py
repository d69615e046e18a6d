# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the system_ram module checks of a host before its first change, and what it does about udev rules.

Pure functions over facts the caller read (``_host.host_facts``, ``HostState``, ``cxl_summary``): unit-tested
without a host. Each message says what is wrong and what to do. The kernel is judged by what it offers (sysfs,
/lib/modules), never by its version string: vendor kernels (RHEL, SLES) backport these features into older
version numbers.

API (stable; additions only):

``MIN_TOOLS_VERSION``: the oldest ndctl/daxctl with reconfigure-device, online-memory and the zone options.
``missing_tools(tools, cxl_path, wants_cxl)`` -> names of the commands the run needs and the host lacks
    (ndctl, daxctl; cxl when CXL regions are asked), in that order.
``tool_problems(tools, cxl_path, wants_cxl)`` -> a message per missing or too old command.
``host_problems(facts, state, wants_cxl, demotion)`` -> messages for what the kernel and the host lack for the
    run; ``facts``: {"features", "block_size", "dax_model", "regions" (count), "demotion_enabled", "cxl"
    (cxl_summary's, or None when not read), "cxl_path", "kernel"}.
``NO_HOTREMOVE``: why a removal that needs memory hot-remove stops when the reboot is not allowed.
``udev_decision(entries, state, override_allowed, check_mode)`` -> {"write": entries whose override is to be
    written, "remove": entries whose override is to be removed, "problems": [...], "lines": summary lines}.
    ``entries``: ``_host.udev_rules``'s.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible.module_utils.compat.version import LooseVersion

from ansible_collections.pmem.dax.plugins.module_utils._host import TOOLS
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import DEMOTION_PATH

MIN_TOOLS_VERSION = '68'
_VERSION_RE = re.compile(r'[0-9]+(\.[0-9]+)?')
NO_HOTREMOVE = ('This kernel has no memory hot-remove (CONFIG_MEMORY_HOTREMOVE), so online memory cannot be given '
                'back while it runs (%s). Allow the reboot (reboot_allowed; the role\'s pmem_system_ram_reboot=true) '
                'to drop the boot-time config, reboot and destroy the namespaces afterwards, or boot a kernel with '
                'hot-remove.')


def missing_tools(tools, cxl_path, wants_cxl):
    missing = [tool for tool in TOOLS if not (tools.get(tool) or {}).get('path')]
    if wants_cxl and not cxl_path:
        missing.append('cxl')
    return missing


def _version_number(text):
    found = _VERSION_RE.search(text or '')
    return found.group(0) if found else '0'


def tool_problems(tools, cxl_path, wants_cxl):
    problems = []
    for tool in missing_tools(tools, cxl_path, wants_cxl):
        if tool == 'cxl':
            problems.append('cxl_regions lists CXL regions, but the cxl command is not installed: install the package '
                            'that has it (cxl-cli on RHEL and Fedora; Debian 12 and SUSE ship it in ndctl), or leave '
                            'cxl_regions empty.')
        else:
            problems.append('%s not found: install the %s package.' % (tool, tool))
    for tool in TOOLS:
        found = tools.get(tool) or {}
        if found.get('path') and LooseVersion(_version_number(found.get('version'))) < LooseVersion(MIN_TOOLS_VERSION):
            problems.append('%s %s is too old: reconfigure-device, online-memory and the zone options need %s >= %s. '
                            'Install a newer ndctl/daxctl package.'
                            % (tool, found.get('version') or '(no version)', tool, MIN_TOOLS_VERSION))
    return problems


def host_problems(facts, state, wants_cxl, demotion):
    features = facts.get('features') or {}
    problems = []
    if state == 'present' and (features.get('kmem') is False or not features.get('auto_online_blocks', True)):
        text = 'This kernel cannot hot-plug a dax device as system RAM.'
        if features.get('kmem') is False:
            text += (' It has no kmem driver (CONFIG_DEV_DAX_KMEM: no /sys/bus/dax/drivers/kmem, and /lib/modules/%s '
                     'lists no drivers/dax/kmem.ko), so a dax device cannot become system RAM. Install the kernel\'s '
                     'modules package or boot a kernel with kmem, then run again.' % facts.get('kernel'))
        if not features.get('auto_online_blocks', True):
            text += (' /sys/devices/system/memory/auto_online_blocks is missing: this kernel has no auto-online '
                     'policy to hold while daxctl chooses the zone. Boot a kernel with memory hotplug '
                     '(CONFIG_MEMORY_HOTPLUG).')
        problems.append(text)
    if not facts.get('block_size'):
        problems.append('/sys/devices/system/memory is missing: this kernel was built without CONFIG_MEMORY_HOTPLUG, '
                        'so no memory can be added at run time. Boot a kernel with memory hotplug (every '
                        'distribution kernel has it).')
    if facts.get('dax_model', 'bus') != 'bus':
        problems.append('The dax devices use the old dax-class model (dax_pmem_compat), which cannot be reconfigured. '
                        'Run \'daxctl migrate-device-model\' and reboot, then run again.')
    if state == 'present' and demotion and facts.get('demotion_enabled') is None:
        problems.append('demotion=true, but this kernel has no %s (memory tiering and demotion came with Linux '
                        '5.15/6.1). Leave demotion off and either online part of the memory as kernel memory '
                        '(movable: false) or accept a node of movable memory only (allow_movable_only_node), or boot '
                        'a newer kernel.' % DEMOTION_PATH)
    if state == 'present' and not facts.get('regions') and not wants_cxl:
        problems.append('No persistent memory region found (\'ndctl list -R\' is empty). Check that the NVDIMMs are '
                        'present and in App Direct mode (ipmctl/firmware), and that the nd_pmem/libnvdimm modules '
                        'are loaded.')
    cxl = facts.get('cxl')
    if wants_cxl and facts.get('cxl_path') and not (cxl or {}).get('available'):
        if not features.get('cxl_bus'):
            reason = ('this kernel has no CXL bus (/sys/bus/cxl): load cxl_acpi, cxl_pci and cxl_mem, or boot a '
                      'kernel with CXL memory support')
        else:
            reason = "'cxl list' could not be used (see the warning: ndctl/cxl 78 or newer is needed for 'list -X')"
        problems.append('cxl_regions lists CXL regions, but %s; or leave cxl_regions empty.' % reason)
    return problems


def _where(rule):
    return 'on every host' if rule['condition'] is None else 'when %s' % rule['condition']


def _rule_line(entry, rule):
    return '%s line %s onlines hot-added memory (%s, %s)' % (entry['path'], rule['line'], rule['does'], _where(rule))


def udev_decision(entries, state, override_allowed, check_mode):
    """Which overrides to write or remove, what stops the run, and a summary line per rule.

    A rule that onlines every hot-added block puts the memory in its own zone behind daxctl's back (RHEL's
    ignores the auto-online policy the modules hold), so it must not see memory blocks: the override is the
    distribution's file of that name in /etc/udev/rules.d with only those rules made to skip memory blocks.
    A rule in the administrator's own file in /etc is never rewritten: it stops the run. Only a run that adds
    memory cares (state absent: nothing).
    """
    decision = {'write': [], 'remove': [], 'problems': [], 'lines': []}
    if state != 'present':
        return decision
    own = []
    for entry in entries:
        override = entry['override']
        relevant = entry.get('applies') is not False
        for rule in entry['rules']:
            what = _rule_line(entry, rule)
            if rule['applies'] is False:
                decision['lines'].append('%s: not on this host, left alone' % what)
            elif override['state'] == 'current':
                decision['lines'].append('%s: kept from memory by %s (written earlier)' % (what, override['path']))
            elif override['state'] in ('missing', 'stale') and override_allowed:
                decision['lines'].append('%s: %s kept from memory by %s, a copy of it whose rule skips memory blocks '
                                         '(every other line kept)' % (what, 'would be' if check_mode else 'now',
                                                                      override['path']))
        if override['state'] == 'obsolete' and override_allowed:
            decision['remove'].append(entry)
            decision['lines'].append('%s, written by pmem.dax from %s, is not needed any more (that file is gone or '
                                     'onlines no memory now): %s' % (override['path'], entry['path'],
                                                                     'would be removed' if check_mode else 'removed'))
        elif relevant and override['state'] in ('missing', 'stale'):
            decision['write'].append(entry)
        elif relevant and override['state'] == 'impossible':
            own.append(entry)
    if own:
        rules = ' '.join('%s line %s (%s) onlines hot-added memory as soon as it appears, in its own zone, so daxctl '
                         'cannot choose ZONE_MOVABLE.' % (entry['path'], rule['line'], rule['text'])
                         for entry in own for rule in entry['rules'] if rule['applies'] is not False)
        decision['problems'].append(
            '%s These are files in /etc/udev/rules.d, which pmem.dax does not rewrite: comment such a rule out (or put '
            'SUBSYSTEM!="memory", in front of it), run \'udevadm control --reload\', then run again.' % rules)
    if decision['write'] and not override_allowed:
        rules = ' '.join('%s line %s (%s) onlines hot-added memory as soon as it appears (%s), in its own zone, so '
                         'daxctl cannot choose ZONE_MOVABLE.'
                         % (entry['path'], rule['line'], rule['text'], _where(rule))
                         for entry in decision['write'] for rule in entry['rules'] if rule['applies'] is not False)
        decision['problems'].append(
            '%s udev_override=false (the role\'s pmem_system_ram_udev_override): set it true to let pmem.dax write %s '
            '(a copy of the distribution\'s file of that name whose memory rules skip memory blocks, every other '
            'line, CPU hot-add included, kept), or write such a copy yourself, run \'udevadm control --reload\', '
            'then run again.' % (rules, ', '.join(entry['override']['path'] for entry in decision['write'])))
        decision['write'] = []
    return decision
