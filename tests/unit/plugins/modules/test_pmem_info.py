# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pmem_info: the cases are data in test_pmem_info.yaml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.pmem.dax.plugins.modules import pmem_info
from ansible_collections.pmem.dax.tests.unit.plugins.modules.uthelper import UTHelper

test_pmem_info = UTHelper.from_test_file(pmem_info, __file__).make_test()
