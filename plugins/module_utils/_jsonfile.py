# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Files the modules keep on a host (the ownership record, the boot-time config, udev overrides), written whole.

``write_text(module, path, text, mode=0o600, owner=None, directory_mode=0o700)``: the text goes to a temporary
file in the same directory (``tempfile.mkstemp``, synced), which ``module.atomic_move`` renames over ``path``, so a
reader sees the old file or the new one, never half of one. A missing directory is created (0700 unless told).
``write_json(module, path, data, mode=0o600, owner=None)``: write_text of ``render_json(data)``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes

DIRECTORY_MODE = 0o700


def render_json(data):
    """The text write_json writes for data: sorted keys, so that the same data is the same text."""
    return json.dumps(data, indent=2, sort_keys=True) + '\n'


def write_text(module, path, text, mode=0o600, owner=None, directory_mode=DIRECTORY_MODE):
    """Write text to path atomically; then give it mode and, when given, owner ((uid, gid))."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, directory_mode)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix='.%s-' % os.path.basename(path))
    try:
        os.write(handle, to_bytes(text))
        os.fsync(handle)
    finally:
        os.close(handle)
    module.atomic_move(temporary, path)
    # atomic_move gives the file the mode and owner of the one it replaced, or a new file 0666 less the umask:
    # set ours afterwards (a new file is readable as the umask allows until then: neither file holds a secret).
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner[0], owner[1])


def write_json(module, path, data, mode=0o600, owner=None):
    """Write data to path atomically (write_text of render_json's text)."""
    write_text(module, path, render_json(data), mode, owner)
