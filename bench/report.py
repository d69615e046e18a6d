# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark figures, ratios against the targets of issue #6, the Markdown report and the plot.

Pure functions over the results dict that bench/bench.py writes (bench/out/<run>/results.json), so the
report can be remade from saved results (`scripts/bench --report-only FILE`) and is unit-tested without
guests. Only plot() needs matplotlib, imported there.

results = {
  "runs": [{"raw": s, "add": s, "rerun": s, "check": s, "remove": s, "fleet": s or None}, ...],
  "modules": {"add": [module record, ...], ...}   # one list per play kind, from every run
  "tasks": {"add": [[task record, ...] per run], ...},
  "machine": {...}, "load": [[time, load1], ...], "guests": N, "release": "bookworm", ...
}
module record (bench/guest_probe.py): module, seconds, module_seconds, processes [{argv: [tool, subcommand]}]
task record (bench/callback_plugins/pmem_bench_tasks.py): task, action, seconds, hosts {host: [status...]}
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

PLAYS = ('raw', 'add', 'rerun', 'check', 'remove', 'fleet')
LABELS = {
    'raw': 'raw commands, one SSH session',
    'add': 'add play, fresh guest',
    'rerun': 'add play again (no-op)',
    'check': 'add play, --check',
    'remove': 'remove play',
    'fleet': 'add play, {guests} guests at once (forks {guests})',
}
TOOLS = ('ndctl', 'daxctl')
CONTROLLER_ACTIONS = ('set_fact', 'include_tasks', 'import_tasks', 'assert', 'debug', 'meta', 'fail',
                      'ansible.builtin.set_fact', 'ansible.builtin.include_tasks', 'ansible.builtin.assert',
                      'ansible.builtin.debug', 'ansible.builtin.meta', 'ansible.builtin.fail',
                      'ansible.builtin.import_tasks')


def median(values):
    values = sorted(value for value in values if value is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0


def medians(runs):
    """{play: median seconds over the runs} for every play that has at least one figure."""
    return {play: median(run.get(play) for run in runs) for play in PLAYS
            if median(run.get(play) for run in runs) is not None}


def _ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / float(denominator)


RATIOS = (
    # name, numerator, denominator, target text, limit
    ('add / raw', 'add', 'raw', '<= 3', 3.0),
    ('rerun / add', 'rerun', 'add', '<= 0.5', 0.5),
    ('check / rerun', 'check', 'rerun', '<= 1', 1.0),
    ('{guests} guests / 1 guest', 'fleet', 'add', '<= 1.3', 1.3),
)


def ratios(runs, guests):
    """[(name, value, target text, limit)] for the timing targets. Each ratio is the median of the ratios
    within one run (both figures taken minutes apart, under the same load), so a busy spell of the shared
    machine in one run does not skew it; None when no run has both figures."""
    return [(name.format(guests=guests),
             median(_ratio(run.get(numerator), run.get(denominator)) for run in runs),
             target, limit)
            for name, numerator, denominator, target, limit in RATIOS]


def tool_processes(record):
    return [process['argv'] for process in record.get('processes', []) if process['argv'][:1] in (['ndctl'], ['daxctl'])]


def state_reads(record):
    """A state read is `ndctl list` plus `daxctl list` (HostState.read runs each once): count the larger."""
    argvs = tool_processes(record)
    return max(sum(1 for argv in argvs if argv == [tool, 'list']) for tool in TOOLS)


def module_summary(records, runs):
    """Per module, over every run of one play kind: runs per play, tool processes and state reads per
    module run (min-max), median host seconds per module run."""
    by_module = {}
    for record in records:
        by_module.setdefault(record['module'], []).append(record)
    rows = []
    for module in sorted(by_module):
        group = by_module[module]
        processes = [len(tool_processes(record)) for record in group]
        others = [len(record.get('processes', [])) - count for record, count in zip(group, processes)]
        reads = [state_reads(record) for record in group]
        rows.append({
            'module': module,
            'runs': len(group) / float(max(runs, 1)),
            'processes': (min(processes), max(processes)),
            'others': (min(others), max(others)),
            'reads': (min(reads), max(reads)),
            'seconds': median(record['seconds'] for record in group),
            'total_seconds': sum(record['seconds'] for record in group) / float(max(runs, 1)),
        })
    return rows


def task_summary(task_runs):
    """For the task records of each run of one play: median count of tasks that ran something, of tasks
    that ran on the host, their summed seconds, and the slowest tasks (median seconds over runs)."""
    counted, remote, remote_seconds, local_seconds, by_task = [], [], [], [], {}
    for tasks in task_runs:
        ran = [task for task in tasks if any(status not in ('skipped', 'item-skipped')
                                             for statuses in task['hosts'].values() for status in statuses)]
        on_host = [task for task in ran if task['action'] not in CONTROLLER_ACTIONS]
        counted.append(len(ran))
        remote.append(len(on_host))
        remote_seconds.append(sum(task['seconds'] for task in on_host))
        local_seconds.append(sum(task['seconds'] for task in tasks if task not in on_host))
        for task in tasks:
            # 'pmem.dax.pmem_system_ram : Probe the host' -> 'Probe the host'
            by_task.setdefault(task['task'].rpartition(' : ')[2], []).append(task['seconds'])
    slowest = sorted(((median(seconds), name) for name, seconds in by_task.items()), reverse=True)[:4]
    return {'tasks': median(counted), 'host_tasks': median(remote), 'host_task_seconds': median(remote_seconds),
            'other_seconds': median(local_seconds), 'slowest': slowest}


def _fmt(value, digits=1):
    return '-' if value is None else ('%.*f' % (digits, value))


def _verdict(value, limit, prefix=''):
    return '' if value is None else prefix + ('met' if value <= limit else 'missed')


def _span(pair):
    return str(pair[0]) if pair[0] == pair[1] else '%d-%d' % pair


def markdown(results, notes=''):
    runs = results['runs']
    figures = medians(runs)
    guests = results.get('guests', 1)
    machine = results.get('machine', {})
    checks = ratios(runs, guests)
    lines = ['# Benchmarks', '']
    met = ['%s = %s (target %s%s)' % (name, _fmt(value, 2), target, _verdict(value, limit, ', '))
           for name, value, target, limit in checks]
    reads = [state_reads(record) for kind in ('add', 'rerun', 'check', 'remove')
             for record in results.get('modules', {}).get(kind, [])
             if record['module'] in ('pmem_info', 'pmem_namespace', 'dax_mode', 'dax_memory')]
    lines.append(
        'Medians of %d run(s) on %s, one Debian %s test-bed guest per host under %s (%d cores shared with other '
        'work, load %s): %s; state reads per run of a pmem.dax module: %s (target 1).' % (
            len(runs), results.get('date', '?'), results.get('release', '?'), machine.get('accel', '?').upper(),
            machine.get('cores', 0), machine.get('load_text', '?'), '; '.join(met),
            _span((min(reads), max(reads))) if reads else '-'))
    lines += ['', notes.strip(), ''] if notes.strip() else ['']
    lines += [
        '| | |', '|---|---|',
        '| date | %s |' % results.get('date', '?'),
        '| machine | %s cores, %s, %s |' % (machine.get('cores', '?'), machine.get('cpu', '?'),
                                            machine.get('accel', '?').upper()),
        '| load average (1 min) during the run | %s; other QEMU processes: %s |' % (
            machine.get('load_text', '?'), machine.get('other_qemu', '?')),
        '| ansible-core | %s (pipelining on; each play opens its own SSH connections) |'
        % machine.get('ansible_core', '?'),
        '| guests | %d x Debian %s, %s RAM, 2 x 4 GiB NVDIMM, 1 vCPU |'
        % (guests, results.get('release', '?'), results.get('ram', '?')),
        '| runs | %d, of them %d with the fleet figure (medians reported) |'
        % (len(runs), sum(1 for run in runs if run.get('fleet') is not None)),
        '', '## Wall time (seconds)', '',
        '| what | median | runs |', '|---|---:|---|',
    ]
    for play in PLAYS:
        if play not in figures:
            continue
        label = LABELS[play].format(guests=guests)
        samples = ', '.join(_fmt(run.get(play)) for run in runs)
        lines.append('| %s | %s | %s |' % (label, _fmt(figures[play]), samples))
    lines += ['', '## Ratios against the targets', '',
              'Each the median of the ratios within one run (the two figures minutes apart, under the same load).',
              '', '| ratio | value | target | |', '|---|---:|---|---|']
    for name, value, target, limit in checks:
        lines.append('| %s | %s | %s | %s |' % (name, _fmt(value, 2), target, _verdict(value, limit) or '-'))
    lines += ['', '## Per module run on the host', '',
              'From an audit hook in the guest\'s Python (bench/guest_probe.py): every process a module starts, '
              'and the module process\'s wall time on the host (interpreter start to exit). Per play (median over '
              'runs): runs of the module; ndctl/daxctl processes and state reads per module run (min-max); median '
              'host seconds per module run; host seconds of all its runs in the play.', '',
              '| play | module | runs | ndctl/daxctl processes | other processes | state reads | host s per run '
              '| host s in play |',
              '|---|---|---:|---|---|---|---:|---:|']
    for play in ('add', 'rerun', 'check', 'remove'):
        for row in module_summary(results.get('modules', {}).get(play, []), len(runs)):
            lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
                play, row['module'], _fmt(row['runs'], 0 if float(row['runs']).is_integer() else 1),
                _span(row['processes']), _span(row['others']), _span(row['reads']),
                _fmt(row['seconds'], 2), _fmt(row['total_seconds'], 1)))
    lines += ['', '## Where the time goes (controller view, per play, median over runs)', '',
              '| play | tasks that ran | of them on the host | their seconds | other tasks\' seconds | slowest tasks (s) |',
              '|---|---:|---:|---:|---:|---|']
    for play in ('add', 'rerun', 'check', 'remove'):
        task_runs = results.get('tasks', {}).get(play)
        if not task_runs:
            continue
        summary = task_summary(task_runs)
        slowest = '; '.join('%s %s' % (name, _fmt(seconds)) for seconds, name in summary['slowest'])
        lines.append('| %s | %s | %s | %s | %s | %s |' % (
            play, _fmt(summary['tasks'], 0), _fmt(summary['host_tasks'], 0), _fmt(summary['host_task_seconds']),
            _fmt(summary['other_seconds']), slowest))
    lines += ['', '![benchmark plot](benchmarks.png)', '',
              'Made by `scripts/bench --runs %d --fleet-runs %d --guests %d` (raw figures in bench/out/, not kept '
              'in git).' % (len(runs), sum(1 for run in runs if run.get('fleet') is not None), guests), '']
    return '\n'.join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    runs = results['runs']
    figures = medians(runs)
    guests = results.get('guests', 1)
    plays = [play for play in PLAYS if play in figures]
    figure, axes = pyplot.subplots(figsize=(7, 3.2), dpi=100)
    positions = range(len(plays))
    axes.barh(list(positions), [figures[play] for play in plays], color='#4c72b0')
    for position, play in zip(positions, plays):
        samples = [run[play] for run in runs if run.get(play) is not None]
        axes.plot(samples, [position] * len(samples), 'k|', markersize=10)
        axes.text(figures[play], position, ' %.0f s' % figures[play], va='center', fontsize=8)
    axes.set_yticks(list(positions))
    axes.set_yticklabels([LABELS[play].format(guests=guests) for play in plays], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel('seconds (bar: median of %d runs, ticks: each run)' % len(runs), fontsize=8)
    accel = results.get('machine', {}).get('accel', '?').upper()
    title = 'pmem.dax role vs raw commands, %s, %s' % (results.get('date', '?')[:10], accel)
    axes.set_title(title, fontsize=9)
    axes.set_xlim(0, max(figures.values()) * 1.18)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
