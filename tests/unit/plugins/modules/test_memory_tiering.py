# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""memory_tiering: the cases are data in test_memory_tiering.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.pmem.dax.plugins.modules import memory_tiering
from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import UTHelper

test_memory_tiering = UTHelper.from_test_file(memory_tiering, __file__).make_test()
