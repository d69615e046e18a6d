# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plan and carry out changes to the memory of a dax device, for dax_mode and dax_memory.

The planners (:func:`plan_mode`, :func:`plan_memory`) are pure: they take a :class:`DaxDevice`
snapshot and the host's free memory and return a ``_state.Plan`` whose actions, commands and diff
are what the real run then does. :class:`MemoryExecutor` carries a plan out and decides from
re-read sysfs state after every step, never from a command's exit code: daxctl's exit codes do not
say what happened (rc 1 "already online", rc 240 EBUSY, rc 250 ENXIO; see docs/ndctl-daxctl-behaviour.md).

Memory goes offline one block at a time through sysfs (``/sys/.../memoryN/state``), each write
bounded by what is left of ``timeout`` (the kernel keeps retrying migration until interrupted). The
writes of one pass over a device's blocks are made by one process (:data:`WRITE_BLOCKS_PROGRAM`), so
that a removal starts a process per pass, not per block. Blocks that stay busy are retried
``retries`` times; on failure the blocks this run took offline are put back online in the zone they
were in (one more such process), unless the caller asked to leave them offline.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import collections
import json
import re
import sys
import time

from ansible_collections.pmem.dax.plugins.module_utils._cli import CliError, CliRunner
from ansible_collections.pmem.dax.plugins.module_utils._lock import LOCK_GRACE_SECONDS, host_lock
from ansible_collections.pmem.dax.plugins.module_utils._sizes import format_size
from ansible_collections.pmem.dax.plugins.module_utils._state import Action, HostState, Plan
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import (
    AUTO_ONLINE_OFF, AUTO_ONLINE_PATH, ONLINE_KERNEL, ONLINE_MOVABLE, Sysfs, validate_dax, write_auto_online)

ZONE_MOVABLE = 'Movable'
ZONE_NORMAL = 'Normal'
# What to write to memoryN/state to online a block in a zone; for any other zone (DMA32 on small
# hosts) "online" lets the kernel choose, which puts it back where it was.
ONLINE_COMMAND = {ZONE_MOVABLE: ONLINE_MOVABLE, ZONE_NORMAL: ONLINE_KERNEL}

MODE_SYSTEM_RAM = 'system-ram'
MODE_DEVDAX = 'devdax'

# After offlining, the host has (free memory now - bytes offlined) free, whichever node the pages in
# use sit on: they migrate into free memory elsewhere, and the free pages on the blocks go away with
# them. That must stay above the kernel's watermarks with room to spare, or offlining stalls and the
# OOM killer runs (both seen on the test guests). The margin is three times vm.min_free_kbytes (the
# high watermarks sit at about 1.25-1.5 times it) and never under 128 MiB.
MIN_MARGIN_BYTES = 128 * 1024 * 1024
MARGIN_MIN_FREE_FACTOR = 3

# Seconds between two passes over the blocks that stayed busy.
RETRY_PAUSE = 2

# Kernel log lines that say why a block would not go offline.
KERNEL_REASON_RE = re.compile(r'offlin|unmovable|isolat|migrat', re.IGNORECASE)
KERNEL_RANGE_RE = re.compile(r'\[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\]', re.IGNORECASE)

DEVICE_KEYS = ('chardev', 'mode', 'namespace', 'name', 'target_node', 'size', 'block_size')

MEMORY_DIR = '/sys/devices/system/memory'

# One pass over memory blocks is one process: the module's own interpreter running this program, with
# the request as JSON on stdin ({"directory", "writes": [[index, value], ...], "seconds": time left or
# null}) and one JSON line out per block ({"block", "result": done | timeout | error | not_tried,
# "seconds", "budget", "errno", "error"}), written as each block is done.
# Why a program and not `tee`: a block's write must be bounded by the time left and its outcome told
# apart from its neighbours'. One `timeout ... tee` per block did both at a fork/exec per 128 MiB (768
# to 12,000 processes for a 1.5 TB host); `tee` with several files would be one process but says
# nothing per file and cannot bound each write. The bound is an interval timer around the write: the
# kernel retries migration until a signal is pending and then fails the write with EINTR, which the
# handler turns into "timeout" (raising, so that Python does not retry the write). The program bounds
# itself, so no `timeout` process wraps it; nothing it runs could outlast a signal that the timer
# cannot deliver. A block reached with less than a second left is not tried, as before.
# The first line names the program in `ps` and in the unit tests.
WRITE_BLOCKS_PROGRAM = '''# pmem.dax: write memory block states
import errno, json, os, signal, sys, time


class OutOfTime(Exception):
    pass


def out_of_time(signum, frame):
    raise OutOfTime()


signal.signal(signal.SIGALRM, out_of_time)
request = json.load(sys.stdin)
deadline = None if request['seconds'] is None else time.monotonic() + request['seconds']
for index, value in request['writes']:
    report = {'block': index}
    started = time.monotonic()
    budget = None if deadline is None else deadline - started
    if budget is not None and budget < 1:
        report['result'] = 'not_tried'
    else:
        try:
            if budget is not None:
                signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                handle = os.open('%s/memory%d/state' % (request['directory'], index), os.O_WRONLY)
                try:
                    os.write(handle, value.encode())
                finally:
                    os.close(handle)
                report['result'] = 'done'
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except OutOfTime:
            report['result'] = 'timeout'
        except OSError as exc:
            report.update(result='error', errno=errno.errorcode.get(exc.errno, str(exc.errno)),
                          error=exc.strerror)
        report['seconds'] = round(time.monotonic() - started, 3)
        if budget is not None:
            report['budget'] = int(budget)
    sys.stdout.write(json.dumps(report) + '\\n')
    sys.stdout.flush()
'''

# How a pass appears in ``commands``: this name, then each value written with the blocks it went to.
WRITE_BLOCKS_COMMAND = 'write_memory_blocks'


def block_state_path(index):
    return '%s/memory%d/state' % (MEMORY_DIR, index)


def write_blocks_command(writes):
    """The ``commands`` entry of one pass: [write_memory_blocks, value, blocks, value, blocks...], each
    value with the blocks it is written to (compact ranges), values in the order they first come."""
    grouped = collections.OrderedDict()
    for block, value in writes:
        grouped.setdefault(value, []).append(block)
    argv = [WRITE_BLOCKS_COMMAND]
    for value, blocks in grouped.items():
        argv += [value, block_ranges(blocks)]
    return argv


class MemoryBlock(collections.namedtuple('MemoryBlock', ['index', 'online', 'zone'])):
    """One memory block of a device; ``zone`` is the zone it is online in (None while offline)."""

    __slots__ = ()

    @property
    def name(self):
        return 'memory%d' % self.index


class DaxDevice(collections.namedtuple('DaxDevice', ['info', 'mode', 'blocks'])):
    """A dax device as the planners see it.

    ``info`` is the ``HostState.device()`` dict (identity, size, ``block_indices``: the whole blocks
    inside its range, which kmem adds in system-ram mode); ``mode`` system-ram, devdax or None (no
    driver); ``blocks`` the memory blocks that exist (none in devdax mode), in address order.
    """

    __slots__ = ()

    @property
    def chardev(self):
        return self.info['chardev']

    @property
    def block_size(self):
        return self.info['block_size'] or 0

    def online_blocks(self):
        return [block for block in self.blocks if block.online]

    def offline_blocks(self):
        return [block for block in self.blocks if not block.online]

    def with_blocks(self, blocks):
        """A copy with ``blocks`` (MemoryBlocks) replacing the blocks of the same index."""
        changes = dict((block.index, block) for block in blocks)
        return self._replace(blocks=tuple(changes.get(block.index, block) for block in self.blocks))


def _memory_block(raw):
    return MemoryBlock(raw['index'], raw['state'] == 'online', raw['zone'])


def device_from_state(state, chardev):
    """The :class:`DaxDevice` for ``chardev`` in a ``HostState``, or None."""
    info = state.dax_device(chardev)
    if info is None:
        return None
    blocks = state.device_blocks(chardev) if info['mode'] == MODE_SYSTEM_RAM else []
    return DaxDevice(info, info['mode'], tuple(_memory_block(raw) for raw in blocks))


def reread_device(sysfs, device):
    """The device's mode and memory blocks read again from sysfs (no CLI runs: cheap, and the truth)."""
    current = sysfs.dax_devices().get(device.chardev)
    if current is None:
        return device._replace(mode=None, blocks=())
    mode = current['mode']
    blocks = ()
    if mode == MODE_SYSTEM_RAM:
        found = sysfs.memory_blocks(device.info['block_indices'])
        blocks = tuple(_memory_block(found[index]) for index in sorted(found))
    return device._replace(mode=mode, blocks=blocks)


def device_facts(device):
    """The ``device`` dict of docs/design.md, computed from blocks (also for predicted devices)."""
    online = device.online_blocks()
    zones = sorted(set(block.zone for block in online if block.zone))
    if device.mode == MODE_SYSTEM_RAM:
        total = len(device.blocks)
    else:
        # As HostState counts it: the blocks kmem would add.
        total = len(device.info['block_indices'])
    facts = dict((key, device.info.get(key)) for key in DEVICE_KEYS)
    facts.update(
        mode=device.mode,
        online_blocks=len(online),
        total_blocks=total,
        online_bytes=len(online) * device.block_size,
        total_bytes=total * device.block_size,
        zones=zones,
        movable=(zones == [ZONE_MOVABLE]) if online else None,
    )
    return facts


HostMemory = collections.namedtuple('HostMemory', ['free_bytes', 'min_free_bytes'])


def read_host_memory(sysfs):
    """Free memory of the whole host (MemFree summed over the NUMA nodes) and vm.min_free_kbytes."""
    nodes = sysfs.nodes()
    if nodes:
        free = sum(sysfs.node_meminfo(node).get('MemFree', 0) for node in nodes)
    else:
        free = sysfs.meminfo().get('MemFree', 0)
    min_free_kbytes = sysfs.read('proc/sys/vm/min_free_kbytes')
    return HostMemory(free, int(min_free_kbytes) * 1024 if min_free_kbytes and min_free_kbytes.isdigit() else 0)


def count(items, noun):
    return '%d %s%s' % (len(items), noun, '' if len(items) == 1 else 's')


def block_ranges(blocks):
    """memory40-memory46, memory50: compact block names for messages."""
    ranges = []
    for index in sorted(block.index for block in blocks):
        if ranges and ranges[-1][1] == index - 1:
            ranges[-1][1] = index
        else:
            ranges.append([index, index])
    return ', '.join('memory%d' % low if low == high else 'memory%d-memory%d' % (low, high)
                     for low, high in ranges)


def offline_room_error(device, blocks, host_memory):
    """None when the host has room for offlining ``blocks``, else the refusal with its figures."""
    if host_memory is None or not blocks:
        return None
    offline_bytes = len(blocks) * device.block_size
    margin = max(MIN_MARGIN_BYTES, MARGIN_MIN_FREE_FACTOR * host_memory.min_free_bytes)
    left = host_memory.free_bytes - offline_bytes
    if left >= margin:
        return None
    margin_text = '%s (3 x vm.min_free_kbytes, at least 128 MiB)' % format_size(margin)
    if left >= 0:
        shortfall = 'which would leave %s, under the safety margin of %s' % (format_size(left), margin_text)
    else:  # "would leave 0 B" would hide how far off it is
        shortfall = '%s more than it has free, before the safety margin of %s' % (format_size(-left), margin_text)
    return ('refusing to offline %s (%s) of %s: the host has %s free and offlining takes %s away, %s. The '
            'pages in use would have nowhere to go: offlining would hang or wake the OOM killer. Free at '
            'least %s (stop what uses the memory, drop caches), then run again.'
            % (count(blocks, 'memory block'), format_size(offline_bytes), device.chardev,
               format_size(host_memory.free_bytes), format_size(offline_bytes), shortfall,
               format_size(margin - left)))


class _Planner(object):
    """Builds a plan step by step, keeping the device as it will be after the steps so far."""

    def __init__(self, device, host_memory):
        self.device = device
        self.expected = device
        self.host_memory = host_memory
        self.actions = []
        self.error = None
        self.warnings = []
        self.misplaced = []

    def plan(self):
        return Plan(actions=self.actions, before=device_facts(self.device),
                    after=device_facts(self.expected), error=self.error, warnings=self.warnings)

    def check_bound(self):
        """An error for a device without a driver; True when the device can be worked on."""
        if self.device.mode is None:
            self.error = ('%s has no driver bound (neither device_dax nor kmem): see dmesg, then bind it '
                          'with "daxctl enable-device %s"' % (self.device.chardev, self.device.chardev))
        return self.error is None

    def _write(self, path, value, name, description):
        self.actions.append(Action('command', ['tee', path], description, name=name, data=value))

    def hold_auto_online(self, policy):
        self._write(AUTO_ONLINE_PATH, AUTO_ONLINE_OFF, 'hold_auto_online',
                    'set auto_online_blocks from "%s" to offline while %s is hot-plugged, so that its '
                    'memory goes to the zone asked for' % (policy, self.device.chardev))

    def restore_auto_online(self, policy):
        self._write(AUTO_ONLINE_PATH, policy, 'restore_auto_online',
                    'restore auto_online_blocks to "%s"' % policy)

    def _daxctl(self, args, name, description):
        self.actions.append(Action('command', ['daxctl'] + args, description, name=name))

    def to_system_ram(self):
        chardev = self.device.chardev
        self._daxctl(['reconfigure-device', '--mode=system-ram', '--no-online', chardev], 'to_system_ram',
                     'hot-plug %s as system-ram (%s), memory left offline'
                     % (chardev, count(self.device.info['block_indices'], 'memory block')))
        blocks = tuple(MemoryBlock(index, False, None) for index in self.device.info['block_indices'])
        self.expected = self.expected._replace(mode=MODE_SYSTEM_RAM, blocks=blocks)

    def online(self, zone):
        chardev = self.device.chardev
        offline = self.expected.offline_blocks()
        self._daxctl(['online-memory', chardev] + ([] if zone == ZONE_MOVABLE else ['--no-movable']), 'online',
                     'online %s of %s (%s) in zone %s' % (count(offline, 'memory block'), chardev,
                                                          block_ranges(offline), zone))
        self.expected = self.expected.with_blocks(MemoryBlock(block.index, True, zone) for block in offline)

    def offline(self, blocks):
        self.error = self.error or offline_room_error(self.device, blocks, self.host_memory)
        zones = sorted(set(block.zone for block in blocks if block.zone))
        description = 'offline %s of %s (%s; zone%s %s)' % (
            count(blocks, 'memory block'), self.device.chardev, block_ranges(blocks),
            '' if len(zones) == 1 else 's', ', '.join(zones))
        # One action (one process) for all blocks; ``data`` the blocks, with the zone each is in.
        self.actions.append(Action('command', write_blocks_command((block, 'offline') for block in blocks),
                                   description, name='offline', data=tuple(blocks)))
        self.expected = self.expected.with_blocks(MemoryBlock(block.index, False, None) for block in blocks)

    def to_devdax(self):
        chardev = self.device.chardev
        self._daxctl(['reconfigure-device', '--mode=devdax', chardev], 'to_devdax',
                     'return %s to devdax mode' % chardev)
        self.expected = self.expected._replace(mode=MODE_DEVDAX, blocks=())

    def all_online(self, zone, relocate):
        """Steps that bring all memory of a system-ram device online, new blocks in ``zone``."""
        misplaced = [block for block in self.expected.online_blocks() if block.zone != zone]
        if misplaced and not relocate:
            self.misplaced = misplaced
            self.warnings.append(
                '%s of %s (%s) %s online in zone %s, not %s as asked, and %s left there: set relocate=true '
                'to move %s (offline, then online in %s)'
                % (count(misplaced, 'memory block'), self.device.chardev, block_ranges(misplaced),
                   'is' if len(misplaced) == 1 else 'are', '/'.join(sorted(set(b.zone for b in misplaced))),
                   zone, 'was' if len(misplaced) == 1 else 'were', 'it' if len(misplaced) == 1 else 'them',
                   zone))
        elif misplaced:
            self.offline(misplaced)
        if self.expected.offline_blocks():
            self.online(zone)


def wanted_zone(movable):
    return ZONE_MOVABLE if movable else ZONE_NORMAL


def plan_memory(device, state, movable=True, relocate=False, host_memory=None):
    """dax_memory: ``state`` online (new blocks in the zone ``movable`` asks for) or offline.

    Returns ``(plan, misplaced)``: misplaced are the online blocks left in another zone than asked.
    """
    planner = _Planner(device, host_memory)
    if not planner.check_bound():
        return planner.plan(), []
    if device.mode != MODE_SYSTEM_RAM:
        if state == 'online':
            planner.error = ('%s is in %s mode, so none of its memory is hot-plugged: make it system-ram '
                             'first (pmem.dax.dax_mode mode=system-ram)' % (device.chardev, device.mode))
        # devdax memory is not system RAM: "offline" already holds.
    elif state == 'online':
        planner.all_online(wanted_zone(movable), relocate)
    elif device.online_blocks():
        planner.offline(device.online_blocks())
    return planner.plan(), planner.misplaced


def plan_mode(device, mode, online=True, movable=True, relocate=False, host_memory=None, auto_online=None):
    """dax_mode: ``mode`` system-ram (memory onlined in the zone ``movable`` asks for when ``online``)
    or devdax (memory offlined first, with the dax_memory rules).

    ``auto_online`` is the host's auto_online_blocks policy. When it would online hot-plugged memory
    by itself (Debian 13 does), the kernel would pick the zone: it is set to offline while the device
    is hot-plugged and restored afterwards. ``online=false`` hot-plugs without onlining and never
    offlines memory that is online (dax_memory state=offline does that).

    Returns ``(plan, misplaced)`` as :func:`plan_memory`.
    """
    planner = _Planner(device, host_memory)
    if not planner.check_bound():
        return planner.plan(), []
    zone = wanted_zone(movable)
    if mode == MODE_SYSTEM_RAM and device.mode == MODE_SYSTEM_RAM:
        if online:
            planner.all_online(zone, relocate)
    elif mode == MODE_SYSTEM_RAM:
        if not device.info['block_indices']:
            planner.error = ('%s (%s) holds no whole memory block of %s: kmem can only hot-plug whole, '
                             'aligned blocks. Make the namespace larger (at least %s).'
                             % (device.chardev, format_size(device.info['size'] or 0),
                                format_size(device.block_size), format_size(2 * device.block_size)))
            return planner.plan(), []
        guard = auto_online and auto_online != AUTO_ONLINE_OFF
        if guard:
            planner.hold_auto_online(auto_online)
        planner.to_system_ram()
        if online:
            planner.online(zone)
        if guard:
            planner.restore_auto_online(auto_online)
    elif device.mode == MODE_SYSTEM_RAM:
        if device.online_blocks():
            planner.offline(device.online_blocks())
        planner.to_devdax()
    return planner.plan(), planner.misplaced


class MemoryOperationError(Exception):
    """A step failed; ``details`` go to fail_json next to the message (busy_blocks, cmd, rc, ...)."""

    def __init__(self, message, **details):
        super(MemoryOperationError, self).__init__(message)
        self.message = message
        self.details = details


class MemoryExecutor(object):
    """Carries out a plan from :func:`plan_mode` / :func:`plan_memory` on the host.

    ``runner`` is the CliRunner; ``sysfs`` the Sysfs reader; ``device`` the DaxDevice the plan was made
    from. ``commands`` lists what ran, in the form of the plan's commands.
    """

    def __init__(self, runner, sysfs, device, timeout=120, retries=3, leave_partial=False):
        self.runner = runner
        self.sysfs = sysfs
        self.device = device
        self.timeout = timeout
        self.retries = retries
        self.leave_partial = leave_partial
        self.warnings = []
        # What ran, in the form of the plan's commands (what check mode predicts).
        self.commands = []
        # Blocks this run took offline, with the zone each was online in: what a rollback restores.
        self._taken_offline = []
        self._policy_held = False

    def execute(self, plan):
        actions = plan.actions
        position = 0
        try:
            while position < len(actions):
                getattr(self, '_' + actions[position].name)(actions[position])
                position += 1
        except Exception:
            # Whatever failed after the policy was changed, it goes back to what it was.
            if self._policy_held:
                for action in actions[position + 1:]:
                    if action.name == 'restore_auto_online':
                        self._restore_auto_online(action)
            raise

    def reread(self):
        self.device = reread_device(self.sysfs, self.device)
        return self.device

    # -- steps ---------------------------------------------------------------------------------

    def _run(self, action, timeout=None):
        return self._change(action.argv, action.data, timeout)

    def _change(self, argv, data=None, timeout=None):
        """Run a changing command; sysfs paths are recorded as /sys/..., whatever root sysfs reads under."""
        self.commands.append(list(argv))
        tool, args = argv[0], list(argv[1:])
        if tool == 'tee':
            args = [self.sysfs.path(args[0])]
        return self.runner.run_change(tool, args, timeout=timeout, data=data)

    def _set_auto_online(self, action):
        self.commands.append(list(action.argv))
        return write_auto_online(self.runner, self.sysfs, action.data)

    def _hold_auto_online(self, action):
        result = self._set_auto_online(action)
        if self.sysfs.auto_online_blocks() != AUTO_ONLINE_OFF:
            raise MemoryOperationError(
                'could not set %s to offline before hot-plugging %s (%s): the kernel would online its memory '
                'in a zone of its own choosing' % (AUTO_ONLINE_PATH, self.device.chardev, _output(result)),
                **_cli_details(result))
        self._policy_held = True

    def _restore_auto_online(self, action):
        result = self._set_auto_online(action)
        if self.sysfs.auto_online_blocks() != action.data:
            self.warnings.append('could not restore %s to "%s" (%s): set it back by hand'
                                 % (AUTO_ONLINE_PATH, action.data, _output(result)))

    def _to_system_ram(self, action):
        result = self._run(action)
        device = self.reread()
        if device.mode != MODE_SYSTEM_RAM or not device.blocks:
            raise MemoryOperationError(
                'could not hot-plug %s as system-ram (mode now %s, %s): %s. kmem needs a valid target_node '
                'and kernel memory hot-plug support; see dmesg'
                % (device.chardev, device.mode, count(device.blocks, 'memory block'), _output(result)),
                **_cli_details(result))
        if device.online_blocks():
            # Not the kernel policy (held at offline): something else, such as a udev rule.
            self.warnings.append('%s of %s went online as soon as it was hot-plugged (zones %s), probably '
                                 'through a udev rule: their zone was not chosen by this module'
                                 % (count(device.online_blocks(), 'memory block'), device.chardev,
                                    ', '.join(device_facts(device)['zones'])))

    def _online(self, action):
        result = self._run(action)
        device = self.reread()
        still_offline = device.offline_blocks()
        if still_offline:
            # rc 1 ("already online") is no error; blocks left offline are.
            raise MemoryOperationError(
                '%s of %s stayed offline (%s) after daxctl online-memory: %s'
                % (count(still_offline, 'memory block'), device.chardev, block_ranges(still_offline),
                   _output(result)),
                offline_blocks=[block.name for block in still_offline], **_cli_details(result))

    def _to_devdax(self, action):
        result = self._run(action)
        device = self.reread()
        if device.mode == MODE_DEVDAX:
            return
        message = 'could not return %s to devdax mode (mode now %s): %s' % (device.chardev, device.mode,
                                                                            _output(result))
        if device.mode == MODE_SYSTEM_RAM and not device.online_blocks():
            message += ('. All its memory is offline: without kernel memory hot-remove the kmem driver '
                        'cannot let go of it until a reboot')
        raise MemoryOperationError(message + self._roll_back(), **_cli_details(result))

    def _offline(self, action):
        """Offline the action's blocks: a pass over them (one process), then passes over the ones that
        stayed online, until none is left, ``retries`` passes are done or ``timeout`` has run out."""
        deadline = time.monotonic() + self.timeout
        former = dict((block.index, block) for block in self.device.blocks)
        pending = [former.get(block.index, block) for block in action.data]
        reasons = {}
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(RETRY_PAUSE)
            remaining = int(deadline - time.monotonic())
            if remaining < 1:
                for block in pending:
                    reasons[block.index] = _out_of_time(reasons.get(block.index), self.timeout)
                break
            reports, failure = self._write_blocks([(block, 'offline') for block in pending], remaining)
            device = self.reread()
            busy = []
            for block in pending:
                if not _find_block(device, block.index).online:
                    self._taken_offline.append(block)
                    continue
                report = reports.get(block.index)
                if report is None:
                    reasons[block.index] = 'not written: %s' % failure
                elif report['result'] == 'not_tried':
                    reasons[block.index] = _out_of_time(reasons.get(block.index), self.timeout)
                else:
                    reasons[block.index] = _write_failure(report)
                busy.append(block)
            pending = busy
            if not pending or time.monotonic() >= deadline:
                break
        if pending:
            self._fail_offline(pending, reasons)

    def _write_blocks(self, writes, seconds=None):
        """Write ``value`` to the state of each block of ``writes`` ([(block, value)]), in order, in one
        process (:data:`WRITE_BLOCKS_PROGRAM`), each write bounded by what is left of ``seconds`` (None:
        unbounded). Returns ({block index: its report}, what went wrong with the process or None)."""
        recorded = write_blocks_command(writes)
        self.commands.append(recorded)
        # Counted with the runner's commands (``processes``) and changes (what a CliError reports).
        self.runner.commands.append(recorded)
        self.runner.changes.append(recorded)
        module = self.runner.module
        # The module's own interpreter: the one python the host is known to have.
        interpreter = sys.executable or module.get_bin_path('python3', required=True)
        request = dict(directory=self.sysfs.path(MEMORY_DIR), seconds=seconds,
                       writes=[[block.index, value] for block, value in writes])
        # Read to its end: the last block's report comes after the slowest write (see _cli.run_to_end).
        rc, stdout, stderr = self.runner.spawn([interpreter, '-c', WRITE_BLOCKS_PROGRAM], data=json.dumps(request))
        reports = {}
        for line in (stdout or '').splitlines():
            try:
                report = json.loads(line)
            except ValueError:
                continue
            if isinstance(report, dict) and 'block' in report and 'result' in report:
                reports[report['block']] = report
        failure = None
        if rc != 0 or len(reports) < len(writes):
            errors = (stderr or '').strip().splitlines()
            failure = 'the block writer stopped (rc %s: %s)' % (rc, errors[-1] if errors else 'no output')
        return reports, failure

    def _fail_offline(self, busy, reasons):
        kernel = self._kernel_reasons(busy)
        busy_blocks = []
        for block in busy:
            reason = reasons[block.index]
            if block.index in kernel:
                reason += '; kernel: ' + kernel[block.index]
            busy_blocks.append(dict(block=block.name, zone=block.zone, reason=reason))
        message = ('%s of %s would not go offline (%s) within %d s and %d retries: %s'
                   % (count(busy, 'memory block'), self.device.chardev, block_ranges(busy), self.timeout,
                      self.retries,
                      '; '.join('%s: %s' % (item['block'], item['reason']) for item in busy_blocks)))
        if any(block.zone == ZONE_NORMAL for block in busy):
            message += ('. Zone Normal holds unmovable kernel pages, so such blocks rarely go offline before a '
                        'reboot: online memory with movable=true to be able to take it away again')
        if self.leave_partial:
            message += ('. The %s offlined so far stay offline (leave_partial=true): run again to finish'
                        % count(self._taken_offline, 'block'))
        else:
            message += self._roll_back()
        raise MemoryOperationError(message, busy_blocks=busy_blocks, kernel_log=kernel.get('lines', []))

    def _roll_back(self):
        """Online again, each in its former zone, the blocks this run took offline; says how it went."""
        taken, self._taken_offline = self._taken_offline, []
        if not taken:
            return ''
        # One process for them all, in address order; onlining does not wait on migration, so unbounded.
        self._write_blocks([(block, ONLINE_COMMAND.get(block.zone, 'online'))
                            for block in sorted(taken, key=lambda block: block.index)])
        device = self.reread()
        not_back = [block for block in taken if not _find_block(device, block.index).online]
        if not_back:
            return ('. Putting the device back failed for %s (%s): online %s with "daxctl online-memory %s"'
                    % (count(not_back, 'memory block'), block_ranges(not_back),
                       'it' if len(not_back) == 1 else 'them', device.chardev))
        return '. Put back as it was: the %s offlined by this run %s online again in %s former zone' % (
            count(taken, 'memory block'), 'is' if len(taken) == 1 else 'are',
            'its' if len(taken) == 1 else 'their')

    def _kernel_reasons(self, busy):
        """Why the kernel refused, from its log when readable: {block index: line, 'lines': [...]}."""
        result = self.runner.run('dmesg', [], check=False)
        if result.rc != 0:
            return {}
        lines = [line.strip() for line in result.stdout.splitlines() if KERNEL_REASON_RE.search(line)][-20:]
        reasons = {'lines': lines}
        size = self.device.block_size
        for line in lines:
            match = KERNEL_RANGE_RE.search(line)
            if match and size:
                index = int(match.group(1), 16) // size
                if any(block.index == index for block in busy):
                    reasons[index] = line
        unmovable = [line for line in lines if 'unmovable' in line.lower()]
        for block in busy:
            if block.index not in reasons and unmovable:
                reasons[block.index] = unmovable[-1]
        return reasons


def _find_block(device, index):
    for block in device.blocks:
        if block.index == index:
            return block
    # A block that went away is not online.
    return MemoryBlock(index, False, None)


def _write_failure(report):
    """Why a block that the block writer reports on is still online."""
    if report['result'] == 'timeout':
        return 'still migrating its pages when its %d s ran out' % report.get('budget', 0)
    if report.get('errno') == 'EBUSY':
        return 'busy (EBUSY: the kernel could neither migrate nor isolate its pages)'
    if report['result'] == 'error':
        return '%s (%s)' % (report.get('error') or 'write failed', report.get('errno'))
    return 'still online after the write'


def _out_of_time(reason, timeout):
    return '%s; the %d s timeout ran out before another try' % (reason or 'not tried', timeout)


def _output(result):
    return (result.stderr or '').strip() or (result.stdout or '').strip() or 'rc %s, no output' % result.rc


def _cli_details(result):
    return dict(cmd=list(result.argv), rc=result.rc, stdout=result.stdout, stderr=result.stderr)


def find_device(state, chardev=None, namespace=None):
    """The DaxDevice named by ``chardev`` (daxN.M) or by a namespace's name label: (device, None),
    or (None, a message saying what is wrong and what to do)."""
    if chardev:
        device = device_from_state(state, chardev)
        if device is None:
            return None, ('there is no dax device %s (dax devices: %s)'
                          % (chardev, ', '.join(sorted(state.dax_devices)) or 'none'))
        return device, None
    matches = state.namespaces_by_name(namespace)
    if not matches:
        named = sorted(item['name'] for item in state.namespaces if item['name'])
        return None, ('no namespace is named "%s" (named namespaces: %s): create it with '
                      'pmem.dax.pmem_namespace (mode devdax)' % (namespace, ', '.join(named) or 'none'))
    if len(matches) > 1:
        return None, ('%d namespaces are named "%s" (%s): give the dax device with device= instead'
                      % (len(matches), namespace, ', '.join(item['dev'] for item in matches)))
    found = matches[0]
    if not found['chardev']:
        return None, ('namespace "%s" (%s) is in %s mode and has no dax device: only a devdax namespace can '
                      'become system-ram' % (namespace, found['dev'], found['mode']))
    device = device_from_state(state, found['chardev'])
    if device is None:
        return None, ('namespace "%s" (%s) names dax device %s, which sysfs does not show: is the namespace '
                      'enabled?' % (namespace, found['dev'], found['chardev']))
    return device, None


def module_spec(**options):
    """AnsibleModule keyword arguments for dax_mode / dax_memory: the shared options plus ``options``."""
    argument_spec = dict(
        device=dict(type='str'),
        namespace=dict(type='str'),
        devices=dict(type='list', elements='dict', options=dict(
            device=dict(type='str'),
            namespace=dict(type='str'),
            movable=dict(type='bool'),
        ), mutually_exclusive=[('device', 'namespace')], required_one_of=[('device', 'namespace')]),
        movable=dict(type='bool', default=True),
        relocate=dict(type='bool', default=False),
        timeout=dict(type='int', default=120),
    )
    argument_spec.update(options)
    return dict(
        argument_spec=argument_spec,
        mutually_exclusive=[('device', 'namespace', 'devices')],
        required_one_of=[('device', 'namespace', 'devices')],
        supports_check_mode=True,
    )


def requested_devices(params):
    """[(chardev or None, namespace label or None, movable)]: the device of device=/namespace=, or each
    item of devices= (an item without movable takes the module's). Raises ValueError for a bad name."""
    items = params['devices'] if params['devices'] is not None else [
        dict(device=params['device'], namespace=params['namespace'], movable=None)]
    wanted = []
    for item in items:
        chardev = validate_dax(item['device']) if item['device'] else None
        movable = item['movable'] if item['movable'] is not None else params['movable']
        wanted.append((chardev, item['namespace'], movable))
    return wanted


def memory_after(host_memory, device, plan):
    """The host's free memory once ``plan`` has taken its blocks offline (what the next device's room
    check must count on); memory that goes online is not counted, to stay on the safe side."""
    offlined = sum(len(action.data) for action in plan.actions if action.name == 'offline') * device.block_size
    return host_memory._replace(free_bytes=host_memory.free_bytes - offlined)


class _Item(object):
    """One device of a run: what was planned for it and what happened."""

    def __init__(self, device, plan, misplaced):
        self.device = device
        self.plan = plan
        self.misplaced = [dict(block=block.name, zone=block.zone) for block in misplaced]
        self.now = plan.after
        self.commands = plan.commands
        self.changed = plan.changed

    def result(self):
        return dict(device=self.now, changed=self.changed, commands=self.commands,
                    actions=[action.description for action in self.plan.actions], misplaced_blocks=self.misplaced)


def _plan_all(module, state, wanted, host_memory, make_plan):
    """An _Item per device, every one planned before anything runs; fails the module on any error."""
    several = module.params['devices'] is not None
    items = []
    for chardev, namespace, movable in wanted:
        device, error = find_device(state, chardev, namespace)
        if error:
            module.fail_json(msg=error)
        if any(item.device.chardev == device.chardev for item in items):
            module.fail_json(msg='devices: %s is given more than once (as %s)'
                             % (device.chardev, namespace or chardev))
        plan, misplaced = make_plan(device, host_memory, state.auto_online_blocks, movable)
        if plan.error:
            if several:
                module.fail_json(msg='%s: %s' % (device.chardev, plan.error),
                                 devices=[item.plan.before for item in items] + [plan.before])
            module.fail_json(msg=plan.error, device=plan.before,
                             actions=[action.description for action in plan.actions])
        items.append(_Item(device, plan, misplaced))
        host_memory = memory_after(host_memory, device, plan)
    return items


def _run_result(items, several, module_diff):
    result = dict(
        changed=any(item.changed for item in items),
        actions=[action.description for item in items for action in item.plan.actions],
        commands=[argv for item in items for argv in item.commands],
        misplaced_blocks=[block for item in items for block in item.misplaced],
    )
    if several:
        result['devices'] = [item.result() for item in items]
    else:
        result['device'] = items[0].now
    if module_diff:
        if several:
            result['diff'] = dict(before=dict((item.device.chardev, item.plan.before) for item in items),
                                  after=dict((item.device.chardev, item.plan.after) for item in items))
        else:
            result['diff'] = dict(before=items[0].plan.before, after=items[0].plan.after)
    return result


def run_module(module, make_plan):
    """main() of dax_mode and dax_memory: lock, read, plan every device, then report (check mode) or
    execute the plans in order.

    ``make_plan(device, host_memory, auto_online, movable)`` returns ``(plan, misplaced_blocks)``.
    """
    params = module.params
    timeout = params['timeout']
    if timeout < 1 or params.get('retries', 0) < 0:
        module.fail_json(msg='timeout must be at least 1 second and retries at least 0 (got timeout=%s, retries=%s)'
                         % (timeout, params.get('retries')))
    try:
        wanted = requested_devices(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    several = params['devices'] is not None
    runner = CliRunner(module)
    sysfs = Sysfs()
    with host_lock(module, timeout=timeout + LOCK_GRACE_SECONDS):
        try:
            state = HostState.read(runner, sysfs)
            items = _plan_all(module, state, wanted, read_host_memory(sysfs), make_plan)
            result = _run_result(items, several, module._diff)
            for item in items:
                for warning in item.plan.warnings:
                    module.warn(warning)
            if not result['changed'] or module.check_mode:
                module.exit_json(processes=len(runner.commands), **result)
            for item in items:
                item.commands, item.changed = [], False
            for item in items:
                if item.plan.changed:
                    _execute(module, runner, sysfs, item, items)
            diff = result.get('diff')
            result = _run_result(items, several, False)
            if diff:
                result['diff'] = diff
        except CliError as exc:
            module.fail_json(msg=str(exc), commands=runner.changes, processes=len(runner.commands),
                             **exc.to_dict())
    # Every command run is one process (the block writer included): what a benchmark counts.
    module.exit_json(processes=len(runner.commands), **result)


def _execute(module, runner, sysfs, item, items):
    """Carry out one device's plan; on failure fail the module, reporting every device as it is now."""
    params = module.params
    executor = MemoryExecutor(runner, sysfs, item.device, timeout=params['timeout'],
                              retries=params.get('retries', 3), leave_partial=params.get('leave_partial', False))
    try:
        executor.execute(item.plan)
    except MemoryOperationError as exc:
        for warning in executor.warnings:
            module.warn(warning)
        item.now = device_facts(executor.reread())
        item.commands, item.changed = executor.commands, item.now != item.plan.before
        # The devices not reached yet are as they were.
        for other in items:
            if other.commands == [] and other is not item:
                other.now = other.plan.before
        failed = dict(_run_result(items, params['devices'] is not None, False), **exc.details)
        failed['changed'] = any(other.changed for other in items)
        failed['processes'] = len(runner.commands)
        if params['devices'] is not None:
            exc.message = '%s: %s' % (item.device.chardev, exc.message)
        module.fail_json(msg=exc.message, **failed)
    for warning in executor.warnings:
        module.warn(warning)
    item.now = device_facts(executor.reread())
    item.commands, item.changed = executor.commands, True
