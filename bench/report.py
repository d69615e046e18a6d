# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark figures, ratios against the targets of issues #6 and #13, the Markdown report and the plot.

Pure functions over the results dict that bench/bench.py writes (bench/out/<run>/results.json), so the
report can be remade from saved results (`scripts/bench --report-only FILE`) and is unit-tested without
guests. Only plot() needs matplotlib, imported there.

results = {
  "runs": [{"raw": s, "add": s, "rerun": s, "check": s, "remove": s, "fleet": s or None}, ...],
  "modules": {"add": [module record, ...], ...}   # one list per play kind, from every run
  "tasks": {"add": [[task record, ...] per run], ...},
  "processes": {"remove": [forks on the guest during each run's remove play, ...],
                "idle": [{"seconds": s, "processes": forks over an idle interval that long}]},
  "sweep": [{"size_gib": 8, "run": 0, "raw": s, "add": s, "remove": s, "remove_processes": forks,
             "remove_module_processes": processes the modules started}, ...],
  "sweep_guest": {"nvdimms": 1, "nvdimm_gib": 9, "ram": "2G"}, "options": {...},
  "machine": {...}, "load": [[time, load1, other QEMU processes], ...], "guests": N, "release": "bookworm", ...
}
module record (bench/guest_probe.py): module, collection, run (index), seconds, module_seconds,
processes [{argv: [tool, subcommand]}]
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
CONTROLLER_ACTIONS = ('set_fact', 'include_tasks', 'import_tasks', 'include_role', 'import_role', 'assert', 'debug',
                      'meta', 'fail', 'set_stats',
                      'ansible.builtin.set_fact', 'ansible.builtin.include_tasks', 'ansible.builtin.assert',
                      'ansible.builtin.debug', 'ansible.builtin.meta', 'ansible.builtin.fail',
                      'ansible.builtin.import_tasks', 'ansible.builtin.include_role', 'ansible.builtin.import_role',
                      'ansible.builtin.set_stats')
OWN_COLLECTION = 'pmem.dax'
# The module that keeps the change across reboots; issue #13 counts the add play's module runs besides it.
PERSISTENCE_MODULES = ('dax_persist',)
# Records of a probe older than its collection field: the collection's module names start with these.
OWN_MODULE_PREFIXES = ('pmem_', 'dax_', 'cxl_', 'memory_', 'system_ram')
MODULE_RUNS_TARGET = 2


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
    ('rerun / add', 'rerun', 'add', '<= 0.3', 0.3),
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


def is_own_module(record):
    collection = record.get('collection')
    if collection is None and 'collection' not in record:
        return record['module'].startswith(OWN_MODULE_PREFIXES)
    return collection == OWN_COLLECTION


def module_runs(records, runs):
    """Module runs on the host in one play kind, per run: all of them, those of pmem.dax, those of pmem.dax
    besides persistence (PERSISTENCE_MODULES), each a (min, max) over the runs, and how often each other
    module ran per run (median). Records without a run index are spread evenly over RUNS."""
    runs = max(runs, 1)
    if records and all('run' in record for record in records):
        per_run = [[record for record in records if record['run'] == index] for index in range(runs)]
    else:
        per_run = None

    def counted(keep):
        if per_run is None:
            value = sum(1 for record in records if keep(record)) / float(runs)
            return (value, value)
        values = [sum(1 for record in group if keep(record)) for group in per_run]
        return (min(values), max(values))

    others = {}
    for record in records:
        if not is_own_module(record):
            others[record['module']] = others.get(record['module'], 0) + 1
    return {
        'all': counted(lambda record: True),
        'own': counted(is_own_module),
        'own_besides_persistence': counted(
            lambda record: is_own_module(record) and record['module'] not in PERSISTENCE_MODULES),
        'others': sorted((module, count / float(runs)) for module, count in others.items()),
    }


def removal_processes(results):
    """Processes forked on the guest by the remove play: the median over runs, the idle baseline (forks
    over an interval as long as a remove play, the same two reads around it), and the median net of it."""
    counts = results.get('processes', {}).get('remove', [])
    idle = results.get('processes', {}).get('idle', [])
    forks = median(counts)
    baseline = idle[0]['processes'] if idle else None
    return {'forks': forks, 'samples': counts, 'idle': baseline,
            'idle_seconds': idle[0]['seconds'] if idle else None,
            'net': None if forks is None or baseline is None else forks - baseline}


SWEEP_FIGURES = ('raw', 'add', 'remove')


def sweep_rows(results):
    """Per size of the sweep, medians over its runs: seconds and seconds per GiB of each figure, and the
    processes of the removal (forks on the guest, net of the idle baseline when there is one)."""
    baseline = removal_processes(results)['idle']
    by_size = {}
    for sample in results.get('sweep', []):
        by_size.setdefault(sample['size_gib'], []).append(sample)
    rows = []
    for size in sorted(by_size):
        samples = by_size[size]
        row = {'size_gib': size, 'runs': len(samples)}
        for figure in SWEEP_FIGURES:
            seconds = median(sample.get(figure) for sample in samples)
            row[figure] = seconds
            row[figure + '_per_gib'] = None if seconds is None else seconds / float(size)
        forks = median(sample.get('remove_processes') for sample in samples)
        row['remove_processes'] = forks
        row['remove_processes_net'] = None if forks is None or baseline is None else forks - baseline
        row['remove_module_processes'] = median(sample.get('remove_module_processes') for sample in samples)
        rows.append(row)
    return rows


def sweep_slopes(rows):
    """{figure: extra seconds per extra GiB from the smallest to the largest size}, what the size itself
    costs once the fixed part (start-up, reads) is taken out; empty with fewer than two sizes."""
    if len(rows) < 2:
        return {}
    first, last = rows[0], rows[-1]
    return {figure: (last[figure] - first[figure]) / float(last['size_gib'] - first['size_gib'])
            for figure in SWEEP_FIGURES if last[figure] is not None and first[figure] is not None}


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


def _other_guests(machine):
    """The header's word on other guests: the load sampler counted QEMU processes not of the benchmark."""
    most = machine.get('other_qemu_max')
    if most is None:
        return 'other QEMU processes: %s' % machine.get('other_qemu', '?')
    if most == 0:
        return 'no other guest ran: no other QEMU process in any of the %s samples, one every 15 s' % (
            machine.get('load_samples', '?'))
    return 'other guests ran beside it (other QEMU processes: %s): not an idle machine' % machine.get('other_qemu')


def _removal_text(results):
    """'N (...)' for the headline: the 8 GiB sweep removal when there is one, else the main runs' removal."""
    rows = [row for row in sweep_rows(results) if row['size_gib'] == 8 and row['remove_processes'] is not None]
    counted = removal_processes(results)
    if rows:
        row = rows[0]
        net = row['remove_processes_net']
        return '%s (one 8 GiB namespace%s)' % (
            _fmt(net if net is not None else row['remove_processes'], 0),
            ', net of %s forked while idle' % counted['idle'] if net is not None else ', raw count, no idle baseline')
    if counted['forks'] is None:
        return '-'
    return '%s (two 4 GiB NVDIMMs%s)' % (
        _fmt(counted['net'] if counted['net'] is not None else counted['forks'], 0),
        ', net of %s forked while idle' % counted['idle'] if counted['net'] is not None else ', raw count')


def _module_runs_lines(results, runs):
    lines = ['', '## Module runs on the host per play', '',
             'Counted by the audit hook in the guest\'s Python (bench/guest_probe.py): one per module process, '
             'min-max over the runs. Persistence is %s (issue #13 counts the add play besides it); the role\'s '
             'other persistence steps run builtin modules (copy, stat, systemd_service), listed with the rest as '
             'other modules, runs per play.' % ', '.join(PERSISTENCE_MODULES), '',
             '| play | module runs | of them %s | %s besides persistence | other modules |' % (
                 OWN_COLLECTION, OWN_COLLECTION),
             '|---|---|---|---|---|']
    for play in ('add', 'rerun', 'check', 'remove'):
        records = results.get('modules', {}).get(play)
        if not records:
            continue
        counts = module_runs(records, runs)
        others = ', '.join('%s %s' % (module, _fmt(count, 0 if float(count).is_integer() else 1))
                           for module, count in counts['others']) or '-'
        lines.append('| %s | %s | %s | %s | %s |' % (
            play, _span_number(counts['all']), _span_number(counts['own']),
            _span_number(counts['own_besides_persistence']), others))
    return lines


def _span_number(pair):
    if all(float(value).is_integer() for value in pair):
        return _span((int(pair[0]), int(pair[1])))
    return _fmt(pair[0], 1) if pair[0] == pair[1] else '%s-%s' % (_fmt(pair[0], 1), _fmt(pair[1], 1))


def _removal_lines(results):
    counted = removal_processes(results)
    if counted['forks'] is None:
        return []
    lines = ['', '## Processes started on the guest by a removal', '',
             'The guest kernel\'s count of forks since boot (/proc/stat "processes") read just before and just '
             'after the remove play: every process, whoever started it (the play\'s SSH sessions and shells, the '
             'modules, the tools, their children, udev workers). The idle baseline is the same two reads around '
             'an interval as long as the first run\'s remove play with nothing running (timers, the reads\' own '
             'SSH sessions); it is subtracted unscaled.', '',
             '| removal | forks on the guest (median) | runs | idle baseline | net |', '|---|---:|---|---:|---:|',
             '| remove play, two 4 GiB NVDIMMs | %s | %s | %s | %s |' % (
                 _fmt(counted['forks'], 0), ', '.join(str(count) for count in counted['samples']),
                 '-' if counted['idle'] is None else '%d in %.0f s' % (counted['idle'], counted['idle_seconds']),
                 _fmt(counted['net'], 0))]
    for row in sweep_rows(results):
        if row['remove_processes'] is None:
            continue
        lines.append('| remove play, one %d GiB namespace (size sweep) | %s | %d | %s | %s |' % (
            row['size_gib'], _fmt(row['remove_processes'], 0), row['runs'],
            '-' if counted['idle'] is None else str(counted['idle']), _fmt(row['remove_processes_net'], 0)))
    return lines


def _sweep_lines(results):
    rows = sweep_rows(results)
    if not rows:
        return []
    guest = results.get('sweep_guest', {})
    lines = ['', '## Size sweep: seconds per GiB', '',
             'One guest of its own (%s RAM, %s x %s GiB NVDIMM, the other guests down): per size, the raw commands '
             'with `ndctl create-namespace --size`, the add play with one namespace of that size '
             '(pmem_system_ram_namespaces with an explicit size) and the remove play. Medians over the runs; '
             'seconds per GiB of the namespace size; processes: forks on the guest during the removal, net of the '
             'idle baseline, and of them the processes the modules started.' % (
                 guest.get('ram', '?'), guest.get('nvdimms', '?'), guest.get('nvdimm_gib', '?')), '',
             '| namespace | runs | raw s | raw s/GiB | add play s | add s/GiB | remove play s | remove s/GiB '
             '| removal: forks net | by modules |',
             '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for row in rows:
        lines.append('| %d GiB | %d | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            row['size_gib'], row['runs'], _fmt(row['raw']), _fmt(row['raw_per_gib'], 2), _fmt(row['add']),
            _fmt(row['add_per_gib'], 2), _fmt(row['remove']), _fmt(row['remove_per_gib'], 2),
            _fmt(row['remove_processes_net'] if row['remove_processes_net'] is not None
                 else row['remove_processes'], 0), _fmt(row['remove_module_processes'], 0)))
    slopes = sweep_slopes(rows)
    if slopes:
        lines += ['', 'Each further GiB, from %d to %d GiB (the fixed cost taken out): %s.' % (
            rows[0]['size_gib'], rows[-1]['size_gib'],
            ', '.join('%s %s s' % (LABEL_WORDS[figure], _fmt(slopes[figure], 2))
                      for figure in SWEEP_FIGURES if figure in slopes))]
    return lines


LABEL_WORDS = {'raw': 'raw commands', 'add': 'add play', 'remove': 'remove play'}


def command_line(results):
    """The scripts/bench command that makes such results."""
    runs = results['runs']
    options = results.get('options', {})
    words = ['scripts/bench', '--runs %d' % len(runs),
             '--fleet-runs %d' % sum(1 for run in runs if run.get('fleet') is not None),
             '--guests %d' % results.get('guests', 1)]
    sizes = options.get('sweep') or sorted({sample['size_gib'] for sample in results.get('sweep', [])})
    if sizes:
        words.append('--sweep %s --sweep-runs %d' % (','.join('%dG' % size for size in sizes),
                                                     options.get('sweep_runs', 1)))
    elif 'options' in results:
        words.append('--no-sweep')
    return ' '.join(words)


def markdown(results, notes=''):
    runs = results['runs']
    figures = medians(runs)
    guests = results.get('guests', 1)
    machine = results.get('machine', {})
    checks = ratios(runs, guests)
    lines = ['# Benchmarks', '']
    met = ['%s = %s (target %s%s)' % (name, _fmt(value, 2), target, _verdict(value, limit, ', '))
           for name, value, target, limit in checks if value is not None]
    reads = [state_reads(record) for kind in ('add', 'rerun', 'check', 'remove')
             for record in results.get('modules', {}).get(kind, [])
             if is_own_module(record) and record['module'] not in PERSISTENCE_MODULES]
    add_records = results.get('modules', {}).get('add')
    add_runs = module_runs(add_records, len(runs))['own_besides_persistence'] if add_records else None
    lines.append(
        'Medians of %d run(s) on %s, one Debian %s test-bed guest per host under %s (%d cores, load %s; %s): '
        '%s; add play: %s module run(s) of %s on the host besides persistence (target <= %d%s); processes '
        'started on the guest by a removal of 8 GiB: %s; state reads (`ndctl list` and `daxctl list`) per run of '
        'a pmem.dax module: %s.' % (
            len(runs), results.get('date', '?'), results.get('release', '?'), machine.get('accel', '?').upper(),
            machine.get('cores', 0), machine.get('load_text', '?'), _other_guests(machine), '; '.join(met),
            _span_number(add_runs) if add_runs else '-', OWN_COLLECTION, MODULE_RUNS_TARGET,
            _verdict(add_runs[1], MODULE_RUNS_TARGET, ', ') if add_runs else '',
            _removal_text(results), _span((min(reads), max(reads))) if reads else '-'))
    lines += ['', notes.strip(), ''] if notes.strip() else ['']
    sweep_guest = results.get('sweep_guest')
    lines += [
        '| | |', '|---|---|',
        '| date | %s |' % results.get('date', '?'),
        '| machine | %s cores, %s, %s |' % (machine.get('cores', '?'), machine.get('cpu', '?'),
                                            machine.get('accel', '?').upper()),
        '| load average (1 min) during the run | %s; %s |' % (machine.get('load_text', '?'), _other_guests(machine)),
        '| ansible-core | %s (pipelining on; each play opens its own SSH connections) |'
        % machine.get('ansible_core', '?'),
        '| guests | %d x Debian %s, %s RAM, 2 x 4 GiB NVDIMM, 1 vCPU |'
        % (guests, results.get('release', '?'), results.get('ram', '?')),
    ]
    if sweep_guest:
        lines.append('| size sweep guest | 1 x Debian %s, %s RAM, %s x %s GiB NVDIMM, 1 vCPU, booted after the '
                     'others were shut down |' % (results.get('release', '?'), sweep_guest.get('ram', '?'),
                                                  sweep_guest.get('nvdimms', '?'), sweep_guest.get('nvdimm_gib', '?')))
    lines += [
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
    lines += _module_runs_lines(results, len(runs))
    lines += _removal_lines(results)
    lines += _sweep_lines(results)
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
              'Made by `%s` (raw figures in bench/out/, not kept in git).' % command_line(results), '']
    return '\n'.join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    runs = results['runs']
    figures = medians(runs)
    guests = results.get('guests', 1)
    plays = [play for play in PLAYS if play in figures]
    rows = sweep_rows(results)
    if rows:
        figure, (axes, sweep_axes) = pyplot.subplots(2, 1, figsize=(7, 6.0), dpi=100,
                                                     gridspec_kw={'height_ratios': [3.2, 2.8]})
    else:
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
    if figures:
        axes.set_xlim(0, max(figures.values()) * 1.18)
    if rows:
        for figure_name, style in (('raw', 'o-'), ('add', 's-'), ('remove', '^-')):
            points = [(row['size_gib'], row[figure_name]) for row in rows if row[figure_name] is not None]
            if points:
                sweep_axes.plot([size for size, dummy in points], [seconds for dummy, seconds in points], style,
                                label=LABEL_WORDS[figure_name])
        sweep_axes.set_xticks([row['size_gib'] for row in rows])
        sweep_axes.set_xlabel('namespace size (GiB), size sweep on one guest', fontsize=8)
        sweep_axes.set_ylabel('seconds (median)', fontsize=8)
        sweep_axes.set_ylim(bottom=0)
        sweep_axes.tick_params(labelsize=8)
        sweep_axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
