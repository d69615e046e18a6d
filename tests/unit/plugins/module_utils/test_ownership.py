# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ownership record: who owns a namespace is its recorded uuid, never its name."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.pmem.dax.plugins.module_utils import _ownership

UUID = '0f7e4c1a-9b2d-4e8f-a1c3-5d6e7f8a9b0c'
RECORD = {'version': 1, 'namespaces': [{'uuid': UUID, 'name': 'pmem-ram-region0', 'region': 'region0'}],
          'cxl_regions': [{'region': 'region0', 'uuid': 'abc', 'memdevs': ['mem0']}]}

OWNERSHIP_CASES = [
    # id, namespace, expected ownership, words the refusal must hold (None: no refusal)
    ('same raw uuid', {'name': 'pmem-ram-region0', 'raw_uuid': UUID, 'uuid': 'info-block', 'dev': 'namespace0.0'},
     _ownership.RECORDED, None),
    ('uuid case does not matter', {'name': 'x', 'raw_uuid': UUID.upper(), 'dev': 'namespace0.0'}, _ownership.RECORDED, None),
    ('the name alone is not ownership', {'name': 'pmem-ram-data', 'raw_uuid': '1' * 32, 'dev': 'namespace0.1'},
     _ownership.NOT_RECORDED, 'was not created by pmem.dax (its uuid is not in the ownership record'),
    ('recorded name, new uuid: re-created by hand', {'name': 'pmem-ram-region0', 'raw_uuid': '2' * 32, 'dev': 'namespace0.0'},
     _ownership.REPLACED, 'has pmem-ram-region0 with uuid %s, so it was destroyed and re-created outside pmem.dax' % UUID),
    ('no uuid at all', {'name': None, 'raw_uuid': None, 'uuid': None, 'dev': 'namespace0.2'}, _ownership.NOT_RECORDED,
     'uuid none'),
]


@pytest.mark.parametrize('namespace, expected, refusal', [case[1:] for case in OWNERSHIP_CASES],
                         ids=[case[0] for case in OWNERSHIP_CASES])
def test_ownership_of(namespace, expected, refusal):
    assert _ownership.ownership_of(RECORD, namespace) == expected
    message = _ownership.not_owned_message(RECORD, namespace)
    if refusal is None:
        assert message is None
    else:
        assert refusal in message and 'set adopt: true' in message


def test_record_round_trip_and_changes(tmp_path):
    class Module(object):
        def atomic_move(self, source, destination):
            os.rename(source, destination)

    path = str(tmp_path / 'var' / 'lib' / 'pmem-dax' / 'owned.json')
    assert _ownership.read_record(path) == _ownership.empty_record()
    record = _ownership.with_namespace(_ownership.empty_record(), {'raw_uuid': UUID.upper(), 'name': 'a', 'region': 'region1'})
    record = _ownership.with_region(record, {'name': 'region0', 'uuid': 'ABC', 'memdevs': ['mem1', 'mem0']})
    _ownership.write_record(Module(), path, record)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == oct(0o700)
    assert _ownership.read_record(path) == {'version': 1, 'namespaces': [{'uuid': UUID, 'name': 'a', 'region': 'region1'}],
                                            'cxl_regions': [{'region': 'region0', 'uuid': 'abc', 'memdevs': ['mem0', 'mem1']}]}
    assert _ownership.region_recorded(record, {'name': 'region0', 'uuid': 'abc', 'memdevs': ['mem0', 'mem1']})
    assert not _ownership.region_recorded(record, {'name': 'region0', 'uuid': 'other', 'memdevs': ['mem0', 'mem1']})
    assert _ownership.without_namespace(record, UUID)['namespaces'] == []
    assert _ownership.without_region(record, 'region0')['cxl_regions'] == []


@pytest.mark.parametrize('content, words', [
    ('{not json', 'is not valid JSON'),
    (json.dumps({'namespaces': {}}), 'does not hold namespaces and cxl_regions lists'),
    (json.dumps(['a']), 'does not hold namespaces and cxl_regions lists'),
], ids=['not json', 'namespaces not a list', 'not an object'])
def test_a_record_that_is_not_ours_is_an_error_not_an_empty_record(tmp_path, content, words):
    path = tmp_path / 'owned.json'
    path.write_text(content)
    with pytest.raises(_ownership.RecordError) as raised:
        _ownership.read_record(str(path))
    assert words in str(raised.value)
