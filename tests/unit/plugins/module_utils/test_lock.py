# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fcntl
import os
import stat

import pytest

from ansible_collections.pmem.dax.plugins.module_utils._lock import LockTimeoutError, host_lock


class Failed(Exception):
    pass


class FakeModule(object):
    def fail_json(self, msg, **kwargs):
        raise Failed(msg)


def test_lock_creates_directory_and_private_file(tmp_path):
    path = str(tmp_path / 'run' / 'lock' / 'pmem-dax.lock')
    with host_lock(None, timeout=1, path=path) as held:
        assert held == path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # released: can be taken again at once
    with host_lock(None, timeout=0, path=path):
        pass


def test_lock_times_out_naming_the_lock(tmp_path):
    path = str(tmp_path / 'pmem-dax.lock')
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(LockTimeoutError) as raised:
            with host_lock(None, timeout=0.3, path=path):
                pass
        assert path in str(raised.value)
        with pytest.raises(Failed) as failed:
            with host_lock(FakeModule(), timeout=0.2, path=path):
                pass
        assert 'holds the host lock %s' % path in str(failed.value)
    finally:
        os.close(holder)
