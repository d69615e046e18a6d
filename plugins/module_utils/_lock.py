# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One host-wide lock so that two pmem.dax runs on a host never interleave.

API (stable; additions only):

``with host_lock(module, timeout=60, path=None):``  (None: ``LOCK_PATH``; unit tests change that)
    Takes an exclusive ``fcntl.flock`` on ``/run/lock/pmem-dax.lock`` (the directory is created when
    missing, the file with mode 0600), waiting up to ``timeout`` seconds. On timeout it calls
    ``module.fail_json`` with a message naming the lock file; with ``module=None`` it raises
    :class:`LockTimeoutError` instead. Every module that changes state holds the lock from its first
    read of the host to its last write.

``LOCK_TIMEOUT``: how long a state-changing module waits for the lock (300 s); ``LOCK_GRACE_SECONDS``:
what dax_mode / dax_memory add to their own ``timeout`` (a concurrent run holds the lock for about its
timeout plus its other steps).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import time

LOCK_PATH = '/run/lock/pmem-dax.lock'
# Seconds a module that changes the host waits for another pmem.dax task to finish.
LOCK_TIMEOUT = 300
# A concurrent memory run holds the lock for at most about its own timeout plus its other steps.
LOCK_GRACE_SECONDS = 60
_POLL_SECONDS = 0.1


class LockTimeoutError(Exception):
    """The host lock stayed taken for longer than the timeout."""


def _open_lock_file(path):
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def host_lock(module, timeout=60, path=None):
    path = path or LOCK_PATH
    try:
        fd = _open_lock_file(path)
    except (IOError, OSError) as exc:
        message = 'cannot open the pmem.dax lock file %s: %s' % (path, exc)
        if module is None:
            raise LockTimeoutError(message)
        module.fail_json(msg=message)
    try:
        deadline = time.time() + max(0, timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.time() >= deadline:
                    message = ('another pmem.dax task holds the host lock %s; gave up after %s seconds. '
                               'Wait for it to finish and run again' % (path, timeout))
                    if module is None:
                        raise LockTimeoutError(message)
                    module.fail_json(msg=message)
                time.sleep(_POLL_SECONDS)
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
