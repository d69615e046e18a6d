# -*- coding: utf-8 -*-
# Copyright (c) pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot-time half of the pmem.dax pmem_system_ram role.

System-ram mode does not survive a reboot, and the distributions' own udev/daxctl.conf.d path is broken
(bookworm's rule runs an unknown option, trixie's wants a service nobody ships). This script, run by
pmem-dax-system-ram.service, reads the role's config and turns each listed namespace (found by its name
label, or by uuid) back into online system RAM in the zone the role chose. Installed by Ansible: do not edit.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import subprocess
import sys
import time

CONFIG = "/etc/pmem-dax/system-ram.json"
AUTO_ONLINE = "/sys/devices/system/memory/auto_online_blocks"
DEMOTION = "/sys/kernel/mm/numa/demotion_enabled"


def log(message):
    print(message, flush=True)


def run_json(argv):
    """Run ndctl/daxctl and return its JSON output as a list (empty stdout means no match)."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                            universal_newlines=True, env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if result.returncode != 0:
        raise RuntimeError("%s failed (rc %d): %s" % (" ".join(argv), result.returncode, result.stderr.strip()))
    if not result.stdout.strip():
        return []
    data = json.loads(result.stdout)
    return data if isinstance(data, list) else [data]


def run(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                            universal_newlines=True)
    return result.returncode, result.stdout.strip()


def find_devices(wanted):
    """Map each wanted namespace (by name, else uuid) to its dax chardev, for those present now."""
    found = {}
    for namespace in run_json(["ndctl", "list", "-N"]):
        for item in wanted:
            if item.get("name") and namespace.get("name") == item["name"] or \
                    item.get("uuid") and namespace.get("uuid") == item["uuid"]:
                chardev = namespace.get("chardev")
                if not chardev and namespace.get("daxregion"):
                    devices = namespace["daxregion"].get("devices") or [{}]
                    chardev = devices[0].get("chardev")
                if chardev:
                    found[item["name"]] = chardev
    return found


def dax_device(chardev):
    devices = run_json(["daxctl", "list", "-d", chardev])
    return devices[0] if devices else {}


def read(path):
    with open(path) as handle:
        return handle.read().strip()


def write(path, value):
    with open(path, "w") as handle:
        handle.write(value)


def apply(item, chardev):
    """Bring one device to system-ram with all its memory online in the configured zone."""
    device = dax_device(chardev)
    if device.get("mode") != "system-ram":
        rc, output = run(["daxctl", "reconfigure-device", "--mode=system-ram", "--no-online", chardev])
        if rc != 0:
            raise RuntimeError("reconfigure-device %s: %s" % (chardev, output))
    # Right after kmem binds, the block count can read negative for a moment: wait until it settles.
    for _attempt in range(30):
        device = dax_device(chardev)
        if device.get("total_memblocks", -1) >= 0:
            break
        time.sleep(1)
    if device.get("online_memblocks", 0) < device.get("total_memblocks", 0):
        argv = ["daxctl", "online-memory", chardev]
        if not item.get("movable", True):
            argv.insert(2, "--no-movable")
        rc, output = run(argv)
        if rc != 0:
            raise RuntimeError("online-memory %s: %s" % (chardev, output))
    device = dax_device(chardev)
    log("%s (%s): system-ram, %s of %s blocks online, movable=%s" % (
        item["name"], chardev, device.get("online_memblocks"), device.get("total_memblocks"),
        device.get("movable")))


def main():
    with open(CONFIG) as handle:
        config = json.load(handle)
    wanted = config.get("namespaces", [])

    failures = []
    if config.get("demotion") is not None:
        try:
            write(DEMOTION, "true" if config["demotion"] else "false")
            log("demotion_enabled set to %s" % config["demotion"])
        except OSError as error:
            failures.append("demotion: %s" % error)

    deadline = time.time() + int(config.get("wait_seconds", 300))
    found = find_devices(wanted)
    while len(found) < len(wanted) and time.time() < deadline:
        time.sleep(2)
        found = find_devices(wanted)

    failures += ["%s: namespace not found" % item["name"] for item in wanted if item["name"] not in found]

    # Hot-plugged blocks must stay offline until daxctl picks their zone: a kernel that auto-onlines them
    # would put them in ZONE_NORMAL, where they can never be removed again.
    policy = read(AUTO_ONLINE)
    if policy != "offline":
        write(AUTO_ONLINE, "offline")
    try:
        for item in wanted:
            if item["name"] in found:
                try:
                    apply(item, found[item["name"]])
                except (RuntimeError, ValueError) as error:
                    failures.append("%s: %s" % (item["name"], error))
    finally:
        if policy != "offline":
            write(AUTO_ONLINE, policy)

    for failure in failures:
        log("FAILED " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
