# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    """Options of the modules that work on one dax device's memory (dax_mode, dax_memory)."""

    DOCUMENTATION = r'''
options:
  device:
    description:
      - The dax device, as V(dax0.0) or V(/dev/dax0.0).
      - Exactly one of O(device) and O(namespace) is required.
    type: str
  namespace:
    description:
      - The name label of the devdax namespace whose dax device is meant (as given to M(pmem.dax.pmem_namespace)).
    type: str
  movable:
    description:
      - Online memory into zone Movable (V(true)) or Normal (V(false)).
      - Movable memory can be taken offline again because the kernel can migrate its pages; Normal memory gets
        unmovable kernel pages and usually stays until a reboot. Use V(false) only when the host needs more
        memory for the kernel itself (a Movable to Normal ratio above about 3 to 1 risks OOM).
    type: bool
    default: true
  relocate:
    description:
      - What to do with blocks that are already online in the other zone than O(movable) asks for.
      - V(false) leaves them where they are, with a warning, and lists them in RV(misplaced_blocks).
      - V(true) takes them offline (room check, bounded wait, retries, as for taking memory offline) and
        onlines them in the zone asked for.
    type: bool
    default: false
'''
