# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sizes as users write them, and as people read them.

API (stable; additions only):

``parse_size(value, option='size')`` -> int bytes
    Accepts integers, digit strings ("1073741824") and a number with a unit: "12g", "12G", "12GB",
    "12GiB", "12 GiB", "512m", "1.5g". Units k/m/g/t/p/e are powers of 1024 (as ndctl reads them).
    Raises :class:`SizeError` for garbage, negatives, zero and fractions that are not a whole number
    of bytes; the message names the option.
``format_size(nbytes)`` -> "11.8 GiB" (one decimal, binary units; "512 B" under 1 KiB; an exact
    "1032 MiB" rather than "1.0 GiB" below 10 of the larger unit).
``round_down(value, unit)`` / ``round_up(value, unit)`` -> multiples of unit.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation

from ansible.module_utils.common.text.formatters import human_to_bytes

_SIZE_RE = re.compile(r'^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<prefix>[kmgtpe])?(?P<suffix>i?b)?\s*$', re.IGNORECASE)
_POWERS = {'': 0, 'K': 1, 'M': 2, 'G': 3, 'T': 4, 'P': 5, 'E': 6}
_UNITS = ('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB')


class SizeError(ValueError):
    """A size the user gave cannot be used."""


def parse_size(value, option='size'):
    if isinstance(value, bool):
        raise SizeError('%s: expected a size such as 12g or 1073741824, got %r' % (option, value))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if value != int(value):
            raise SizeError('%s: %r is not a whole number of bytes' % (option, value))
        text = str(int(value))
    else:
        text = str(value)
    if text.strip().startswith('-'):
        raise SizeError('%s: %s is negative; give a positive size such as 12g' % (option, text.strip()))
    match = _SIZE_RE.match(text)
    if not match:
        raise SizeError('%s: cannot read %r as a size; use bytes or a number with a unit '
                        '(k, m, g, t; e.g. 512m, 12g, 12GiB)' % (option, text))
    prefix = (match.group('prefix') or '').upper()
    if not prefix and match.group('suffix') and match.group('suffix').upper() == 'IB':
        raise SizeError('%s: cannot read %r as a size' % (option, text))
    try:
        exact = Decimal(match.group('number')) * (1024 ** _POWERS[prefix])
    except InvalidOperation:
        raise SizeError('%s: cannot read %r as a size' % (option, text))
    if exact != exact.to_integral_value():
        raise SizeError('%s: %s is not a whole number of bytes (%s)' % (option, text.strip(), exact))
    if exact == 0:
        raise SizeError('%s: must be greater than zero' % option)
    # human_to_bytes does the unit arithmetic ansible users know; it goes through a float, so
    # prefer the exact Decimal result for the (rare) sizes a float cannot hold.
    converted = human_to_bytes(match.group('number') + prefix)
    if converted != int(exact):
        return int(exact)
    return converted


def format_size(nbytes):
    if nbytes is None:
        return None
    nbytes = int(nbytes)
    unit = 0
    while unit < len(_UNITS) - 1 and abs(nbytes) >= 1024 ** (unit + 1):
        unit += 1
    # 1032 MiB reads better exact than as "1.0 GiB": step down a unit when that gives a short exact number.
    if unit and (nbytes * 10) % (1024 ** unit) and not nbytes % (1024 ** (unit - 1)) \
            and abs(nbytes) < 10 * 1024 ** unit:
        unit -= 1
    if unit == 0:
        return '%d B' % nbytes
    text = '%.1f' % (float(nbytes) / 1024 ** unit)
    if text.endswith('.0'):
        text = text[:-2]
    return '%s %s' % (text, _UNITS[unit])


def round_down(value, unit):
    return (int(value) // int(unit)) * int(unit)


def round_up(value, unit):
    return -(-int(value) // int(unit)) * int(unit)
