# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Carry out the plans of pmem_namespace and cxl_region: the "do" half, for those modules and any other
that changes namespaces or CXL regions in the same process (system_ram).

The planners (``_namespace.plan_namespaces``, ``_cxl.plan_region``) decide; the appliers here do, in one
shape: a :class:`Recorder` keeps the ownership record in step with the host (``before(action)``,
``after(action, outcome)``, ``settle(state)``), :func:`run_actions` runs a plan's actions in order and stops
at the first command that fails, then the host is read again and that read decides: the tools' exit codes
do not say what happened (see docs/ndctl-daxctl-behaviour.md). The caller holds the host lock and
decides from the returned state whether the goal was reached.

API:

``apply_namespace_plans(module, runner, sysfs, planned, record_path, record)`` -> (state, outcomes, failure)
    ``planned``: the ``[(desired, plan)]`` of ``plan_namespaces``; ``record``: the ownership record, or None
    when ownership is off. Runs the plans in order (a failure stops there) with the record kept in step:
    a create is recorded before ndctl runs, a destroy dropped after it succeeded, creates that did not
    happen forgotten. ``state``: a fresh ``HostState``; ``outcomes``: per item (name, state, changed,
    commands, namespace); ``failure``: the failed ``CommandResult`` or None.
``predicted_namespace_outcomes(state, planned)`` -> outcomes as check mode (or a run with nothing to do)
    reports them.
``namespace_goal_reached(state, desired)``: the item is as asked on the re-read host.
``apply_region_plan(module, runner, sysfs, plan, desired, record_path, record)`` -> (cxl, failure)
    ``plan`` of ``plan_region(cxl, desired)``. Holds ``auto_online_blocks`` at the plan's policy around
    ``cxl create-region`` and restores it (also when the run stopped early), waits until the regions asked
    for are there with their memory hot-plugged, and returns a fresh ``CxlState`` (decide with
    ``_cxl.goal_reached``).
``region_result(cxl, summaries)``: the ``regions`` cxl_region returns, from region summaries of a plan.
``failure_detail(failure)``: ': CMD failed (rc N): OUTPUT' for a failure message ('' for None).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import time

from ansible_collections.pmem.dax.plugins.module_utils import _ownership
from ansible_collections.pmem.dax.plugins.module_utils._cli import parse_json_list
from ansible_collections.pmem.dax.plugins.module_utils._cxl import CxlState, created_regions, goal_reached, region_memory
from ansible_collections.pmem.dax.plugins.module_utils._state import HostState
from ansible_collections.pmem.dax.plugins.module_utils._sysfs import write_auto_online

# Seconds to wait for a region enabled after init-labels to show its free space.
FREE_SPACE_SECONDS = 30
# Seconds to wait for a new CXL region's dax device and memory blocks, which appear after create-region returns.
CXL_SETTLE_SECONDS = 60
# Reads again, a second apart, when every ndctl command succeeded but the host read right after does not show
# its result yet (a create or destroy seemed undone for a moment on a busy guest): judged only after these, and
# the ownership record forgets a create only then.
NAMESPACE_SETTLE_READS = 3
NAMESPACE_SETTLE_PAUSE = 1.0
# What pmem_namespace returns of a namespace.
NAMESPACE_KEYS = ('dev', 'name', 'uuid', 'mode', 'size', 'raw_size', 'region', 'chardev', 'blockdev', 'dax_mode')


def failure_detail(failure):
    if failure is None:
        return ''
    return ': %s failed (rc %s): %s' % (' '.join(failure.argv), failure.rc,
                                        (failure.stderr or failure.stdout).strip() or 'no output')


class Recorder(object):
    """The ownership record of one run (``record`` None: ownership is off), written as the host changes.

    The appliers call ``before(action)`` before every action (a ``record`` action, an adoption, is only
    that), ``after(action, outcome)`` after every command, and ``settle(state)`` once the host has been read
    again, where the record is made to match what the run really did.
    """

    def __init__(self, module, path, record):
        self.module = module
        self.path = path
        self.record = record

    @property
    def kept(self):
        return self.record is not None

    def write(self, record):
        if record != self.record:
            self.record = record
            _ownership.write_record(self.module, self.path, record)

    def before(self, action):
        pass

    def after(self, action, outcome):
        pass

    def settle(self, state):
        pass


def run_actions(actions, recorder, run_command):
    """Run actions in order until a command fails; returns its CommandResult, or None when all succeeded.

    ``run_command(action)`` carries out one ``command`` action and returns its CommandResult.
    """
    for action in actions:
        recorder.before(action)
        if action.kind != 'command':
            continue
        outcome = run_command(action)
        recorder.after(action, outcome)
        if outcome.rc != 0:
            return outcome
    return None


# -- namespaces --------------------------------------------------------------------------------------------


def _ndctl(action, subcommand):
    return bool(action.argv) and action.argv[1] == subcommand


class NamespaceRecorder(Recorder):
    """A create is recorded before ndctl runs (its uuid was chosen by the plan), an adoption when it is
    carried out, a destroy after ndctl succeeded: at no moment does the host hold a namespace of ours that
    the record does not list. ``settle`` forgets the creates that did not happen."""

    def __init__(self, module, path, record):
        super(NamespaceRecorder, self).__init__(module, path, record)
        self.created = []

    def before(self, action):
        if not self.kept:
            return
        if action.kind == 'record' or (_ndctl(action, 'create-namespace') and action.data):
            if action.kind != 'record':
                self.created.append(action.data['uuid'])
            self.write(_ownership.with_namespace(self.record, action.data))

    def after(self, action, outcome):
        if self.kept and outcome.rc == 0 and _ndctl(action, 'destroy-namespace') and action.data:
            self.write(_ownership.without_namespace(self.record, _ownership.namespace_uuid(action.data)))

    def settle(self, state):
        """Drop the creates of this run that did not happen (ndctl failed): their uuids name nothing."""
        if not self.kept:
            return
        present = set(_ownership.namespace_uuid(namespace) for namespace in state.namespaces)
        record = self.record
        for uuid in self.created:
            if uuid not in present:
                record = _ownership.without_namespace(record, uuid)
        self.write(record)


def wait_for_free_space(runner, region, timeout=None):
    """Wait until a region enabled after init-labels shows its free space.

    Right after enable-region the region can still read available_size 0 for a moment (seen on a busy
    Debian 13 guest); creating a namespace then fails with "No space left on device".
    """
    deadline = time.time() + (FREE_SPACE_SECONDS if timeout is None else timeout)
    while True:
        regions = runner.json('ndctl', ['list', '-r', region])
        if any(item.get('available_size') for item in regions) or time.time() >= deadline:
            return
        time.sleep(1)


class _NamespaceCommands(object):
    """run_command for the namespace plans: runs one ndctl action and notes the dev a create reports."""

    def __init__(self, runner):
        self.runner = runner
        self.created_dev = None

    def __call__(self, action):
        outcome = self.runner.run_change(action.argv[0], action.argv[1:])
        if outcome.rc != 0:
            return outcome
        if _ndctl(action, 'enable-region'):
            wait_for_free_space(self.runner, action.argv[2])
        elif _ndctl(action, 'create-namespace'):
            try:
                created = parse_json_list(outcome.stdout)
                self.created_dev = created[0].get('dev') if created else None
            except ValueError:
                self.created_dev = None
        return outcome


def namespace_result(namespace):
    if not namespace:
        return {}
    return dict((key, namespace.get(key)) for key in NAMESPACE_KEYS)


def _predicted_namespace(plan):
    after = plan.after
    if after.get('state') != 'present':
        return {}
    predicted = dict((key, None) for key in NAMESPACE_KEYS)
    predicted.update(name=after['name'], mode=after['mode'], raw_size=after['size'], region=after['region'])
    return predicted


def _found_namespace(state, desired, created_dev=None):
    """The namespace the host shows for an item after the run ({} for state absent)."""
    if desired['state'] != 'present':
        return {}
    namespace = state.namespace_by_name(desired['name'])
    if namespace is None and created_dev:
        namespace = state.namespace_by_dev(created_dev)
    return namespace_result(namespace)


def _outcome(desired, changed, commands, namespace):
    return dict(name=desired['name'], state=desired['state'], changed=changed, commands=commands, namespace=namespace)


def predicted_namespace_outcomes(state, planned):
    """The outcomes when nothing runs: what a plan would make, or the namespace as it is."""
    return [_outcome(desired, plan.changed, plan.commands,
                     _predicted_namespace(plan) if plan.changed
                     else namespace_result(state.namespace_by_name(desired['name'])))
            for desired, plan in planned]


def namespace_goal_reached(state, desired):
    matches = state.namespaces_by_name(desired['name'])
    if desired['state'] == 'absent':
        return not matches
    return len(matches) == 1 and matches[0]['mode'] == desired['mode']


def namespace_presence_reached(state, desired):
    """Whether the namespace of an item is there (state present) or gone (absent), whatever its mode."""
    return (desired['state'] == 'present') == bool(state.namespaces_by_name(desired['name']))


def _read_settled(runner, sysfs, planned, failure):
    """The host after the namespace commands; read again (NAMESPACE_SETTLE_READS) while it does not yet show
    what commands that all succeeded did. After a failed command the first read is the truth."""
    state = HostState.read(runner, sysfs)
    for _attempt in range(NAMESPACE_SETTLE_READS if failure is None else 0):
        if all(namespace_presence_reached(state, desired) for desired, plan in planned if plan.changed):
            break
        time.sleep(NAMESPACE_SETTLE_PAUSE)
        state = HostState.read(runner, sysfs)
    return state


def apply_namespace_plans(module, runner, sysfs, planned, record_path, record):
    """See the module docstring."""
    recorder = NamespaceRecorder(module, record_path, record)
    failure = None
    ran = []
    for desired, plan in planned:
        if failure is not None:
            ran.append(([], None))
            continue
        first = len(runner.changes)
        commands = _NamespaceCommands(runner)
        failure = run_actions(plan.actions, recorder, commands)
        ran.append((runner.changes[first:], commands.created_dev))
    # ndctl's exit codes and counts do not say what happened: judge from a fresh read.
    state = _read_settled(runner, sysfs, planned, failure)
    recorder.settle(state)
    outcomes = []
    for (desired, plan), (commands, created_dev) in zip(planned, ran):
        adopted = any(action.kind == 'record' for action in plan.actions)
        outcomes.append(_outcome(desired, bool(commands) or adopted, commands,
                                 _found_namespace(state, desired, created_dev)))
    return state, outcomes, failure


# -- CXL regions -------------------------------------------------------------------------------------------


class RegionRecorder(Recorder):
    """A new region is recorded as soon as create-region reports it, an adopted one when its record step
    runs, a destroyed one leaves after destroy-region succeeded. cxl's exit codes are not to be trusted
    either way, so ``settle`` makes the record match the topology read again at the end."""

    def __init__(self, module, path, record):
        super(RegionRecorder, self).__init__(module, path, record)
        self.initial = record
        self.seen = []

    def before(self, action):
        self.seen.append(action)
        if self.kept and action.kind == 'record':
            self.write(_ownership.with_region(self.record, action.data))

    def after(self, action, outcome):
        if not self.kept or outcome.rc != 0:
            return
        if action.name == 'create_region':
            for region in created_regions(outcome.stdout):
                self.write(_ownership.with_region(self.record, region))
        elif action.name == 'destroy_region':
            self.write(_ownership.without_region(self.record, action.data['name']))

    def settle(self, state):
        """Record what the run created, and keep only destroyed regions that are still there and were ours
        (state: the CxlState read again)."""
        if not self.kept:
            return
        record = self.record
        for action in self.seen:
            if action.name == 'create_region':
                # The plan creates only over memdevs that were in no region: any region over them is new.
                for region in state.regions:
                    if sorted(region['memdevs']) == sorted(action.data['memdevs']):
                        record = _ownership.with_region(record, region)
            elif action.name == 'destroy_region':
                region = state.region(action.data['name'])
                if region and _ownership.region_recorded(self.initial, region):
                    record = _ownership.with_region(record, region)
                else:
                    record = _ownership.without_region(record, action.data['name'])
        self.write(record)


def hot_plugged(region):
    """kmem has added the region's memory: its dax device is in system-ram mode with memory blocks."""
    return bool(region['devices']) and all(
        device.get('mode') == 'system-ram' and (device.get('total_memblocks') or 0) > 0
        for device in region['devices'])


def wait_for_region(runner, desired):
    """Re-read until the regions asked for are there and kmem has hot-plugged their memory (or
    CXL_SETTLE_SECONDS pass). cxl create-region returns before that: the dax device and kmem's probe
    follow asynchronously, and kmem reads auto_online_blocks only then, so the policy is restored after
    this."""
    deadline = time.time() + CXL_SETTLE_SECONDS
    while True:
        cxl = CxlState.read(runner)
        settled = all(hot_plugged(region) for region in cxl.regions if region['type'] == 'ram')
        if (goal_reached(cxl, desired) and settled) or time.time() >= deadline:
            return cxl
        time.sleep(1)


def apply_region_plan(module, runner, sysfs, plan, desired, record_path, record):
    """See the module docstring."""
    recorder = RegionRecorder(module, record_path, record)
    policy_before = sysfs.auto_online_blocks()
    created = []

    def restore_policy():
        # kmem reads the policy when it probes a new region, after create-region has returned.
        if created:
            wait_for_region(runner, desired)
        return write_auto_online(runner, sysfs, policy_before)

    def run_command(action):
        if action.name == 'hold_auto_online':
            return write_auto_online(runner, sysfs, action.data)
        if action.name == 'restore_auto_online':
            return restore_policy()
        if action.name == 'create_region':
            created.append(action)
        return runner.run_change(action.argv[0], action.argv[1:])

    failure = run_actions(plan.actions, recorder, run_command)
    if policy_before and sysfs.auto_online_blocks() != policy_before:
        # The run stopped between a hold and its restore (or the restore did not take).
        restore_policy()
    cxl = wait_for_region(runner, desired)
    recorder.settle(cxl)
    return cxl, failure


def region_result(cxl, summaries):
    result = []
    for summary in summaries:
        item = dict(summary)
        item.pop('state', None)
        region = cxl.region(summary['region']) if summary.get('region') else None
        online, total = region_memory(region) if region else (None, None)
        item.update(online_blocks=online, total_blocks=total)
        result.append(item)
    return result
