# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark of issues #6 and #13; run it through scripts/bench (see `scripts/bench --help`).

One run boots GUESTS test-bed guests and, RUNS times on guest1 while the others idle:
  raw     the walk-through's commands (ndctl create-namespace --mode=devdax per region, daxctl
          reconfigure-device --mode=system-ram --no-online, daxctl online-memory) in ONE SSH session,
          then an untimed clean-up;
  add     the add playbook on the now fresh guest; rerun: the same again (no-op); check: again with --check;
  remove  the remove playbook;
and then, in the first FLEET_RUNS runs, the add playbook on all GUESTS at once (forks GUESTS) and an
untimed remove. Around each remove play the guest's fork counter (/proc/stat "processes") is read, and once,
after the first run, over an idle interval as long as that play (the baseline the report subtracts).
Then, unless --no-sweep, the size sweep on a guest of its own (one NVDIMM of the largest size plus 1 GiB, the
other guests down): per size, SWEEP_RUNS times, the raw commands with `ndctl create-namespace --size`, the add
play with one namespace of that size (pmem_system_ram_namespaces), and the remove play with its fork count.
Results: OUT/results.json (every sample, module and task record) and, unless --no-docs, docs/benchmarks.md
and docs/benchmarks.png.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'testbed'))
sys.path.insert(0, os.path.join(ROOT, 'bench'))

import pmemtb  # noqa: E402  pylint: disable=wrong-import-position
import report  # noqa: E402  pylint: disable=wrong-import-position

PROBE_DIR = '/run/pmem-bench'
MOVABLE_RATIO = 5
SWEEP_NAMESPACE = 'pmem-ram-sweep'
# The hand-written reading of the figures (where the time goes, what bounds it), put under the ratios.
NOTES = os.path.join(ROOT, 'bench', 'notes.md')
ANSIBLE_PLAYBOOK = os.path.join(ROOT, '.venv', 'py311', 'bin', 'ansible-playbook')

# The walk-through, with the device names the tools print (names are not stable). Debian 13 onlines
# hot-added memory by itself, which makes --no-online abort: the policy is set to offline around it, as
# the role does. Each step's time inside the guest goes to stderr; the caller times the whole session.
RAW_SCRIPT = r'''
set -e
now() { cut -d' ' -f1 /proc/uptime; }
policy=$(cat /sys/devices/system/memory/auto_online_blocks)
[ "$policy" = offline ] || echo offline > /sys/devices/system/memory/auto_online_blocks
for region in %(regions)s; do
    t=$(now); out=$(ndctl create-namespace --mode=devdax --region="$region" %(size_option)s)
    dev=$(printf '%%s' "$out" | tr -d ' \n' | grep -o '"chardev":"dax[0-9.]*"' | head -1 | cut -d'"' -f4)
    echo "create-namespace $region $t $(now)" >&2
    t=$(now); daxctl reconfigure-device --mode=system-ram --no-online "$dev" >/dev/null
    echo "reconfigure-device $dev $t $(now)" >&2
    t=$(now); daxctl online-memory "$dev" >/dev/null
    echo "online-memory $dev $t $(now)" >&2
done
[ "$policy" = offline ] || echo "$policy" > /sys/devices/system/memory/auto_online_blocks
'''

RAW_CLEANUP = r'''
for dev in $(daxctl list -D | tr -d ' \n' | grep -o '"chardev":"dax[0-9.]*"' | cut -d'"' -f4); do
    daxctl offline-memory "$dev" >/dev/null 2>&1 || true
    daxctl reconfigure-device --mode=devdax "$dev" >/dev/null 2>&1 || true
done
ndctl destroy-namespace --force all >/dev/null 2>&1 || true
test -z "$(ndctl list -N)" || { echo "namespaces left after the clean-up:"; ndctl list -N; exit 1; }
'''


def say(message):
    sys.stdout.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), message))
    sys.stdout.flush()


class LoadSampler(threading.Thread):
    """Every 15 s while the benchmark runs: the 1-minute load average, and the QEMU processes that are not
    the benchmark's own guests (their command line names the test bed's marker under STATE), so the report
    can say whether another guest ran beside it (the sweep's guest comes and goes, a count would not do)."""

    def __init__(self, state):
        super(LoadSampler, self).__init__(daemon=True)
        self.own_marker = 'pmemtb:' + os.path.abspath(state) + os.sep
        self.samples = []
        self.stopped = threading.Event()

    def other_qemu(self):
        listed = subprocess.run(['pgrep', '-a', 'qemu-system'], capture_output=True, text=True, check=False)
        return sum(1 for line in listed.stdout.splitlines() if line.strip() and self.own_marker not in line)

    def run(self):
        while not self.stopped.is_set():
            with open('/proc/loadavg') as loadavg:
                load = float(loadavg.read().split()[0])
            self.samples.append([time.time(), load, self.other_qemu()])
            self.stopped.wait(15)


def machine_facts(accel, sampler):
    with open('/proc/cpuinfo') as cpuinfo:
        models = re.findall(r'^model name\s*:\s*(.*)$', cpuinfo.read(), re.M)
    version = subprocess.run([ANSIBLE_PLAYBOOK, '--version'], capture_output=True, text=True, check=True).stdout
    loads = [sample[1] for sample in sampler.samples]
    others = [sample[2] for sample in sampler.samples]
    return {
        'cores': os.cpu_count(),
        'cpu': models[0].strip() if models else 'unknown',
        'accel': accel,
        'ansible_core': re.search(r'core ([0-9.]+)', version).group(1),
        'load_text': 'median %.1f, range %.1f-%.1f' % (report.median(loads), min(loads), max(loads)) if loads else '?',
        'other_qemu': '%d-%d' % (min(others), max(others)) if others else '?',
        'other_qemu_max': max(others) if others else None,
        'load_samples': len(loads),
    }


def forks_since_boot(guest):
    """The guest kernel's count of processes forked since boot (/proc/stat "processes"): exact, and it
    counts what no probe sees (SSH sessions, shells, udev workers, the tools' own children)."""
    text = guest.run('cat /proc/stat').stdout
    return int(re.search(r'^processes\s+(\d+)$', text, re.M).group(1))


def parse_sweep(text):
    """'2G,4G,8G' -> [2, 4, 8] (whole GiB, as the test bed sizes its NVDIMMs), sorted, no repeats."""
    try:
        sizes = sorted({pmemtb.parse_gib(size) for size in text.split(',') if size.strip()})
    except pmemtb.TestbedError as error:
        raise argparse.ArgumentTypeError(str(error))
    if not sizes:
        raise argparse.ArgumentTypeError('no size in %r' % text)
    return sizes


class Bench(object):
    def __init__(self, args, state, out):
        self.args = args
        self.state = state
        self.out = out
        self.guests = []
        self.guest_state = None
        self.accel = None
        self.results = {'runs': [], 'modules': {}, 'tasks': {}, 'guests': args.guests, 'release': args.release,
                        'ram': args.ram, 'raw_steps': [], 'processes': {'remove': [], 'idle': []}}

    # ------------------------------------------------------------------ guests
    def up(self, guest_state, count, nvdimms=2, nvdimm_gib=4):
        """Boot COUNT guests in GUEST_STATE (under self.state, so the load sampler knows them as ours)."""
        command = [sys.executable, os.path.join(ROOT, 'testbed', 'pmemtb.py'), 'up', '--state', guest_state,
                   '--guests', str(count), '--release', self.args.release, '--ram', self.args.ram,
                   '--nvdimms', str(nvdimms), '--nvdimm-size', '%dG' % nvdimm_gib]
        self.guest_state = guest_state
        subprocess.run(command, check=True)
        self.guests = pmemtb.load_guests(guest_state)
        self.accel = self.guests[0].accel
        for guest in self.guests:
            self.instrument(guest)

    def down(self):
        if self.guest_state:
            subprocess.run([sys.executable, os.path.join(ROOT, 'testbed', 'pmemtb.py'), 'down', '--state',
                            self.guest_state], check=False)
            self.guest_state = None

    def instrument(self, guest):
        """Install the probe (bench/guest_probe.py, imported by every python3 through a .pth file)."""
        with open(os.path.join(ROOT, 'bench', 'guest_probe.py')) as probe:
            source = probe.read()
        guest.run('site=$(python3 -c "import site; print(site.getsitepackages()[0])") && mkdir -p "$site" %s'
                  ' && cat > "$site/pmem_bench_probe.py" && echo "import pmem_bench_probe" > "$site/pmem_bench_probe.pth"'
                  % PROBE_DIR, input=source)

    def collect_modules(self, guest):
        """The module records of the last play on a guest, and an empty log for the next."""
        text = guest.run('cat %s/modules.jsonl 2>/dev/null; rm -f %s/modules.jsonl' % (PROBE_DIR, PROBE_DIR)).stdout
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    # ------------------------------------------------------------------ the figures
    def time_raw(self, guest, size_gib=None):
        """The walk-through's commands on every region, or with SIZE_GIB one namespace of that size on the first."""
        regions = guest.run("ndctl list -R | tr -d ' \\n' | grep -o '\"dev\":\"region[0-9]*\"' | cut -d'\"' -f4"
                            ).stdout.split()
        script = RAW_SCRIPT % {'regions': ' '.join(regions if size_gib is None else regions[:1]),
                               'size_option': '' if size_gib is None else '--size=%dG' % size_gib}
        command = guest.ssh_command(script)
        started = time.time()
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)
        seconds = time.time() - started
        if result.returncode != 0:
            raise RuntimeError('raw commands failed (rc %d): %s' % (result.returncode, result.stderr))
        steps = [line.split() for line in result.stderr.splitlines() if len(line.split()) == 4]
        steps = [[step, target, float(end) - float(begin)] for step, target, begin, end in steps]
        if size_gib is None:
            self.results['raw_steps'].append(steps)
        guest.run(RAW_CLEANUP, timeout=900)
        return seconds

    def play(self, kind, playbook, limit, check=False, forks=1, extra_vars=None):
        task_log = os.path.join(self.out, 'tasks-%s-%d.jsonl' % (kind, len(self.results['runs'])))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build'),
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, 'bench', 'callback_plugins'),
                   ANSIBLE_CALLBACKS_ENABLED='pmem_bench_tasks', PMEM_BENCH_TASK_LOG=task_log,
                   ANSIBLE_HOST_KEY_CHECKING='false', ANSIBLE_PIPELINING='true', ANSIBLE_LOCALHOST_WARNING='false',
                   ANSIBLE_FORKS=str(forks),
                   # Each play opens its own SSH connections (as a user's first play of the day does), so no
                   # figure rides on a master connection that an earlier play left open.
                   ANSIBLE_SSH_CONTROL_PATH_DIR=tempfile.mkdtemp(prefix='cp-', dir=self.state))
        # The guests are reached as root and have no sudo (as in scripts/demo). 2 GiB of DRAM against 7.8 GiB
        # hot-plugged is above the role's default 3:1 movable:kernel ceiling: raised, so the check still runs.
        extra_vars = dict({'ansible_become': False, 'pmem_system_ram_max_movable_ratio': MOVABLE_RATIO},
                          **(extra_vars or {}))
        command = [ANSIBLE_PLAYBOOK, '-i', os.path.join(self.guest_state, 'inventory.yml'),
                   '-e', json.dumps(extra_vars), '--limit', limit, playbook] + (['--check'] if check else [])
        log_path = os.path.join(self.out, 'play-%s-%d.log' % (kind, len(self.results['runs'])))
        with open(log_path, 'w') as log:
            started = time.time()
            result = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
            seconds = time.time() - started
        if result.returncode != 0:
            raise RuntimeError('%s play failed (rc %d), see %s' % (kind, result.returncode, log_path))
        if os.path.exists(task_log):
            with open(task_log) as tasks:
                self.results['tasks'].setdefault(kind, []).append([json.loads(line) for line in tasks])
        return seconds

    def counted_remove(self, kind, guest, extra_vars=None):
        """The remove play, and the processes forked on GUEST while it ran."""
        before = forks_since_boot(guest)
        seconds = self.play(kind, 'pmem.dax.system_ram_remove', guest.name, extra_vars=extra_vars)
        return seconds, forks_since_boot(guest) - before

    def idle_forks(self, guest, seconds):
        """Forks over an idle interval of SECONDS, read the same way as around a play: the guest's own
        background (timers, journald) and the two reads' SSH sessions, for the report to subtract."""
        before = forks_since_boot(guest)
        time.sleep(seconds)
        self.results['processes']['idle'].append({'seconds': seconds, 'processes': forks_since_boot(guest) - before})

    def one_run(self):
        first = self.guests[0]
        run = {}
        index = len(self.results['runs'])
        self.collect_modules(first)
        run['raw'] = self.time_raw(first)
        say('raw commands: %.1f s' % run['raw'])
        for kind, playbook, check in (('add', 'pmem.dax.system_ram_add', False),
                                      ('rerun', 'pmem.dax.system_ram_add', False),
                                      ('check', 'pmem.dax.system_ram_add', True),
                                      ('remove', 'pmem.dax.system_ram_remove', False)):
            self.collect_modules(first)
            if kind == 'remove':
                run[kind], processes = self.counted_remove(kind, first)
                self.results['processes']['remove'].append(processes)
            else:
                run[kind] = self.play(kind, playbook, first.name, check=check)
            records = self.collect_modules(first)
            for record in records:
                record['run'] = index
            self.results['modules'].setdefault(kind, []).extend(records)
            say('%s play: %.1f s%s' % (kind, run[kind], ', %d processes forked on the guest' % processes
                                       if kind == 'remove' else ''))
        if not self.results['processes']['idle']:
            self.idle_forks(first, run['remove'])
            say('idle baseline: %d processes forked in %.0f s' % (
                self.results['processes']['idle'][-1]['processes'], run['remove']))
        if len(self.guests) > 1 and len(self.results['runs']) < self.args.fleet_runs:
            run['fleet'] = self.play('fleet', 'pmem.dax.system_ram_add', 'all', forks=len(self.guests))
            say('add play on %d guests: %.1f s' % (len(self.guests), run['fleet']))
            self.play('fleet-remove', 'pmem.dax.system_ram_remove', 'all', forks=len(self.guests))
        return run

    # ------------------------------------------------------------------ the size sweep
    def sweep_vars(self, size_gib):
        """One namespace of SIZE_GIB on the sweep guest's region, and a movable:kernel ceiling above what it
        makes against the guest's RAM (the role's default 3:1 would refuse the larger sizes)."""
        ram_gib = pmemtb.parse_gib(self.args.ram)
        return {'pmem_system_ram_namespaces': [{'name': SWEEP_NAMESPACE, 'region': 'region0',
                                                'size': '%dGiB' % size_gib}],
                'pmem_system_ram_max_movable_ratio': max(MOVABLE_RATIO, -(-size_gib // ram_gib) + 1)}

    def sweep(self, sizes, runs, save):
        """Each size RUNS times on one guest whose single NVDIMM holds the largest size: raw commands, add
        play, remove play (with its fork count). SAVE is called after each size, so a sweep cut short keeps
        what it measured."""
        nvdimm_gib = max(sizes) + 1
        self.results['sweep_guest'] = {'nvdimms': 1, 'nvdimm_gib': nvdimm_gib, 'ram': self.args.ram}
        samples = self.results.setdefault('sweep', [])
        self.up(os.path.join(self.state, 'sweep'), 1, nvdimms=1, nvdimm_gib=nvdimm_gib)
        guest = self.guests[0]
        for index in range(runs):
            for size_gib in sizes:
                say('sweep run %d of %d, %d GiB' % (index + 1, runs, size_gib))
                sample = {'size_gib': size_gib, 'run': index}
                samples.append(sample)
                extra_vars = self.sweep_vars(size_gib)
                sample['raw'] = self.time_raw(guest, size_gib)
                self.collect_modules(guest)
                sample['add'] = self.play('sweep-add-%dG' % size_gib, 'pmem.dax.system_ram_add', guest.name,
                                          extra_vars=extra_vars)
                self.collect_modules(guest)
                sample['remove'], sample['remove_processes'] = self.counted_remove(
                    'sweep-remove-%dG' % size_gib, guest, extra_vars=extra_vars)
                sample['remove_module_processes'] = sum(len(record.get('processes', []))
                                                        for record in self.collect_modules(guest))
                say('  raw %.1f s, add %.1f s, remove %.1f s (%d processes forked)' % (
                    sample['raw'], sample['add'], sample['remove'], sample['remove_processes']))
                save()


def write_docs(results, docs):
    notes = ''
    if os.path.exists(NOTES):
        with open(NOTES) as source:
            notes = source.read()
    with open(os.path.join(docs, 'benchmarks.md'), 'w') as markdown:
        markdown.write(report.markdown(results, notes))
    report.plot(results, os.path.join(docs, 'benchmarks.png'))
    say('wrote %s and %s' % (os.path.join(docs, 'benchmarks.md'), os.path.join(docs, 'benchmarks.png')))


def main():
    parser = argparse.ArgumentParser(prog='scripts/bench', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=3, help='runs of each figure, the median is reported (default 3)')
    parser.add_argument('--guests', type=int, default=4, help='guests for the fleet figure; 1 skips it (default 4)')
    parser.add_argument('--fleet-runs', type=int, default=2,
                        help='runs (the first ones) that also time the fleet figure, the slowest (default 2)')
    parser.add_argument('--release', default='bookworm', choices=('bookworm', 'trixie'))
    parser.add_argument('--ram', default='2G', help='guest RAM on node 0 (default 2G)')
    parser.add_argument('--sweep', type=parse_sweep, default=parse_sweep('2G,4G,8G'), metavar='SIZES',
                        help='namespace sizes of the size sweep, whole GiB (default 2G,4G,8G); its guest gets one '
                             'NVDIMM of the largest size plus 1 GiB')
    parser.add_argument('--no-sweep', dest='sweep', action='store_const', const=None, help='skip the size sweep')
    parser.add_argument('--sweep-runs', type=int, default=1, help='runs of each sweep size (default 1)')
    parser.add_argument('--docs', default=os.path.join(ROOT, 'docs'), help='where benchmarks.md/.png go')
    parser.add_argument('--no-docs', action='store_true', help='only write bench/out/<run>/results.json')
    parser.add_argument('--report-only', metavar='RESULTS_JSON', help='remake the docs from saved results')
    args = parser.parse_args()

    if args.report_only:
        with open(args.report_only) as saved:
            results = json.load(saved)
        write_docs(results, args.docs)
        return 0

    # A kill or a background job's lost terminal still takes the guests down (the finally below).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda signum, frame: sys.exit(128 + signum))
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out = os.path.join(ROOT, 'bench', 'out', stamp.strftime('%Y%m%dT%H%M%SZ'))
    os.makedirs(out)
    state = tempfile.mkdtemp(prefix='pmem-bench.', dir='/tmp')
    os.environ['PMEM_TESTBED_RUNTIME'] = os.path.join(state, 'runtime')
    bench = Bench(args, state, out)
    bench.results['options'] = {'runs': args.runs, 'fleet_runs': args.fleet_runs, 'guests': args.guests,
                                'sweep': args.sweep, 'sweep_runs': args.sweep_runs if args.sweep else 0}
    sampler = LoadSampler(state)

    def save():
        # Complete after every step, so a benchmark cut short still makes a report (--report-only).
        bench.results.update(date=stamp.strftime('%Y-%m-%d %H:%M UTC'), load=sampler.samples,
                             machine=machine_facts(bench.accel, sampler))
        with open(os.path.join(out, 'results.json'), 'w') as saved:
            json.dump(bench.results, saved, indent=1)

    try:
        say('booting %d %s guest(s) with %s RAM each' % (args.guests, args.release, args.ram))
        bench.up(os.path.join(state, 'main'), args.guests)
        sampler.start()
        for index in range(args.runs):
            say('run %d of %d' % (index + 1, args.runs))
            bench.results['runs'].append(bench.one_run())
            save()
        bench.down()
        if args.sweep:
            say('size sweep %s, %d run(s), on a guest of its own' % (
                ', '.join('%d GiB' % size for size in args.sweep), args.sweep_runs))
            bench.sweep(args.sweep, args.sweep_runs, save)
    except BaseException:
        say('failed; the guests\' console logs stay in %s' % state)
        if bench.accel:
            save()
        raise
    finally:
        sampler.stopped.set()
        bench.down()
    shutil.rmtree(state, ignore_errors=True)
    save()
    results = bench.results
    say('results: %s' % os.path.join(out, 'results.json'))
    if not args.no_docs:
        write_docs(results, args.docs)
    return 0


if __name__ == '__main__':
    sys.exit(main())
