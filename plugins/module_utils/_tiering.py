# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How the kernel uses a slower memory node: the tiering knobs of the memory_tiering module (issue 15).

Once persistent or CXL memory is online as a CPU-less NUMA node, these decide what lands there: page demotion
(cold pages down), memory-tiering NUMA balancing (hot pages back up, at a bounded rate), huge page pools per
node, and the weights of the weighted-interleave memory policy. Each is a small sysfs or /proc file; none
survives a reboot (the role's boot-time unit writes them again).

API (private to this collection):

``read_tiering(sysfs)`` -> the current values (``current`` below), read once.
``plan_tiering(current, desired, forecast=None)`` -> {writes, errors, before, after}: pure. ``forecast``: {node:
    {kernel, movable}} of memory a change in the same run brings (system_ram's forecast, in check mode): a node
    that has no memory yet is planned as it will be, its pools empty (the 2 MiB and 1 GiB of x86). ``writes`` in the order they must
    be made: [{path, value, before, what}]; ``errors``: every reason the request cannot be done (nothing may be
    written then); ``before``/``after``: the knobs as they are and as they will be (the diff).
``apply_tiering(runner, sysfs, writes)`` -> commands run; raises TieringError after writing back, newest first,
    every value it changed when a write does not read back as asked (a huge page pool the kernel could not
    fill, a write refused): never a half-done host.
``desired`` keys (None or absent: leave as it is): demotion, promotion (bools), promote_rate_limit_mbps (int),
    hugepages ([{node, size, count}]), weighted_interleave ({node: weight}), weighted_interleave_auto (bool).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.pmem.dax.plugins.module_utils._sizes import SizeError, parse_size
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import (
    DEMOTION_PATH, NUMA_BALANCING_MEMORY_TIERING, NUMA_BALANCING_PATH, PROMOTE_RATE_LIMIT_PATH,
    WEIGHTED_INTERLEAVE_DIR, parse_int)

GIB = 1 << 30
MIB = 1 << 20
# The kernel takes interleave weights 1-255 (a u8; 0 is refused); 1 is every node's weight until one is set.
WEIGHT_RANGE = (1, 255)
DEFAULT_WEIGHT = 1


def tiering_argument_spec():
    """The tiering settings as module options: memory_tiering's own, system_ram's ``tiering`` suboptions."""
    return dict(
        promotion=dict(type='bool'),
        promote_rate_limit_mbps=dict(type='int'),
        hugepages=dict(type='list', elements='dict', options=dict(
            node=dict(type='int', required=True),
            size=dict(type='raw', required=True),
            count=dict(type='int', required=True),
        )),
        weighted_interleave=dict(type='dict'),
        weighted_interleave_auto=dict(type='bool'),
    )


class TieringError(Exception):
    def __init__(self, message, commands):
        super(TieringError, self).__init__(message)
        self.message = message
        self.commands = commands


def hugepages_path(node, size):
    return '/sys/devices/system/node/node%d/hugepages/hugepages-%dkB/nr_hugepages' % (int(node), size // 1024)


def weight_path(node):
    return '%s/node%d' % (WEIGHTED_INTERLEAVE_DIR, int(node))


WEIGHTS_AUTO_PATH = WEIGHTED_INTERLEAVE_DIR + '/auto'


def _size_name(size):
    return '%d GiB' % (size // GIB) if size >= GIB else '%d MiB' % (size // MIB) if size >= MIB else '%d kB' % (size // 1024)


def read_tiering(sysfs, memory=None):
    """The knobs and, per node, what decides whether a knob can apply there: its memory by zone kind, its huge
    page pools and its interleave weight. ``memory``: online memory per node ({node: {kernel, movable}}) the
    caller read just now, reused (the read lists every memory block of the host)."""
    numa = sysfs.numa_tiering()
    if memory is None:
        memory = {}
        for node, zones in sysfs.online_memory(sysfs.memory_blocks(), sysfs.block_size(), sysfs.nodes()).items():
            movable = zones.get('Movable', 0) or 0
            memory[str(node)] = {'kernel': sum(value or 0 for value in zones.values()) - movable, 'movable': movable}
    nodes = {}
    for entry in numa['nodes']:
        own = memory.get(str(entry['node'])) or {}
        nodes[str(entry['node'])] = {
            'kernel': own.get('kernel') or 0,
            'movable': own.get('movable') or 0,
            'hugepages': dict((pool['size'], pool['nr_hugepages']) for pool in entry['hugepages']),
            'weight': entry['weighted_interleave'],
            'tier': entry['tier'],
            'counters': entry['tiering_counters'] or {},
        }
    # A node without memory online has no node directory, but its weight file stays (every possible node has one).
    for node in sysfs.weighted_interleave_nodes():
        nodes.setdefault(str(node), {'kernel': 0, 'movable': 0, 'hugepages': {}, 'weight': sysfs.weighted_interleave(node),
                                     'tier': None, 'counters': {}})
    return {
        'demotion': numa['demotion_enabled'],
        'numa_balancing': numa['numa_balancing'],
        'promote_rate_limit_mbps': numa['promote_rate_limit_mbps'],
        'weighted_interleave_auto': numa['weighted_interleave_auto'],
        'tiers': bool(sysfs.memory_tiers()),
        'nodes': nodes,
    }


def knobs(current):
    """The knobs as the diff shows them."""
    return {
        'demotion': current['demotion'],
        'numa_balancing': current['numa_balancing'],
        'promote_rate_limit_mbps': current['promote_rate_limit_mbps'],
        'weighted_interleave_auto': current['weighted_interleave_auto'],
        'nodes': dict((node, {'hugepages': dict((_size_name(size), count) for size, count in facts['hugepages'].items()),
                              'weight': facts['weight']})
                      for node, facts in sorted(current['nodes'].items())),
    }


def _bool_text(value):
    return 'true' if value else 'false'


def _plan_switches(current, desired, writes, errors):
    demotion = desired.get('demotion')
    if demotion is not None:
        if current['demotion'] is None:
            errors.append('this kernel has no %s (page demotion came with Linux 5.15/6.1)' % DEMOTION_PATH)
        elif bool(current['demotion']) != demotion:
            writes.append({'path': DEMOTION_PATH, 'value': _bool_text(demotion), 'before': _bool_text(current['demotion']),
                           'what': 'page demotion %s' % ('on' if demotion else 'off'), 'knob': ('demotion', demotion)})
    promotion = desired.get('promotion')
    if promotion is not None:
        balancing = current['numa_balancing']
        if balancing is None:
            errors.append('this kernel has no %s (built without CONFIG_NUMA_BALANCING): promotion needs NUMA '
                          'balancing' % NUMA_BALANCING_PATH)
        elif promotion and not current['tiers']:
            errors.append('this kernel has no memory tiers (/sys/devices/virtual/memory_tiering, Linux 6.1): '
                          'promotion in memory tiering mode needs them')
        else:
            # A bit mask: 1 balances between CPU nodes, 2 promotes from slower tiers; keep the other bit.
            wanted = balancing | NUMA_BALANCING_MEMORY_TIERING if promotion else balancing & ~NUMA_BALANCING_MEMORY_TIERING
            if wanted != balancing:
                writes.append({'path': NUMA_BALANCING_PATH, 'value': str(wanted), 'before': str(balancing),
                               'what': 'NUMA balancing %d -> %d (promotion of hot pages %s)'
                                       % (balancing, wanted, 'on' if promotion else 'off'),
                               'knob': ('numa_balancing', wanted)})
    rate = desired.get('promote_rate_limit_mbps')
    if rate is not None:
        if current['promote_rate_limit_mbps'] is None:
            errors.append('this kernel has no %s (Linux 6.1 or newer)' % PROMOTE_RATE_LIMIT_PATH)
        elif rate < 1:
            errors.append('promote_rate_limit_mbps must be at least 1 (MB/s), got %d' % rate)
        elif rate != current['promote_rate_limit_mbps']:
            writes.append({'path': PROMOTE_RATE_LIMIT_PATH, 'value': str(rate),
                           'before': str(current['promote_rate_limit_mbps']),
                           'what': 'promotion rate limit %d -> %d MB/s' % (current['promote_rate_limit_mbps'], rate),
                           'knob': ('promote_rate_limit_mbps', rate)})


def _node_with_memory(current, node, errors, what):
    facts = current['nodes'].get(str(node))
    if facts is None:
        errors.append('%s: there is no NUMA node %s (nodes: %s)' % (what, node, ', '.join(sorted(current['nodes']))))
        return None
    if not facts['kernel'] and not facts['movable']:
        errors.append('%s: node %s has no memory online' % (what, node))
        return None
    return facts


def _plan_weights(current, desired, writes, errors):
    weights = desired.get('weighted_interleave') or {}
    auto = desired.get('weighted_interleave_auto')
    if auto and weights:
        errors.append('weighted_interleave_auto=true lets the kernel set the weights: give no weighted_interleave '
                      'weights with it')
        return
    if auto is not None:
        if current['weighted_interleave_auto'] is None:
            errors.append('this kernel has no %s (automatic interleave weights came with Linux 6.16)' % WEIGHTS_AUTO_PATH)
        elif bool(current['weighted_interleave_auto']) != auto:
            writes.append({'path': WEIGHTS_AUTO_PATH, 'value': _bool_text(auto),
                           'before': _bool_text(current['weighted_interleave_auto']),
                           'what': 'interleave weights set by the kernel: %s' % ('on' if auto else 'off'),
                           'knob': ('weighted_interleave_auto', auto)})
    for node in sorted(weights, key=int):
        what = 'weighted_interleave node %s' % node
        weight = weights[node]
        known = current['nodes'].get(str(node))
        if weight == DEFAULT_WEIGHT and known is not None and known['weight'] is not None \
                and not (known['kernel'] or known['movable']):
            # The kernel's own weight back on a node whose memory is gone (the role's removal): allowed, it is
            # what the node had before anything was set.
            if known['weight'] != weight:
                writes.append({'path': weight_path(node), 'value': str(weight), 'before': str(known['weight']),
                               'what': 'interleave weight of node %s %d -> %d' % (node, known['weight'], weight),
                               'knob': ('weight', str(node), weight)})
            continue
        facts = _node_with_memory(current, node, errors, what)
        if facts is None:
            continue
        if facts['weight'] is None:
            errors.append('%s: this kernel has no %s (weighted interleave came with Linux 6.9)' % (what, weight_path(node)))
        elif not WEIGHT_RANGE[0] <= weight <= WEIGHT_RANGE[1]:
            errors.append('%s: a weight is %d to %d, got %d' % (what, WEIGHT_RANGE[0], WEIGHT_RANGE[1], weight))
        elif weight != facts['weight']:
            writes.append({'path': weight_path(node), 'value': str(weight), 'before': str(facts['weight']),
                           'what': 'interleave weight of node %s %d -> %d' % (node, facts['weight'], weight),
                           'knob': ('weight', str(node), weight)})


def _plan_hugepages(current, desired, writes, errors):
    for entry in desired.get('hugepages') or []:
        node, count = entry['node'], entry['count']
        try:
            size = parse_size(entry['size'], 'hugepages size')
        except SizeError as exc:
            errors.append(str(exc))
            continue
        what = 'hugepages node %s, %s pages' % (node, _size_name(size))
        known = current['nodes'].get(str(node))
        if count == 0 and (known is None or not (known['kernel'] or known['movable'])):
            # An empty pool asked of a node without memory (the role's removal, after the memory went offline and
            # the kernel dissolved its free pages): there is nothing to give back.
            continue
        facts = _node_with_memory(current, node, errors, what)
        if facts is None:
            continue
        have = facts['hugepages'].get(size, 0)
        # Gigantic pages are not migratable, so the kernel never takes them from ZONE_MOVABLE: on a node whose
        # memory is all movable the pool cannot grow (2 MiB pages can come from it).
        if size >= GIB and count > have and not facts['kernel']:
            errors.append('%s: 1 GiB pages cannot come from ZONE_MOVABLE, and node %s has only movable memory '
                          '(%.2f GiB): online part of it as kernel memory (movable: false), or use 2 MiB pages'
                          % (what, node, facts['movable'] / float(GIB)))
            continue
        if size not in facts['hugepages']:
            errors.append('%s: this kernel and CPU have no pool of that size on node %s (sizes: %s)'
                          % (what, node, ', '.join(_size_name(pool) for pool in sorted(facts['hugepages'])) or 'none'))
            continue
        if count < 0:
            errors.append('%s: count must be 0 or more, got %d' % (what, count))
            continue
        if count != have:
            writes.append({'path': hugepages_path(node, size), 'value': str(count), 'before': str(have),
                           'what': '%s pages on node %s: %d -> %d' % (_size_name(size), node, have, count),
                           'knob': ('hugepages', str(node), _size_name(size), count)})


# The huge page sizes a node that is not online yet is assumed to get (x86-64's; the real run reads them).
FORECAST_POOLS = (2 * MIB, GIB)


def with_forecast(current, forecast):
    """``current`` with the nodes a change still has to bring online, as that change forecasts them."""
    nodes = dict(current['nodes'])
    any_weight = any(facts['weight'] is not None for facts in nodes.values())
    for node, memory in (forecast or {}).items():
        node = str(node)
        facts = nodes.get(node)
        if facts and (facts['kernel'] or facts['movable']):
            continue
        if not (memory.get('kernel') or memory.get('movable')):
            continue
        nodes[node] = {'kernel': memory.get('kernel') or 0, 'movable': memory.get('movable') or 0,
                       'hugepages': dict((size, 0) for size in FORECAST_POOLS),
                       'weight': 1 if any_weight else None}
    return dict(current, nodes=nodes)


def plan_tiering(current, desired, forecast=None):
    current = with_forecast(current, forecast)
    writes, errors = [], []
    _plan_switches(current, desired, writes, errors)
    _plan_weights(current, desired, writes, errors)
    # Huge pages last: the one write the kernel may carry out only in part.
    _plan_hugepages(current, desired, writes, errors)
    before = knobs(current)
    after = knobs(current)
    for write in writes:
        knob = write['knob']
        if knob[0] == 'weight':
            after['nodes'][knob[1]]['weight'] = knob[2]
        elif knob[0] == 'hugepages':
            after['nodes'][knob[1]]['hugepages'][knob[2]] = knob[3]
        else:
            after[knob[0]] = knob[1]
    return {'writes': [dict((key, value) for key, value in write.items() if key != 'knob') for write in writes],
            'errors': errors, 'before': before, 'after': after}


def _read_back(sysfs, path):
    text = sysfs.read(path.lstrip('/'))
    return None if text is None else text.strip()


def _same(value, text):
    """A value read back as written: booleans read back as 1/0 on some kernels."""
    if text is None:
        return False
    aliases = {'true': ('true', '1', 'y'), 'false': ('false', '0', 'n')}
    return text.lower() in aliases.get(value, (value,)) or parse_int(text) == parse_int(value)


def apply_tiering(runner, sysfs, writes):
    """Make the writes; on the first that does not read back as asked, write back what was changed and raise."""
    commands, done = [], []
    for write in writes:
        command = ['tee', write['path']]
        commands.append(command)
        result = runner.run_change('tee', [sysfs.path(write['path'])], data=write['value'])
        got = _read_back(sysfs, write['path'])
        if result.rc == 0 and _same(write['value'], got):
            done.append(write)
            continue
        # Written back newest first; a pool that could not be filled is set back to its old size as well.
        restored = []
        for undo in [write] + done[::-1]:
            runner.run_change('tee', [sysfs.path(undo['path'])], data=undo['before'])
            commands.append(['tee', undo['path']])
            restored.append(undo['path'])
        reason = (result.stderr or '').strip() or ('reads back %s' % got if got is not None else 'no output')
        raise TieringError('%s: wrote %s to %s, %s (rc %s). Written back as it was: %s.'
                           % (write['what'], write['value'], write['path'], reason, result.rc, ', '.join(restored)),
                           commands)
    return commands


def _counter_sum(counters, prefix):
    return sum(value for name, value in counters.items() if name.startswith(prefix))


def _before_after(before, after):
    return '%s' % after if before == after else '%s -> %s' % (before, after)


def normalize_weights(value):
    """{node: weight} with the node as text and the weight as an integer (YAML and Jinja hand dict keys over as
    strings). Raises ValueError naming the entry that is not a number."""
    weights = {}
    for node, weight in (value or {}).items():
        try:
            weights[str(int(node))] = int(weight)
        except (TypeError, ValueError):
            raise ValueError('weighted_interleave: expected node number: weight, got %r: %r' % (node, weight))
    return weights


def undo_settings(settings):
    """What state=absent sets for the settings a present run asked for: promotion off, the listed pools emptied,
    the listed weights back to the kernel's 1. The rate limit and automatic weights are left as they are: they
    mean nothing once promotion is off or the weights are the kernel's own."""
    settings = settings or {}
    return {
        'promotion': False if settings.get('promotion') else None,
        'hugepages': [dict(entry, count=0) for entry in settings.get('hugepages') or []],
        'weighted_interleave': dict((node, DEFAULT_WEIGHT) for node in settings.get('weighted_interleave') or {}),
    }


def tiering_by_node(current, knobs=None):
    """Per node: its tier, huge page pools by size name, interleave weight and the pages demotion and promotion
    have moved so far. ``knobs``: a plan's ``after``, whose pools and weights stand in for the ones read (check
    mode shows what the run would set)."""
    nodes = {}
    for node, facts in current['nodes'].items():
        counters = facts.get('counters') or {}
        nodes[node] = {'tier': facts.get('tier'),
                       'hugepages': dict((_size_name(size), count) for size, count in facts['hugepages'].items()),
                       'weight': facts['weight'], 'demoted': _counter_sum(counters, 'pgdemote_'),
                       'promoted': counters.get('pgpromote_success', 0)}
    for node, planned in ((knobs or {}).get('nodes') or {}).items():
        entry = nodes.setdefault(node, {'tier': None, 'hugepages': {}, 'weight': None, 'demoted': 0, 'promoted': 0})
        entry.update(hugepages=dict(planned['hugepages']), weight=planned['weight'])
    return nodes


def tiering_text(before, after):
    """A node's tier, huge pages, weight and counters, before -> after where they differ; what the kernel does not
    tell (no tiers before Linux 6.1, no weights before 6.9) is left out, and a node it knows nothing of is ''."""
    if not (before or after):
        return ''
    before = before or {}
    after = after or before
    parts = []
    tier = after.get('tier') if after.get('tier') is not None else before.get('tier')
    if tier is not None:
        parts.append('tier %s' % tier)
    pools_before, pools_after = before.get('hugepages') or {}, after.get('hugepages') or {}
    parts.append(', '.join('%s pages %s' % (name, _before_after(pools_before.get(name, 0), pools_after.get(name, 0)))
                           for name in sorted(set(pools_before) | set(pools_after), key=parse_size)
                           if pools_after.get(name) or pools_before.get(name)) or 'no huge pages')
    if after.get('weight') is not None:
        parts.append('interleave weight %s' % _before_after(before.get('weight', after['weight']), after['weight']))
    parts.append('demoted %s pages, promoted %s' % (_before_after(before.get('demoted', 0), after.get('demoted', 0)),
                                                    _before_after(before.get('promoted', 0), after.get('promoted', 0))))
    return ', '.join(parts)


def node_lines(current, after):
    """One line a node with memory: its memory by zone kind, tier, huge pages and weight (before -> after where
    the run changes them), and how many pages demotion and promotion have moved to and from it so far."""
    before_by_node, after_by_node = tiering_by_node(current), tiering_by_node(current, after)
    lines = []
    for node in sorted(current['nodes'], key=int):
        facts = current['nodes'][node]
        if facts['kernel'] or facts['movable']:
            lines.append('node %s: kernel %.2f GiB, movable %.2f GiB, %s'
                         % (node, facts['kernel'] / float(GIB), facts['movable'] / float(GIB),
                            tiering_text(before_by_node[node], after_by_node[node])))
    return lines


def change_lines(writes):
    """What changes, one line a write (check mode too: the caller's summary says "would")."""
    return [write['what'] for write in writes]


BOOT_KEYS = ('promotion', 'promote_rate_limit_mbps', 'hugepages', 'weighted_interleave', 'weighted_interleave_auto')


def boot_settings(settings):
    """The settings as the boot-time config keeps them (the boot script writes them after the memory is online):
    only those given, huge page sizes in bytes, weights by node number as text. Raises SizeError."""
    kept = {}
    for key in BOOT_KEYS:
        value = (settings or {}).get(key)
        if value is None or value == [] or value == {}:
            continue
        if key == 'hugepages':
            value = [{'node': int(entry['node']), 'size': parse_size(entry['size'], 'hugepages size'),
                      'count': int(entry['count'])} for entry in value]
        elif key == 'weighted_interleave':
            value = dict((str(int(node)), int(weight)) for node, weight in value.items())
        kept[key] = value
    return kept
