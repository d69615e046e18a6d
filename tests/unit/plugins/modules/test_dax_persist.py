# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""dax_persist: the cases are data in test_dax_persist.yaml.

Besides uthelper's keys a case may have ``modes`` ({path under the fake root: "0600"}: set after the host
tree is built) and ``files_after`` ({path: null (must not exist) | {mode: "0600", json: {...}, text: "..."}}).
The module writes the config owned by root; these tests run as whoever runs pytest, so that is the owner here.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fcntl
import json
import os
import stat

import pytest

from ansible_collections.pmem.dax.plugins.modules import dax_persist
from ansible_collections.pmem.dax.tests.unit.plugins.modules import uthelper

HELPER = uthelper.UTHelper.from_test_file(dax_persist, __file__)


@pytest.mark.parametrize('case', HELPER.cases, ids=[case['id'] for case in HELPER.cases])
def test_dax_persist(case, tmp_path, monkeypatch):
    monkeypatch.setattr(dax_persist, 'OWNER', (os.getuid(), os.getgid()))
    build_host = uthelper.build_host

    def build_host_with_modes(root, host):
        build_host(root, host)
        for relpath, mode in (case.get('modes') or {}).items():
            os.chmod(os.path.join(root, relpath), int(str(mode), 8))

    monkeypatch.setattr(uthelper, 'build_host', build_host_with_modes)
    uthelper.run_case(dax_persist, case, tmp_path, HELPER.hosts)

    root = str(tmp_path / 'root')
    for relpath, expected in (case.get('files_after') or {}).items():
        path = os.path.join(root, relpath)
        if expected is None:
            assert not os.path.lexists(path), '%s should not exist' % relpath
            continue
        assert os.path.lexists(path), '%s should exist' % relpath
        if 'mode' in expected:
            assert oct(stat.S_IMODE(os.lstat(path).st_mode)) == oct(int(str(expected['mode']), 8)), relpath
        if 'json' in expected:
            with open(path) as handle:
                assert json.load(handle) == expected['json'], relpath
        if 'text' in expected:
            with open(path) as handle:
                assert handle.read() == expected['text'], relpath


def test_dax_persist_waits_for_the_host_lock(tmp_path, monkeypatch):
    """Another run holding the host lock: dax_persist neither reads nor writes the config until it is free
    (two runs at once would otherwise each write their own entries over the other's)."""
    monkeypatch.setattr(dax_persist, 'OWNER', (os.getuid(), os.getgid()))
    monkeypatch.setattr(dax_persist, 'LOCK_TIMEOUT', 0.3)
    config = tmp_path / 'root' / 'etc' / 'pmem-dax' / 'system-ram.json'
    lock_file = tmp_path / 'lock' / 'pmem-dax.lock'  # where uthelper.run_main points the host lock
    lock_file.parent.mkdir()
    with open(str(lock_file), 'w') as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        case = {'host': 'installed_a', 'input': {'namespaces': [{'name': 'ram-b'}]},
                'output': {'failed': True}, 'msg_contains': 'another pmem.dax task holds the host lock'}
        uthelper.run_case(dax_persist, case, tmp_path, HELPER.hosts)
    assert 'ram-b' not in config.read_text()
