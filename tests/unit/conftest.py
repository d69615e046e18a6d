# -*- coding: utf-8 -*-
# Copyright: pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make `ansible_collections.pmem.dax` importable from this checkout, wherever it lies.

Plugins import each other as `ansible_collections.pmem.dax.plugins...`, so Python needs a folder that
holds `ansible_collections/pmem/dax/` pointing at this checkout. When the checkout already sits in such a
tree (an installed collection, or scripts/setup's build copy) that tree is used; otherwise a symlink
build/pytest/ansible_collections/pmem/dax -> checkout is made once, so the tests always run the
working-tree code and not a stale copy.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collections_parent(collection_root):
    """Return the folder that holds ansible_collections/pmem/dax for this checkout."""
    namespace_dir = os.path.dirname(collection_root)
    collections_dir = os.path.dirname(namespace_dir)
    if (os.path.basename(collection_root), os.path.basename(namespace_dir), os.path.basename(collections_dir)) \
            == ('dax', 'pmem', 'ansible_collections'):
        return os.path.dirname(collections_dir)

    parent = os.path.join(collection_root, 'build', 'pytest')
    link = os.path.join(parent, 'ansible_collections', 'pmem', 'dax')
    if os.path.realpath(link) != collection_root:
        if not os.path.isdir(os.path.dirname(link)):
            os.makedirs(os.path.dirname(link))
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(collection_root, link)
    return parent


_PARENT = _collections_parent(COLLECTION_ROOT)
if _PARENT not in sys.path:
    sys.path.insert(0, _PARENT)
# Should anything load ansible's collection finder, it must find this same copy.
os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', _PARENT)
