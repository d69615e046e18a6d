# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.pmem.dax.plugins.module_utils._sizes import SizeError, format_size, parse_size, round_down, round_up

GIB = 1024 ** 3

ACCEPTED = [
    ('12g', 12 * GIB),
    ('12G', 12 * GIB),
    ('12GiB', 12 * GIB),
    ('12 GiB', 12 * GIB),
    ('12gb', 12 * GIB),
    ('512m', 512 * 1024 ** 2),
    ('512M', 512 * 1024 ** 2),
    ('1.5g', 3 * GIB // 2),
    ('0.5k', 512),
    ('1t', 1024 * GIB),
    ('1073741824', GIB),
    (1073741824, GIB),
    (4096.0, 4096),
    ('  2g  ', 2 * GIB),
]

REFUSED = [
    ('abc', 'cannot read'),
    ('', 'cannot read'),
    ('12x', 'cannot read'),
    ('1e3', 'cannot read'),
    ('12iB', 'cannot read'),
    ('-1g', 'negative'),
    (-5, 'negative'),
    ('0', 'greater than zero'),
    (0, 'greater than zero'),
    ('0g', 'greater than zero'),
    ('0.3k', 'not a whole number of bytes'),
    ('1.5', 'not a whole number of bytes'),
    (1.5, 'not a whole number of bytes'),
    (True, 'expected a size'),
]


@pytest.mark.parametrize('value, expected', ACCEPTED, ids=[repr(case[0]) for case in ACCEPTED])
def test_parse_size_accepts(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize('value, message', REFUSED, ids=[repr(case[0]) for case in REFUSED])
def test_parse_size_refuses(value, message):
    with pytest.raises(SizeError) as raised:
        parse_size(value, 'size')
    assert message in str(raised.value)
    assert str(raised.value).startswith('size: ')


@pytest.mark.parametrize('value, expected', [
    (512, '512 B'), (1024, '1 KiB'), (GIB, '1 GiB'), (12683575296, '11.8 GiB'), (1054867456, '1006 MiB'),
    (1082130432, '1032 MiB'), (3758096384, '3.5 GiB'), (12884901888, '12 GiB'), (None, None),
])
def test_format_size(value, expected):
    assert format_size(value) == expected


def test_rounding():
    assert round_down(1000, 16) == 992
    assert round_up(1000, 16) == 1008
    assert round_up(992, 16) == 992
