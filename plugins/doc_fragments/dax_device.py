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
      - Exactly one of O(device), O(namespace) and O(devices) is required.
    type: str
  namespace:
    description:
      - The name label of the devdax namespace whose dax device is meant (as given to M(pmem.dax.pmem_namespace)).
    type: str
  devices:
    description:
      - Several devices in one run, instead of O(device) or O(namespace); the other options apply to every item.
      - All items are planned from one read of the host before anything changes, and the task fails before any
        change when one of them cannot be done (an unknown device, or no room to take memory offline; the room
        check counts the memory the items before it take away). Then they are changed one after the other,
        in the order given; when one fails, the ones before it stay done and the ones after it are not
        touched.
      - Cheaper than a loop over the module on a slow host (one module start-up, one lock, one state read).
    type: list
    elements: dict
    suboptions:
      device:
        description:
          - The dax device, as V(dax0.0) or V(/dev/dax0.0). Exactly one of O(devices[].device) and
            O(devices[].namespace) is required.
        type: str
      namespace:
        description:
          - The name label of the devdax namespace whose dax device is meant.
        type: str
      movable:
        description:
          - O(movable) for this device; when omitted, O(movable) applies.
        type: bool
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
