# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run ndctl and daxctl for the pmem.dax modules.

API (stable; additions only):

``CliRunner(module)``
    ``runner.json(tool, args)`` -> list
        Run a read-only command (``ndctl list ...``, ``daxctl list ...``) and return its JSON output
        normalised by :func:`parse_json_list`. Raises :class:`CliError` when rc != 0 or the output is
        not JSON.
    ``runner.run(tool, args, check=True, timeout=None)`` -> :class:`CommandResult`
        Run any command; raises :class:`CliError` when ``check`` and rc != 0.
    ``runner.run_change(tool, args, timeout=None)`` -> :class:`CommandResult`
        Run a command that changes the host and never raise on its rc: the exit codes of ndctl/daxctl
        do not tell whether the change happened (see docs/ndctl-daxctl-behaviour.md), so the caller re-reads the
        state and decides from that. The argv is recorded in ``runner.changes``.
        ``data`` (optional) is written to the command's stdin: sysfs writes run as ``tee <path>`` with
        the value as data, so that they too are bounded by ``timeout`` and recorded.
    ``runner.commands``: every argv run (read-only and changing), as ``[tool] + args``.
    ``runner.changes``: the argv of every ``run_change`` call, as ``[tool] + args``; this is what
        the modules return as ``commands`` (and what check mode predicts).
    ``runner.bin_path(tool)``: absolute path of ``ndctl`` or ``daxctl``; raises :class:`ToolMissingError`
        ("ndctl not found: install the ndctl package") when it is not installed.

``runner.spawn(argv, data=None)`` -> ``(rc, stdout, stderr)``: run any other program (an absolute argv) the
    same way, unrecorded; the caller records it.

``run_to_end(module, argv, environ_update=None, data=None)`` -> ``(rc, stdout, stderr)``: what every
    command here runs through instead of ``module.run_command`` (see its docstring).

``CliError(argv, rc, stdout, stderr, message=None)``: ``str(err)`` is a readable message naming the
command, its rc and stderr; ``err.to_dict()`` gives the fields for ``fail_json``.

``parse_json_list(text)`` -> list: empty output -> ``[]``; ``{"regions": [...]}``-style wrappers
(regions, namespaces, dimms, devices, buses, memblocks) unwrapped; a lone object -> ``[obj]``.

Arguments are always lists (never shell strings) and every command runs with ``LC_ALL=C``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import collections
import json
import os
import subprocess

from ansible.module_utils.common.text.converters import to_bytes, to_native

# The keys ndctl/daxctl wrap a list in when several kinds are listed together
# (for instance "ndctl list -R -N" prints {"regions": [...]}).
WRAPPER_KEYS = ('regions', 'namespaces', 'dimms', 'devices', 'buses', 'memblocks', 'mappings')

# Package that ships each tool, for the "install it" message.
TOOL_PACKAGES = {
    'ndctl': 'ndctl',
    'daxctl': 'daxctl',
    'cxl': 'cxl',
}

CommandResult = collections.namedtuple('CommandResult', ['argv', 'rc', 'stdout', 'stderr'])

C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}


def run_to_end(module, argv, environ_update=None, data=None):
    """Run argv (a list, no shell) and return ``(rc, stdout, stderr)`` once it has exited and both of its pipes
    are read to their end; ``data`` (text) goes to its stdin followed by a newline, as run_command sends it.

    Not ``module.run_command``: its read loop stops when select() found nothing for a second and the process
    has exited by the time it looks, and what the command printed in between is lost, with rc 0
    (ansible/ansible#51393, still so in ansible-core 2.21). ndctl and daxctl print their JSON at the very end,
    after seconds of silence on a busy host, so a list could read as empty (a host without namespaces) or
    cut short; on the loaded test bed other modules' commands came back short that way. communicate() reads
    to the end. None of the programs run here leaves a process behind that would hold the pipes open.
    """
    env = dict(os.environ)
    env.update(environ_update or {})
    stdin = to_bytes(data + '\n') if data else None
    try:
        # The one place that does not use run_command, for the reason above (sanity's pylint asks for it).
        process = subprocess.Popen([to_bytes(arg) for arg in argv], env=env, close_fds=True,  # pylint: disable=ansible-bad-function
                                   stdin=subprocess.PIPE if stdin is not None else None,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = process.communicate(stdin)
    except OSError as exc:
        module.fail_json(msg='Error executing command: %s' % to_native(exc), cmd=list(argv), rc=exc.errno,
                         stdout='', stderr='')
    return (process.returncode, to_native(stdout, errors='surrogate_or_strict'),
            to_native(stderr, errors='surrogate_or_strict'))


class CliError(Exception):
    """A command failed (or printed something that is not what we expected)."""

    def __init__(self, argv, rc, stdout, stderr, message=None):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout or ''
        self.stderr = stderr or ''
        self.message = message or self._default_message()
        super(CliError, self).__init__(self.message)

    def _default_message(self):
        detail = self.stderr.strip() or self.stdout.strip() or 'no output'
        return '%s failed (rc %s): %s' % (' '.join(self.argv), self.rc, detail)

    def to_dict(self):
        """Fields to pass on to ``module.fail_json`` next to ``msg``."""
        return dict(cmd=self.argv, rc=self.rc, stdout=self.stdout, stderr=self.stderr)


class ToolMissingError(CliError):
    """ndctl or daxctl is not installed on the host."""

    def __init__(self, tool):
        package = TOOL_PACKAGES.get(tool, tool)
        message = '%s not found: install the %s package' % (tool, package)
        super(ToolMissingError, self).__init__([tool], None, '', '', message=message)


def parse_json_list(text):
    """Turn the JSON that ndctl/daxctl print into a list of objects.

    ndctl and daxctl print nothing at all (rc 0) when nothing matches, a bare array normally, an
    object with one list per kind when several kinds are listed together, and a lone object in
    some cases (and with ``-u``). Callers always want a list.
    """
    if text is None or not text.strip():
        return []
    data = json.loads(text)
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        wrapped = [key for key in WRAPPER_KEYS if isinstance(data.get(key), list)]
        if len(wrapped) == 1 and len(data) == 1:
            return data[wrapped[0]]
        return [data]
    raise ValueError('expected a JSON array or object, got %s' % type(data).__name__)


class CliRunner(object):
    """Runs ndctl/daxctl through :func:`run_to_end`; see the module docstring for the API."""

    def __init__(self, module):
        self.module = module
        self.commands = []
        self.changes = []
        self._paths = {}

    def bin_path(self, tool):
        if tool not in self._paths:
            path = self.module.get_bin_path(tool, required=False)
            if not path:
                raise ToolMissingError(tool)
            self._paths[tool] = path
        return self._paths[tool]

    def _execute(self, tool, args, timeout=None, data=None):
        args = [str(arg) for arg in args]
        argv = [self.bin_path(tool)] + args
        if timeout:
            # run_to_end waits as long as the command runs; coreutils timeout bounds the wait (rc 124)
            # and kills what does not stop after a grace period.
            timeout_path = self.module.get_bin_path('timeout', required=False)
            if timeout_path:
                argv = [timeout_path, '--kill-after=10', str(int(timeout))] + argv
        recorded = [tool] + args
        self.commands.append(recorded)
        rc, stdout, stderr = self.spawn(argv, data=data)
        return CommandResult(recorded, rc, stdout or '', stderr or '')

    def spawn(self, argv, data=None):
        return run_to_end(self.module, argv, environ_update=C_LOCALE, data=data)

    def run(self, tool, args, check=True, timeout=None):
        result = self._execute(tool, args, timeout=timeout)
        if check and result.rc != 0:
            raise CliError(result.argv, result.rc, result.stdout, result.stderr)
        return result

    def run_change(self, tool, args, timeout=None, data=None):
        result = self._execute(tool, args, timeout=timeout, data=data)
        self.changes.append(result.argv)
        return result

    def json(self, tool, args):
        result = self.run(tool, args)
        try:
            return parse_json_list(result.stdout)
        except ValueError as exc:
            raise CliError(result.argv, result.rc, result.stdout, result.stderr,
                           message='%s printed output that is not JSON: %s' % (' '.join(result.argv), exc))
