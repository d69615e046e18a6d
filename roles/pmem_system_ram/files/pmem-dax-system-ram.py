# -*- coding: utf-8 -*-
# Copyright (c) pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot-time half of the pmem.dax pmem_system_ram role.

System-ram mode does not survive a reboot, and the distributions' own udev/daxctl.conf.d path is broken
(bookworm's rule runs an unknown option, trixie's wants a service nobody ships). This script, run by
pmem-dax-system-ram.service as ``python3 pmem-dax-system-ram.py CONFIG``, reads the role's config (written by
the pmem.dax.dax_persist module) and turns each listed namespace (found by its name
label, or by uuid) back into online system RAM in the zone the role chose. CXL RAM regions do not survive a
reboot at all: each listed one is created again over its memdevs (cxl create-region), with the auto-online
policy set to the zone the role chose, since kmem onlines a new CXL region's memory by itself.
Installed by Ansible: do not edit.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import contextlib
import json
import subprocess
import sys
import time

# Where the config is when the unit gives no path (dax_persist's default config_path).
CONFIG = "/etc/pmem-dax/system-ram.json"
# The same names and values as the collection's plugins/module_utils/_sysfs.py (AUTO_ONLINE_PATH,
# DEMOTION_PATH, the auto_online_blocks words, auto_online_policy), which the modules use; written out again
# here because this script runs on its own at boot, where the collection is not there to import from.
AUTO_ONLINE_PATH = "/sys/devices/system/memory/auto_online_blocks"
DEMOTION_PATH = "/sys/kernel/mm/numa/demotion_enabled"
AUTO_ONLINE_OFF = "offline"
ONLINE_MOVABLE = "online_movable"
ONLINE_KERNEL = "online_kernel"
# The tiering files of plugins/module_utils/_tiering.py (system_ram writes them when the role runs; this
# script writes them again after every boot, once the memory they concern is online).
NUMA_BALANCING_PATH = "/proc/sys/kernel/numa_balancing"
NUMA_BALANCING_MEMORY_TIERING = 2
PROMOTE_RATE_LIMIT_PATH = "/proc/sys/kernel/numa_balancing_promote_rate_limit_MBps"
WEIGHTED_INTERLEAVE_DIR = "/sys/kernel/mm/mempolicy/weighted_interleave"
HUGEPAGES_PATH = "/sys/devices/system/node/node%d/hugepages/hugepages-%dkB/nr_hugepages"
# The kernel maps CXL regions in 256 MiB units per memdev (the HDM decoder granularity).
CXL_REGION_UNIT = 256 * 1024 * 1024
# A new region's dax device and kmem's hot-plug of its memory follow create-region asynchronously.
CXL_SETTLE_SECONDS = 60


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


def auto_online_policy(online, movable):
    """The auto_online_blocks word that has the kernel online new memory as asked (as _sysfs.py's)."""
    if not online:
        return AUTO_ONLINE_OFF
    return ONLINE_MOVABLE if movable else ONLINE_KERNEL


@contextlib.contextmanager
def auto_online(policy):
    """auto_online_blocks set to policy inside the block, then back to what it was (as the modules hold it
    offline around a hot-plug and set it around cxl create-region, then restore it)."""
    before = read(AUTO_ONLINE_PATH)
    if before != policy:
        write(AUTO_ONLINE_PATH, policy)
    try:
        yield
    finally:
        if before != policy:
            write(AUTO_ONLINE_PATH, before)


def apply(item, chardev):
    """Bring one device to system-ram with all its memory online in the configured zone."""
    device = dax_device(chardev)
    if device.get("mode") != "system-ram":
        if item.get("memmap_on_memory"):
            # kmem decides where the page map goes when it takes the device: the switch first.
            write("/sys/bus/dax/devices/%s/memmap_on_memory" % chardev, "1")
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


def cxl_label(entry):
    return "CXL region over %s" % ",".join(entry["memdevs"])


def cxl_ram_region(entry):
    """The ram region over exactly the entry's memdevs, or None."""
    for region in run_json(["cxl", "list", "-R", "-X", "-T"]):
        memdevs = [mapping.get("memdev") for mapping in region.get("mappings") or []]
        if region.get("type") == "ram" and sorted(memdevs) == sorted(entry["memdevs"]):
            return region
    return None


def cxl_chardev(region):
    devices = ((region or {}).get("daxregion") or {}).get("devices") or []
    return devices[0].get("chardev") if devices else None


def wait_for_memdevs(entries, deadline):
    """Names of the memdevs the entries need that are there (cxl_pci probes them while udev runs)."""
    needed = set(name for entry in entries for name in entry["memdevs"])
    while True:
        present = set(item.get("memdev") for item in run_json(["cxl", "list", "-M"]))
        if needed <= present or time.time() >= deadline:
            return present
        time.sleep(2)


def create_cxl_region(entry):
    """cxl create-region over the entry's memdevs in the volatile-capable root decoder with most room, with
    kmem's auto-online policy set to the zone asked for; returns the region once kmem has hot-plugged it.
    cxl create-region can exit 0 after failing, so the result is read back, not taken from its rc."""
    memdevs = entry["memdevs"]
    size = entry.get("size")
    if not size:
        free = min(item.get("ram_size", 0) for item in run_json(["cxl", "list", "-M"])
                   if item.get("memdev") in memdevs)
        size = free * len(memdevs) // (CXL_REGION_UNIT * len(memdevs)) * CXL_REGION_UNIT * len(memdevs)
    decoders = [item for item in run_json(["cxl", "list", "-D", "-d", "root"])
                if item.get("volatile_capable") and item.get("max_available_extent", 0) >= size]
    if not decoders:
        raise RuntimeError("no volatile-capable root decoder has %d bytes free" % size)
    decoder = max(decoders, key=lambda item: item.get("max_available_extent", 0))["decoder"]
    with auto_online(auto_online_policy(True, entry.get("movable", True))):
        rc, output = run(["cxl", "create-region", "-t", "ram", "-d", decoder, "-s", str(size), "-m"] + memdevs)
        deadline = time.time() + CXL_SETTLE_SECONDS
        while True:
            region = cxl_ram_region(entry)
            device = dax_device(cxl_chardev(region)) if cxl_chardev(region) else {}
            if device.get("mode") == "system-ram" and device.get("total_memblocks", 0) > 0:
                return region
            if time.time() >= deadline:
                raise RuntimeError("create-region (rc %d) left no hot-plugged ram region: %s" % (rc, output))
            time.sleep(1)


def apply_cxl(entry):
    """Create the entry's region when it is not there, then bring its memory online like a namespace's."""
    region = cxl_ram_region(entry) or create_cxl_region(entry)
    chardev = cxl_chardev(region)
    if not chardev:
        raise RuntimeError("%s has no dax device" % region.get("region"))
    apply({"name": "%s (%s)" % (cxl_label(entry), region.get("region")), "movable": entry.get("movable", True)},
          chardev)


def tiering_writes(tiering):
    """(path, value, what) for each setting kept in the config, in the order memory_tiering writes them."""
    writes = []
    if tiering.get("promotion") is not None:
        balancing = int(read(NUMA_BALANCING_PATH))
        if tiering["promotion"]:
            balancing |= NUMA_BALANCING_MEMORY_TIERING
        else:
            balancing &= ~NUMA_BALANCING_MEMORY_TIERING
        writes.append((NUMA_BALANCING_PATH, str(balancing), "numa_balancing"))
    if tiering.get("promote_rate_limit_mbps") is not None:
        writes.append((PROMOTE_RATE_LIMIT_PATH, str(tiering["promote_rate_limit_mbps"]), "promotion rate limit"))
    if tiering.get("weighted_interleave_auto") is not None:
        writes.append((WEIGHTED_INTERLEAVE_DIR + "/auto", "true" if tiering["weighted_interleave_auto"] else "false",
                       "automatic interleave weights"))
    for node, weight in sorted((tiering.get("weighted_interleave") or {}).items()):
        writes.append(("%s/node%d" % (WEIGHTED_INTERLEAVE_DIR, int(node)), str(weight), "interleave weight of node %s" % node))
    for pool in tiering.get("hugepages") or []:
        writes.append((HUGEPAGES_PATH % (pool["node"], pool["size"] // 1024), str(pool["count"]),
                       "%d kB pages on node %d" % (pool["size"] // 1024, pool["node"])))
    return writes


def apply_tiering(tiering):
    """Write the tiering settings; a huge page pool the kernel fills only in part is a failure (logged)."""
    failures = []
    try:
        writes = tiering_writes(tiering)
    except (OSError, ValueError) as error:
        return ["tiering: %s" % error]
    for path, value, what in writes:
        try:
            write(path, value)
            got = read(path)
        except OSError as error:
            failures.append("%s: %s" % (what, error))
            continue
        if got != value and not (value in ("true", "false") and got in ("1", "0")):
            failures.append("%s: wrote %s, reads back %s" % (what, value, got))
        else:
            log("%s set to %s" % (what, value))
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description="Bring the memory in a pmem.dax boot-time config back as system RAM.")
    parser.add_argument("config", nargs="?", default=CONFIG, help="the config (default: %(default)s)")
    with open(parser.parse_args(argv).config) as handle:
        config = json.load(handle)
    wanted = config.get("namespaces", [])
    cxl_wanted = config.get("cxl_regions") or []

    failures = []
    if config.get("demotion") is not None:
        try:
            write(DEMOTION_PATH, "true" if config["demotion"] else "false")
            log("demotion_enabled set to %s" % config["demotion"])
        except OSError as error:
            failures.append("demotion: %s" % error)

    deadline = time.time() + int(config.get("wait_seconds", 300))
    found = find_devices(wanted)
    while len(found) < len(wanted) and time.time() < deadline:
        time.sleep(2)
        found = find_devices(wanted)

    failures += ["%s: namespace not found" % item["name"] for item in wanted if item["name"] not in found]

    memdevs = set()
    if cxl_wanted:
        try:
            memdevs = wait_for_memdevs(cxl_wanted, deadline)
        except (RuntimeError, ValueError, OSError) as error:
            failures.append("cxl list: %s" % error)
    cxl_ready = [entry for entry in cxl_wanted if set(entry["memdevs"]) <= memdevs]
    failures += ["%s: memdev not found" % cxl_label(entry) for entry in cxl_wanted if entry not in cxl_ready]

    # Hot-plugged blocks must stay offline until daxctl picks their zone: a kernel that auto-onlines them
    # would put them in ZONE_NORMAL, where they can never be removed again.
    with auto_online(AUTO_ONLINE_OFF):
        for item in wanted:
            if item["name"] in found:
                try:
                    apply(item, found[item["name"]])
                except (RuntimeError, ValueError) as error:
                    failures.append("%s: %s" % (item["name"], error))
        for entry in cxl_ready:
            try:
                apply_cxl(entry)
            except (RuntimeError, ValueError, OSError) as error:
                failures.append("%s: %s" % (cxl_label(entry), error))

    # After the memory is online: the pools and weights of its node exist only then.
    if config.get("tiering"):
        failures += apply_tiering(config["tiering"])

    for failure in failures:
        log("FAILED " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
