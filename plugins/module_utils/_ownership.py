# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ownership record: what pmem.dax created on this host, by uuid.

A name label is text anyone can write; it says nothing about who made a namespace. What the collection
creates it records here, by the uuid the kernel reports (and, for a CXL region, by its name, uuid and
memdevs), and what it destroys by default is only what is recorded with the same uuid. The record lives
at ``OWNERSHIP_PATH`` (under the Sysfs root, so unit tests point it at a fake tree) and is changed only
under the host lock.

Record format (JSON)::

    {"version": 1,
     "namespaces": [{"uuid": "<the namespace's raw_uuid>", "name": "pmem-ram-region0", "region": "region0"}],
     "cxl_regions": [{"region": "region0", "uuid": "...", "memdevs": ["mem0"]}]}

``ownership_of(record, namespace)`` is pure; ``read_record`` / ``write_record`` do the file.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import uuid as uuidlib

from ansible_collections.pmem.dax.plugins.module_utils._jsonfile import write_json

OWNERSHIP_PATH = '/var/lib/pmem-dax/owned.json'
RECORD_VERSION = 1

# ownership_of answers
RECORDED = 'recorded'        # created (or adopted) by pmem.dax, same uuid
REPLACED = 'replaced'        # the name was recorded with another uuid: re-created outside pmem.dax
NOT_RECORDED = 'not-recorded'

ADOPT_HINT = ('To hand it to pmem.dax, which then may destroy its data, set adopt: true on its item')


class RecordError(Exception):
    """The ownership record exists but cannot be read or is not ours."""


def new_uuid():
    """The uuid a namespace gets before it exists (so it is recorded before ndctl creates it)."""
    return str(uuidlib.uuid4())


def empty_record():
    return {'version': RECORD_VERSION, 'namespaces': [], 'cxl_regions': []}


def record_path(sysfs=None):
    """Where the record is on this host (under the test root in unit tests)."""
    return sysfs.path(OWNERSHIP_PATH.lstrip('/')) if sysfs is not None else OWNERSHIP_PATH


def read_record(path):
    """The record at path; an empty one when the file does not exist."""
    try:
        with open(path, 'rb') as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return empty_record()
        raise RecordError('cannot read the pmem.dax ownership record %s: %s' % (path, exc))
    try:
        data = json.loads(text.decode('utf-8')) if text.strip() else empty_record()
    except ValueError as exc:
        raise RecordError('the pmem.dax ownership record %s is not valid JSON (%s); it was not changed. Fix or '
                          'remove it by hand: without it nothing counts as created by pmem.dax' % (path, exc))
    if not isinstance(data, dict) or not isinstance(data.get('namespaces', []), list) \
            or not isinstance(data.get('cxl_regions', []), list):
        raise RecordError('the pmem.dax ownership record %s does not hold namespaces and cxl_regions lists' % path)
    record = empty_record()
    record['namespaces'] = [entry for entry in data.get('namespaces', []) if isinstance(entry, dict) and entry.get('uuid')]
    record['cxl_regions'] = [entry for entry in data.get('cxl_regions', []) if isinstance(entry, dict)]
    return record


def write_record(module, path, record):
    """Write the record atomically (a temporary file beside it, then module.atomic_move), root only."""
    write_json(module, path, record, mode=0o600)


def namespace_uuid(namespace):
    """The namespace's own uuid (raw_uuid: the label's, which create-namespace --uuid sets), lower case."""
    return (namespace.get('raw_uuid') or namespace.get('uuid') or '').lower()


def ownership_of(record, namespace):
    """RECORDED, REPLACED or NOT_RECORDED for a namespace dict (raw_uuid, name) of HostState."""
    uuid = namespace_uuid(namespace)
    entries = record.get('namespaces', [])
    if uuid and any((entry.get('uuid') or '').lower() == uuid for entry in entries):
        return RECORDED
    if namespace.get('name') and any(entry.get('name') == namespace['name'] for entry in entries):
        return REPLACED
    return NOT_RECORDED


def recorded_uuid(record, name):
    """The uuid the record holds for a name label (the newest entry), or None."""
    uuids = [entry.get('uuid') for entry in record.get('namespaces', []) if entry.get('name') == name]
    return uuids[-1] if uuids else None


def not_owned_message(record, namespace, path=OWNERSHIP_PATH):
    """Why pmem.dax leaves a namespace alone, or None when it is recorded as ours."""
    ownership = ownership_of(record, namespace)
    if ownership == RECORDED:
        return None
    described = 'namespace %s (%s, uuid %s)' % (namespace.get('name') or '(no name)', namespace.get('dev'),
                                                namespace_uuid(namespace) or 'none')
    if ownership == REPLACED:
        return ('%s was not created by pmem.dax: the ownership record %s has %s with uuid %s, so it was destroyed '
                'and re-created outside pmem.dax and may hold someone\'s data. %s'
                % (described, path, namespace['name'], recorded_uuid(record, namespace['name']), ADOPT_HINT))
    return ('%s was not created by pmem.dax (its uuid is not in the ownership record %s); a name is not '
            'ownership. %s' % (described, path, ADOPT_HINT))


def with_namespace(record, namespace):
    """A copy of the record that holds the namespace (uuid, name, region), replacing a same-uuid entry."""
    uuid = namespace_uuid(namespace)
    kept = [entry for entry in record.get('namespaces', []) if (entry.get('uuid') or '').lower() != uuid]
    entry = {'uuid': uuid, 'name': namespace.get('name'), 'region': namespace.get('region')}
    return dict(record, namespaces=kept + [entry])


def without_namespace(record, uuid):
    uuid = (uuid or '').lower()
    return dict(record, namespaces=[entry for entry in record.get('namespaces', [])
                                    if (entry.get('uuid') or '').lower() != uuid])


def region_recorded(record, region):
    """Whether a CXL region dict (name, uuid, memdevs) is recorded with the same uuid (or, without one, memdevs)."""
    for entry in record.get('cxl_regions', []):
        if entry.get('region') != region.get('name'):
            continue
        if entry.get('uuid') and region.get('uuid'):
            if entry['uuid'].lower() == region['uuid'].lower():
                return True
        elif sorted(entry.get('memdevs') or []) == sorted(region.get('memdevs') or []):
            return True
    return False


def with_region(record, region):
    kept = [entry for entry in record.get('cxl_regions', []) if entry.get('region') != region.get('name')]
    entry = {'region': region.get('name'), 'uuid': (region.get('uuid') or '').lower() or None,
             'memdevs': sorted(region.get('memdevs') or [])}
    return dict(record, cxl_regions=kept + [entry])


def without_region(record, name):
    return dict(record, cxl_regions=[entry for entry in record.get('cxl_regions', []) if entry.get('region') != name])
