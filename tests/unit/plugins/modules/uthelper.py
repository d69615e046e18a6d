# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Table-driven module tests: each case is data in a YAML file next to the test file.

Usage in tests/unit/plugins/modules/test_<module>.py::

    from ansible_collections.pmem.dax.plugins.modules import pmem_namespace
    from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import UTHelper

    test_module = UTHelper.from_test_file(pmem_namespace, __file__).make_test()   # test_pmem_namespace.yaml

``make_test()`` returns a test function parametrized over the cases (pytest ids are the case ids).

A YAML file has ``test_cases`` (a list) and may have ``hosts`` (named host trees, see below),
``include_hosts`` (YAML files, relative to it, whose ``hosts`` it shares) and any other top-level keys
to hold YAML anchors. A case::

    - id: create_devdax_12g                 # pytest id
      input: {name: db, size: 12g}           # module arguments
      flags: {check: true, diff: true}       # optional: check mode / diff mode
      host: d12_region_free                  # a name from ``hosts`` or an inline host tree
      host_update: {...}                     # optional: merged over ``host`` for this case
      missing_bins: [ndctl]                  # optional: get_bin_path finds nothing for these
      mocks:
        run_command:                         # the commands the module must run, in order
          - command: [ndctl, list, -R, -N, -v, -i]   # tool names, not paths
            rc: 0
            out: "..."                       # or out_file: path under tests/unit/fixtures/
            err: ""
            # or rc/out/err as recorded on a guest (tests/unit/fixtures/README.md):
            # recorded: {file: bookworm/06-devdax-1g.json, query: [ndctl, list, -R, -N, -v]}
            # recorded: {file: bookworm/06-devdax-1g.json, action: 0}
            host_after: {...}                # optional: merged into the host tree after this command
          # A program the module runs with its own interpreter (``python -c PROGRAM``) is named by
          # "python" and the program's first line; ``data`` is what it must get on stdin (a string, or
          # JSON compared as data), ``out_lines`` what it prints (each item one JSON line):
          - command: [python, -c, "# pmem.dax: write memory block states"]
            data: {directory: /sys/devices/system/memory, seconds: 120, writes: [[41, offline]]}
            out_lines: [{block: 41, result: done}]
      output:                                # keys of the module result that must be equal
        changed: true
        failed: false
      msg_contains: "not found"              # optional: a string or a list, all must be in msg
      absent_keys: [namespace]               # optional: keys that must not be in the result

Every listed command must be run, in order, and nothing else.

Host trees describe the files under a fake root (``_sysfs.DEFAULT_ROOT`` points at it); with
``fixture: <release>/<step>.json`` the tree starts from that recorded sysfs snapshot::

    block_size: 134217728               # sys/devices/system/memory/block_size_bytes (written in hex)
    auto_online_blocks: offline
    dax_model: bus                      # bus (default) | class | none
    nodes: {0: "0-1", 1: ""}            # node -> cpulist
    memory_blocks:                      # later rows win for the same block
      - {blocks: "0-7", state: online, zones: Normal, node: 0}
      - {blocks: "40-46", state: offline, zones: "Normal Movable", node: 1}
    dax:                                # null removes a device in host_after
      dax0.0: {driver: device_dax, target_node: 1, size: 1054867456, resource: 5385486336, align: 2097152}
    nd:
      region0: {mappings: [nmem0]}
      namespace0.0: {size: 1073741824, devtype: nd_namespace_pmem}
    tiers: {4: "0", 22: "1"}
    demotion_enabled: "false"
    removable: 1                        # every memory block's "removable"
    kernel: 6.1.0-40-amd64
    files: {"proc/meminfo": "MemTotal: 2000 kB\\n"}    # anything else, verbatim
    links: {"proc/1234/fd/3": "/dev/dax0.0"}            # symlinks
    data: {"dev/dax0.0": {1080: "53ef"}}                 # binary files: hex bytes at offsets (1 MiB long)

A case may also name ``json_files_after: {relpath: value}``: JSON files under the fake root after the run
(null: the file must not exist), e.g. the ownership record ``var/lib/pmem-dax/owned.json``; ``text_files_after:
{relpath: [lines]}`` text files with (at least) those lines, null: must not exist; ``summary_contains: [lines]``
lines the result's ``summary`` must have. The uuids
that modules choose before creating something (``_ownership.new_uuid``) are
``00000000-0000-4000-8000-00000000000N``, N counting from 1 in each case. ``settle_reads: N`` lets the
module read the namespaces again up to N times after ndctl's commands (``_apply.NAMESPACE_SETTLE_READS``; 0
unless named, so that each case lists exactly the reads it expects).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json
import os
import shutil
import sys

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.pmem.dax.plugins.module_utils import _apply, _cli, _lock, _ownership, _sysfs

# Where modules keep state of their own on a host (the ownership record), under the fake root.
MODULE_STATE_DIR = os.path.dirname(_ownership.OWNERSHIP_PATH).lstrip('/')
FIXTURES_DIR = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')
BIN_DIR = '/usr/bin'


class ModuleExit(Exception):
    def __init__(self, result):
        super(ModuleExit, self).__init__(result)
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    kwargs.setdefault('failed', False)
    raise ModuleExit(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs['failed'] = True
    kwargs['msg'] = msg
    kwargs.setdefault('changed', False)
    raise ModuleExit(kwargs)


def merge_host(base, update):
    """Deep-merge a host tree: dicts merge, None deletes a key, memory_blocks rows append."""
    result = copy.deepcopy(base) if base else {}
    for key, value in (update or {}).items():
        if value is None:
            result.pop(key, None)
        elif key == 'memory_blocks':
            result[key] = list(result.get(key) or []) + list(value)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_host(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _expand_blocks(text):
    indices = []
    for part in str(text).split(','):
        part = part.strip()
        if '-' in part:
            low, high = part.split('-', 1)
            indices.extend(range(int(low), int(high) + 1))
        elif part:
            indices.append(int(part))
    return indices


def _write(root, relpath, content):
    path = os.path.join(root, relpath)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory)
    with open(path, 'w') as handle:
        handle.write('%s\n' % (content,) if not str(content).endswith('\n') else str(content))


def _link(root, relpath, target):
    path = os.path.join(root, relpath)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory)
    if os.path.lexists(path):
        os.remove(path)
    os.symlink(target, path)


def load_fixture(name):
    """A recorded fixture (tests/unit/fixtures/<release>/<step>.json, see its README)."""
    with open(os.path.join(FIXTURES_DIR, name)) as handle:
        return json.load(handle)


def materialise_snapshot(root, snapshot):
    """Write a recorded sysfs snapshot under root."""
    for path in snapshot.get('dirs') or []:
        directory = os.path.join(root, path.lstrip('/'))
        if not os.path.isdir(directory):
            os.makedirs(directory)
    for path, content in (snapshot.get('files') or {}).items():
        _write(root, path.lstrip('/'), content)
    recorded_dirs = set()
    for path in snapshot.get('files') or {}:
        parent = os.path.dirname(path)
        while parent not in ('/', ''):
            recorded_dirs.add(parent)
            parent = os.path.dirname(parent)
    for path, target in (snapshot.get('links') or {}).items():
        # /sys/bus/dax/devices/daxN.M links into /sys/devices, which is not recorded: its attributes are
        # recorded under the bus path instead, so that path stays a directory here.
        if path in recorded_dirs:
            continue
        _link(root, path.lstrip('/'), target)


def recorded_output(spec):
    """(rc, stdout, stderr) of a recorded query or action.

    spec: {file: "bookworm/06-devdax-1g.json", query: [argv]} or {file: ..., action: index}.
    """
    fixture = load_fixture(spec['file'])
    if 'action' in spec:
        entry = fixture['actions'][int(spec['action'])]
    else:
        wanted = [str(arg) for arg in spec['query']]
        matches = [query for query in fixture['queries'] if query['argv'] == wanted]
        assert matches, 'no query %s recorded in %s' % (wanted, spec['file'])
        entry = matches[0]
    return entry['rc'], entry['stdout'], entry['stderr']


def build_host(root, host):
    """(Re)create the fake tree for a host description under root.

    ``fixture: bookworm/06-devdax-1g.json`` starts from that recorded sysfs snapshot; the other keys
    are then written over it. What modules write themselves (``MODULE_STATE_DIR``, the ownership record)
    survives a rebuild after a command (``host_after``), as it would on a host.
    """
    kept = {}
    state_dir = os.path.join(root, MODULE_STATE_DIR)
    if os.path.isdir(state_dir):
        for name in os.listdir(state_dir):
            with open(os.path.join(state_dir, name), 'rb') as handle:
                kept[name] = handle.read()
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    if kept:
        os.makedirs(state_dir)
        for name, content in kept.items():
            with open(os.path.join(state_dir, name), 'wb') as handle:
                handle.write(content)
    host = host or {}
    if host.get('fixture'):
        materialise_snapshot(root, load_fixture(host['fixture'])['sysfs'])
    memory = 'sys/devices/system/memory'
    if host.get('block_size'):
        _write(root, memory + '/block_size_bytes', '%x' % int(host['block_size']))
    if host.get('auto_online_blocks'):
        _write(root, memory + '/auto_online_blocks', host['auto_online_blocks'])
    for node, cpus in (host.get('nodes') or {}).items():
        _write(root, 'sys/devices/system/node/node%d/cpulist' % int(node), cpus or '')
    blocks = {}
    for row in host.get('memory_blocks') or []:
        for index in _expand_blocks(row['blocks']):
            blocks[index] = row
    for index, row in sorted(blocks.items()):
        base = '%s/memory%d' % (memory, index)
        _write(root, base + '/state', row.get('state', 'online'))
        _write(root, base + '/valid_zones', row.get('zones', 'Normal'))
        if host.get('removable') is not None:
            _write(root, base + '/removable', host['removable'])
        node = row.get('node', 0)
        os.makedirs(os.path.join(root, base, 'node%d' % int(node)))
        _link(root, 'sys/devices/system/node/node%d/memory%d' % (int(node), index), '../../memory/memory%d' % index)
    model = host.get('dax_model', 'bus')
    dax_base = {'bus': 'sys/bus/dax/devices', 'class': 'sys/class/dax'}.get(model)
    if dax_base and not os.path.isdir(os.path.join(root, dax_base)):
        os.makedirs(os.path.join(root, dax_base))
    for chardev, device in (host.get('dax') or {}).items():
        if device is None or not dax_base:
            continue
        for key in ('target_node', 'numa_node', 'size', 'align'):
            if device.get(key) is not None:
                _write(root, '%s/%s/%s' % (dax_base, chardev, key), device[key])
        if device.get('resource') is not None:
            _write(root, '%s/%s/resource' % (dax_base, chardev), '0x%x' % int(device['resource']))
        if device.get('driver'):
            _link(root, '%s/%s/driver' % (dax_base, chardev), '../../../../bus/dax/drivers/%s' % device['driver'])
        else:
            os.makedirs(os.path.join(root, dax_base, chardev), exist_ok=True)
    for name, attrs in (host.get('nd') or {}).items():
        if attrs is None:
            continue
        base = 'sys/bus/nd/devices/%s' % name
        if 'mappings' in attrs:
            _write(root, base + '/mappings', len(attrs['mappings']))
            for position, dimm in enumerate(attrs['mappings']):
                _write(root, base + '/mapping%d' % position, '%s,0,4294967296,0' % dimm)
        for key in ('size', 'devtype'):
            if attrs.get(key) is not None:
                _write(root, '%s/%s' % (base, key), attrs[key])
    for tier, nodelist in (host.get('tiers') or {}).items():
        _write(root, 'sys/devices/virtual/memory_tiering/memory_tier%d/nodelist' % int(tier), nodelist)
    if host.get('demotion_enabled') is not None:
        _write(root, 'sys/kernel/mm/numa/demotion_enabled', host['demotion_enabled'])
    if host.get('kernel'):
        _write(root, 'proc/sys/kernel/osrelease', host['kernel'])
    for relpath, content in (host.get('files') or {}).items():
        _write(root, relpath, content)
    for relpath, target in (host.get('links') or {}).items():
        _link(root, relpath, target)
    for relpath, chunks in (host.get('data') or {}).items():
        path = os.path.join(root, relpath)
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        content = bytearray(1 << 20)
        for offset, hex_bytes in chunks.items():
            chunk = bytearray.fromhex(hex_bytes)
            content[int(offset):int(offset) + len(chunk)] = chunk
        with open(path, 'wb') as handle:
            handle.write(bytes(content))


class CommandMock(object):
    """Replays the expected commands in order and checks each argv."""

    def __init__(self, case, root, host):
        self.expected = list((case.get('mocks') or {}).get('run_command') or [])
        self.position = 0
        self.root = root
        self.host = host

    @staticmethod
    def _strip_paths(argv):
        prefix = BIN_DIR + '/'
        return [str(arg)[len(prefix):] if str(arg).startswith(prefix) else str(arg) for arg in argv]

    def __call__(self, module, args, **kwargs):
        # Paths under the fake root (sysfs writes) are compared as the real paths they stand for.
        argv = [arg[len(self.root):] if str(arg).startswith(self.root + '/') else arg for arg in args]
        argv = self._strip_paths(argv)
        argv = self._name_programs(argv)
        assert self.position < len(self.expected), 'unexpected command %s' % argv
        call = self.expected[self.position]
        self.position += 1
        assert argv == [str(arg) for arg in call['command']], \
            'command %d: expected %s, ran %s' % (self.position, call['command'], argv)
        env = kwargs.get('environ_update') or {}
        assert env.get('LC_ALL') == 'C', 'commands must run with LC_ALL=C'
        if 'data' in call:
            self._check_data(call, kwargs.get('data'))
        rc, err = call.get('rc', 0), call.get('err', '')
        if 'recorded' in call:
            rc, out, err = recorded_output(call['recorded'])
        elif 'out_file' in call:
            with open(os.path.join(FIXTURES_DIR, call['out_file'])) as handle:
                out = handle.read()
        elif 'out_lines' in call:
            out = ''.join(json.dumps(line) + '\n' for line in call['out_lines'])
        else:
            out = call.get('out', '')
        if not isinstance(out, str):
            out = json.dumps(out)
        if call.get('host_after'):
            self.host = merge_host(self.host, call['host_after'])
            build_host(self.root, self.host)
        return rc, out, err

    @staticmethod
    def _name_programs(argv):
        """The module's own interpreter as "python", a ``-c`` program by its first line."""
        named = ['python' if position == 0 and arg == sys.executable else arg for position, arg in enumerate(argv)]
        for position in range(1, len(named) - 1):
            if named[position] == '-c' and named[0] == 'python':
                named[position + 1] = named[position + 1].split('\n', 1)[0]
        return named

    def _check_data(self, call, data):
        """stdin as expected: paths under the fake root read as the real paths they stand for."""
        data = (data or '').replace(self.root + '/', '/')
        expected = call['data']
        if not isinstance(expected, str):
            data = json.loads(data)
        assert data == expected, 'command %d (%s): expected stdin %r, got %r' % (
            self.position, call['command'], expected, data)

    def check_all_run(self):
        missing = [call['command'] for call in self.expected[self.position:]]
        assert not missing, 'commands expected but not run: %s' % missing


def run_to_end_through_run_command(module, argv, **kwargs):
    """Stands in for _cli.run_to_end, which the modules' commands go through: the cases (and fakes) answer
    ``module.run_command``, so both are answered alike."""
    return module.run_command(argv, **kwargs)


def run_main(module, input_args, root, tmp_path, run_command, missing=None, check=False, diff=False, settle_reads=0):
    """Run module.main() with input_args against the fake tree at root; returns the result dict.

    run_command(module, argv, **kwargs) -> (rc, stdout, stderr) answers every command the module runs;
    the tools in missing are not found.
    """
    missing = set(missing or [])

    def fake_run_command(self, args, **kwargs):
        return run_command(self, args, **kwargs)

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        if arg in missing:
            if required:
                self.fail_json(msg='Failed to find required executable "%s"' % arg)
            return None
        return '%s/%s' % (BIN_DIR, arg)

    uuids = ('00000000-0000-4000-8000-%012d' % number for number in range(1, 1000))
    args = dict(input_args or {})
    args['_ansible_check_mode'] = bool(check)
    args['_ansible_diff'] = bool(diff)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_sysfs, 'DEFAULT_ROOT', root)
        patch.setattr(_lock, 'LOCK_PATH', str(tmp_path / 'lock' / 'pmem-dax.lock'))
        # The reads again after ndctl's commands only where a case asks for them (settle_reads), unpaused.
        patch.setattr(_apply, 'NAMESPACE_SETTLE_READS', settle_reads)
        patch.setattr(_apply, 'NAMESPACE_SETTLE_PAUSE', 0)
        patch.setattr(_ownership, 'new_uuid', lambda: next(uuids))
        patch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
        patch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)
        patch.setattr(basic.AnsibleModule, 'run_command', fake_run_command)
        patch.setattr(_cli, 'run_to_end', run_to_end_through_run_command)
        patch.setattr(basic.AnsibleModule, 'get_bin_path', get_bin_path)
        patch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode())
        patch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
        with pytest.raises(ModuleExit) as raised:
            module.main()
    return raised.value.result


def run_case(module, case, tmp_path, hosts=None):
    """Run one case against the module's main() and check its result; returns the result dict."""
    host = case.get('host')
    if isinstance(host, str):
        host = (hosts or {})[host]
    host = merge_host(host or {}, case.get('host_update'))
    root = str(tmp_path / 'root')
    build_host(root, host)
    commands = CommandMock(case, root, host)
    flags = case.get('flags') or {}
    result = run_main(module, case.get('input'), root, tmp_path, commands,
                      missing=case.get('missing_bins'), check=flags.get('check'), diff=flags.get('diff'),
                      settle_reads=case.get('settle_reads', 0))
    check_result(case, result)
    if not result.get('failed') or case.get('check_all_commands_on_failure', True):
        commands.check_all_run()
    files = [(relpath, expected, 'json') for relpath, expected in (case.get('json_files_after') or {}).items()]
    files += [(relpath, expected, 'lines') for relpath, expected in (case.get('text_files_after') or {}).items()]
    for relpath, expected, kind in files:
        path = os.path.join(root, relpath)
        if expected is None:
            assert not os.path.exists(path), '%s should not exist' % relpath
            continue
        with open(path) as handle:
            text = handle.read()
        if kind == 'json':
            assert json.loads(text) == expected, '%s after the run' % relpath
        else:
            missing = [line for line in expected if line not in text.splitlines()]
            assert not missing, '%s has no line %r:\n%s' % (relpath, missing, text)
    return result


def check_result(case, result):
    for key, expected in (case.get('output') or {}).items():
        assert key in result, 'result has no %r: %s' % (key, result)
        assert result[key] == expected, '%s: expected %r, got %r (msg: %s)' % (key, expected, result[key], result.get('msg'))
    wanted = case.get('msg_contains') or []
    if isinstance(wanted, str):
        wanted = [wanted]
    for text in wanted:
        assert text in (result.get('msg') or ''), 'msg %r does not contain %r' % (result.get('msg'), text)
    for key in case.get('absent_keys') or []:
        assert key not in result, 'result should not have %r: %r' % (key, result[key])
    for line in case.get('summary_contains') or []:
        assert line in (result.get('summary') or []), 'summary has no line %r: %r' % (line, result.get('summary'))


class UTHelper(object):
    """Loads the YAML cases next to a test file and defines the parametrized test in its module."""

    def __init__(self, module, cases, hosts):
        self.module = module
        self.cases = cases
        self.hosts = hosts

    @classmethod
    def from_test_file(cls, module, test_file):
        yaml_file = os.path.splitext(test_file)[0] + '.yaml'
        with open(yaml_file) as handle:
            spec = yaml.safe_load(handle)
        hosts = {}
        # include_hosts: YAML files (relative to this one) whose "hosts" several test files share
        for included in spec.get('include_hosts') or []:
            with open(os.path.join(os.path.dirname(yaml_file), included)) as handle:
                hosts.update(yaml.safe_load(handle).get('hosts') or {})
        hosts.update(spec.get('hosts') or {})
        return cls(module, spec.get('test_cases') or [], hosts)

    def make_test(self):
        """The parametrized test function; assign it to a ``test_*`` name in the test file."""
        ids = [case['id'] for case in self.cases]
        duplicated = sorted(set(case_id for case_id in ids if ids.count(case_id) > 1))
        assert not duplicated, 'duplicate case ids: %s' % duplicated
        helper = self

        @pytest.mark.parametrize('case', self.cases, ids=ids)
        def run(case, tmp_path):
            run_case(helper.module, case, tmp_path, helper.hosts)

        return run
