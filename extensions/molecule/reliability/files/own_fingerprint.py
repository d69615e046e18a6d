# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The phase "ownership" of the reliability scenario: prints {name: "uuid sha256 [mounted]"} for the
phase's namespaces in region1 - the namespace uuid (ndctl's raw_uuid) and the checksum of its first
16 MiB (a dax device through a read-only shared mapping, as it supports no read(); a block device read),
or of the file on it while it is mounted (a mounted filesystem's device changes under it)."""

import hashlib
import json
import mmap
import os
import subprocess

NAMES = ('pmem-ram-data', 'pmem-ram-mnt', 'pmem-ram-raw', 'pmem-ram-open', 'user-db', 'pmem-ram-remade',
         'pmem-ram-ours')
HEAD = 16 << 20


def digest_of(namespace, mounts):
    chardev = ((namespace.get('daxregion') or {}).get('devices') or [{}])[0].get('chardev')
    path = '/dev/' + (namespace.get('blockdev') or chardev)
    if path in mounts:
        with open(os.path.join(mounts[path], 'file'), 'rb') as handle:
            return hashlib.sha256(handle.read()).hexdigest() + ' mounted'
    if namespace.get('blockdev'):
        with open(path, 'rb') as handle:
            return hashlib.sha256(handle.read(HEAD)).hexdigest()
    fd = os.open(path, os.O_RDONLY)
    try:
        area = mmap.mmap(fd, HEAD, mmap.MAP_SHARED, mmap.PROT_READ)
        try:
            return hashlib.sha256(area[:]).hexdigest()
        finally:
            area.close()
    finally:
        os.close(fd)


def main():
    found = json.loads(subprocess.check_output(['ndctl', 'list', '-N', '-v', '-r', 'region1']) or b'[]')
    found = found if isinstance(found, list) else [found]
    with open('/proc/self/mounts') as handle:
        mounts = dict(line.split()[:2] for line in handle)
    result = {}
    for namespace in found:
        if namespace.get('name') in NAMES:
            result[namespace['name']] = '%s %s' % (namespace.get('raw_uuid') or namespace.get('uuid'),
                                                   digest_of(namespace, mounts))
    print(json.dumps(result, sort_keys=True))


if __name__ == '__main__':
    main()
