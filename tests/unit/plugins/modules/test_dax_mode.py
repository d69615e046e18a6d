# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pmem.dax.dax_mode, table-driven: the cases are in test_dax_mode.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.pmem.dax.plugins.modules import dax_mode
from ansible_collections.pmem.dax.tests.unit.plugins.modules.test_dax_memory import make_test

test_dax_mode = make_test(dax_mode, __file__)
