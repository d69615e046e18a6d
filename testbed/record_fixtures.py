# Copyright: contributors to the pmem.dax collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record ndctl/daxctl outputs and sysfs snapshots from real guests as unit-test fixtures.

    python3 testbed/record_fixtures.py                       # boots a bookworm and a trixie guest
    python3 testbed/record_fixtures.py --state DIR           # guests fresh from `pmemtb.py up --no-labels`

Every step of the life cycle (see STEPS) runs its changing commands in the guest, then the read-only
queries, then snapshots sysfs, and is written to tests/unit/fixtures/<release>/<NN-step>.json.
Python 3 standard library only. See tests/unit/fixtures/README.md for the file format.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pmemtb  # noqa: E402  (the test bed next to this file)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "unit", "fixtures")

QUERIES = (
    ["ndctl", "list", "-R", "-N", "-v"],
    ["ndctl", "list", "-R", "-v"],
    ["ndctl", "list", "-N", "-v"],
    ["daxctl", "list", "-D"],
    ["daxctl", "list", "-D", "-M"],
    ["daxctl", "list", "-R", "-D"],
)

AUTO_ONLINE = "/sys/devices/system/memory/auto_online_blocks"

# Binds this process to one NUMA node (set_mempolicy(MPOL_BIND), x86_64 syscall 238) and creates files, so
# the kernel allocates inodes and dentries (unmovable slab) there: what makes Normal memory un-offlinable.
SLAB_ON_NODE = ("import ctypes, os; mask = ctypes.c_ulong(1 << %d); "
                "assert ctypes.CDLL(None, use_errno=True).syscall(238, 2, ctypes.byref(mask), 64) == 0; "
                "os.makedirs('/root/slab', exist_ok=True); "
                "[open('/root/slab/f%%d' %% i, 'w').close() for i in range(30000)]")


def create(region, size, name):
    return ["ndctl", "create-namespace", "-r", region, "--mode=devdax", "--size=" + size, "--name=" + name]


def sh(script):
    return ["sh", "-c", script]


# (name, description, actions, releases or None for all). Names are not stable, so actions name
# devices by namespace label: "@dax:small" is the chardev of the (first) namespace named small, "@ns:small"
# its dev, "@ns-dup:small" the newest of several of that name; a label gone since resolves to what it
# resolved to last time (so a destroyed namespace can be destroyed again).
STEPS = (
    ("00-label-less", "fresh zeroed NVDIMMs: label-less regions; a sized create is refused",
     [create("region0", "1g", "small")], None),
    ("01-init-labels-active", "init-labels on an enabled region is refused",
     [["ndctl", "init-labels", "nmem0"]], None),
    ("02-labelled-empty", "labels written: empty regions that can be sub-divided",
     [["ndctl", "disable-region", "all"], ["ndctl", "init-labels", "all"], ["ndctl", "enable-region", "all"]],
     None),
    ("03-create-misaligned", "sizes that are not a multiple of the 16 MiB region align",
     [create("region0", "3m", "bad"), create("region0", "1032m", "bad")], None),
    ("04-create-too-large", "more than the region has", [create("region0", "5g", "big")], None),
    ("05-create-bad-region", "a region that does not exist", [create("region9", "1g", "nowhere")], None),
    ("06-devdax-1g", "devdax namespace 'small' of 1g on region0 (dax0.0)",
     [create("region0", "1g", "small")], None),
    ("07-devdax-3g", "devdax namespace 'large' of 3g on region1 (dax1.0)",
     [create("region1", "3g", "large")], None),
    ("08-create-twice", "the same create again makes a second namespace (not idempotent)",
     [create("region0", "1g", "small")], None),
    ("09-destroy-active", "destroy an enabled namespace without --force",
     [["ndctl", "destroy-namespace", "@ns-dup:small"]], None),
    ("10-destroy-force", "destroy it with --force",
     [["ndctl", "destroy-namespace", "--force", "@ns-dup:small"]], None),
    ("11-destroy-again", "destroy the destroyed namespace again (the count is not to be trusted)",
     [["ndctl", "destroy-namespace", "--force", "@ns-dup:small"]], None),
    ("12-system-ram-no-online", "devdax -> system-ram without onlining (aborts under auto-online)",
     [["daxctl", "reconfigure-device", "--mode=system-ram", "--no-online", "@dax:small"]], None),
    ("13-auto-online-off-system-ram", "auto_online_blocks=offline, then system-ram --no-online",
     [sh("echo offline > " + AUTO_ONLINE),
      ["daxctl", "reconfigure-device", "--mode=system-ram", "--no-online", "@dax:small"]], ("trixie",)),
    ("14-system-ram-again", "system-ram on a device already in system-ram mode",
     [["daxctl", "reconfigure-device", "--mode=system-ram", "--no-online", "@dax:small"]], None),
    ("15-online-movable", "online-memory (ZONE_MOVABLE by default)", [["daxctl", "online-memory", "@dax:small"]],
     None),
    ("16-online-again", "online-memory when all is online",
     [["daxctl", "online-memory", "@dax:small"]], None),
    ("17-devdax-while-online", "system-ram -> devdax with memory online, no --force",
     [["daxctl", "reconfigure-device", "--mode=devdax", "@dax:small"]], None),
    ("18-destroy-online", "destroy --force a namespace whose memory is online",
     [["ndctl", "destroy-namespace", "--force", "@ns:small"]], None),
    ("19-partly-offline", "the first 3 memory blocks of dax0.0 offlined through sysfs",
     [{"offline_blocks": "@dax:small", "count": 3}], None),
    ("20-offline-rest", "offline-memory on a partly offline device",
     [["daxctl", "offline-memory", "@dax:small"]], None),
    ("21-offline-again", "offline-memory when all is offline",
     [["daxctl", "offline-memory", "@dax:small"]], None),
    ("22-large-system-ram-online", "dax1.0 -> system-ram, onlined by daxctl (movable)",
     [["daxctl", "reconfigure-device", "--mode=system-ram", "@dax:large"]], None),
    ("23-large-offline", "offline all of dax1.0", [["daxctl", "offline-memory", "@dax:large"]], None),
    ("24-large-destroy-from-system-ram", "destroy --force straight from system-ram, all blocks offline",
     [["ndctl", "destroy-namespace", "--force", "@ns:large"]], None),
    ("25-devdax-after-offline", "dax0.0 back to devdax once its memory is offline",
     [["daxctl", "reconfigure-device", "--mode=devdax", "@dax:small"]], None),
    ("26-online-no-movable", "dax0.0 -> system-ram --no-online, then online-memory --no-movable (Normal)",
     [["daxctl", "reconfigure-device", "--mode=system-ram", "--no-online", "@dax:small"],
      ["daxctl", "online-memory", "--no-movable", "@dax:small"]], None),
    ("27-offline-normal", "offline ZONE_NORMAL memory holding kernel objects (EBUSY expected)",
     [["python3", "-c", SLAB_ON_NODE % 1], ["daxctl", "offline-memory", "@dax:small"]], None),
    ("28-auto-online-on", "auto_online_blocks=online, new namespace 'auto' of 1g on region1",
     [sh("echo online > " + AUTO_ONLINE), create("region1", "1g", "auto")], None),
    ("29-auto-online-no-online", "system-ram --no-online under the auto-online policy",
     [["daxctl", "reconfigure-device", "--mode=system-ram", "--no-online", "@dax:auto"]], None),
    ("30-auto-online-default", "system-ram (default: online movable) under the auto-online policy",
     [["daxctl", "reconfigure-device", "--mode=system-ram", "@dax:auto"]], None),
    ("31-auto-online-force", "system-ram --force under the auto-online policy (where does memory land?)",
     [["daxctl", "reconfigure-device", "--mode=system-ram", "--force", "@dax:auto"]], None),
)

CXL_QUERIES = (
    ["cxl", "list", "-M"],
    ["cxl", "list", "-D", "-d", "root"],
    ["cxl", "list", "-D", "-d", "endpoint"],
    ["cxl", "list", "-R", "-X", "-T"],
    ["cxl", "list", "-M", "-d", "decoder0.0"],
    ["daxctl", "list", "-D"],
    ["ndctl", "list", "-R", "-N", "-v"],
)


def cxl_create(*options):
    return ["cxl", "create-region", "-t", "ram", "-m", "mem0"] + list(options)


def with_policy(policy, argv):
    """argv run while auto_online_blocks says policy; the guest's default (online) is restored."""
    return sh("echo %s > %s; %s; rc=$?; echo online > %s; exit $rc" % (policy, AUTO_ONLINE, " ".join(argv), AUTO_ONLINE))


# The CXL walk (a Debian 13 guest from `pmemtb.py up --cxl`: one 1 GiB type-3 volatile memdev mem0 behind
# root decoder decoder0.0). Names are fixed: the guest has one memdev and one root decoder, and a
# destroyed region's number is reused.
CXL_STEPS = (
    ("00-fresh", "one CXL memdev, no region", [], None),
    ("01-create-no-decoder", "create-region without -d (cxl 81 does not pick a root decoder)",
     [cxl_create()], None),
    ("02-create-pmem", "a pmem region on a memdev with only volatile capacity",
     [["cxl", "create-region", "-t", "pmem", "-d", "decoder0.0", "-m", "mem0"]], None),
    ("03-create-too-large", "a region larger than the memdev", [cxl_create("-d", "decoder0.0", "-s", "2G")], None),
    ("04-create-misaligned", "a size that is not a multiple of 256 MiB",
     [cxl_create("-d", "decoder0.0", "-s", "100M")], None),
    ("05-create-auto-online", "create under auto_online_blocks=online: kmem onlines it by itself (zone?)",
     [cxl_create("-d", "decoder0.0")], None),
    ("06-create-again", "the same create again (memdev capacity all used)", [cxl_create("-d", "decoder0.0")], None),
    ("07-destroy-active", "destroy-region of an enabled region without --force",
     [["cxl", "destroy-region", "region0"]], None),
    ("08-offline-normal", "offline the ZONE_NORMAL memory of the region (idle guest)",
     [["daxctl", "offline-memory", "dax0.0"]], None),
    ("09-disable-destroy", "disable-region, then destroy-region",
     [["cxl", "disable-region", "region0"], ["cxl", "destroy-region", "region0"]], None),
    ("10-create-movable-512m", "create 512M under auto_online_blocks=online_movable",
     [with_policy("online_movable", cxl_create("-d", "decoder0.0", "-s", "512M"))], None),
    ("11-create-second-512m", "a second region from the rest of the memdev, created offline",
     [with_policy("offline", cxl_create("-d", "decoder0.0", "-s", "512M"))], None),
    ("12-online-second", "online the second region's memory (movable)", [["daxctl", "online-memory", "dax1.0"]],
     None),
    ("13-disable-online", "disable-region while its memory is online (movable)",
     [["cxl", "disable-region", "region1"]], None),
    ("14-destroy-disabled", "destroy the disabled region", [["cxl", "destroy-region", "region1"]], None),
    ("15-destroy-force-online", "destroy-region --force while its memory is online (movable)",
     [["cxl", "destroy-region", "--force", "region0"]], None),
    ("16-destroy-gone", "destroy a region that does not exist", [["cxl", "destroy-region", "region0"]], None),
)

# Runs in the guest (python3 there): reads a step from stdin, prints the record as JSON.
GUEST_HELPER = r'''
import glob, json, os, subprocess, sys, time

def run(argv):
    started = time.monotonic()
    env = dict(os.environ, LC_ALL="C")
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env)
    return {"argv": argv, "rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "seconds": round(time.monotonic() - started, 2)}

def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as error:
        return None

def block_size():
    return int(read("/sys/devices/system/memory/block_size_bytes"), 16)

def dax_blocks(device):
    base = "/sys/bus/dax/devices/" + device
    start, size, bs = int(read(base + "/resource"), 16), int(read(base + "/size")), block_size()
    first, end = -(-start // bs), (start + size) // bs
    return list(range(first, end))

def expand(action):
    if isinstance(action, list):
        return [action]
    if "offline_blocks" in action:
        blocks = dax_blocks(action["offline_blocks"])[:action["count"]]
        return [["sh", "-c", "echo offline > /sys/devices/system/memory/memory%d/state" % n] for n in blocks]
    raise ValueError(action)

def settle():
    # Right after a change the memblock counts can read -2 for a moment: wait until they are stable.
    subprocess.run(["udevadm", "settle"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(20):
        out = subprocess.run(["daxctl", "list", "-D"], stdout=subprocess.PIPE, universal_newlines=True).stdout
        if '":-' not in out.replace(" ", ""):
            return
        time.sleep(0.25)

def snapshot():
    files, links, dirs = {}, {}, []
    def add(path):
        if os.path.islink(path):
            links[path] = os.readlink(path)
        elif os.path.isdir(path):
            dirs.append(path)
        elif os.path.isfile(path):
            value = read(path)
            if value is not None:
                files[path] = value
    mem = "/sys/devices/system/memory"
    for name in ("block_size_bytes", "auto_online_blocks"):
        add(mem + "/" + name)
    blocks = set()
    for dev in sorted(glob.glob("/sys/bus/dax/devices/*")):
        add(dev)
        for attr in ("driver", "target_node", "size", "resource", "align", "numa_node", "modalias"):
            add(dev + "/" + attr)
        try:
            blocks.update(dax_blocks(os.path.basename(dev)))
        except (TypeError, ValueError):
            pass
    node0 = sorted(int(p.rsplit("memory", 1)[1]) for p in glob.glob("/sys/devices/system/node/node0/memory[0-9]*"))
    blocks.update([node0[0], node0[1], node0[-1]] if len(node0) > 1 else node0)
    for number in sorted(blocks):
        block = "%s/memory%d" % (mem, number)
        add(block)
        for attr in ("state", "online", "valid_zones", "removable", "phys_device", "phys_index"):
            add(block + "/" + attr)
        for link in glob.glob(block + "/node*"):
            add(link)
    node = "/sys/devices/system/node"
    for name in ("online", "possible", "has_cpu", "has_memory", "has_normal_memory", "has_generic_initiator"):
        add(node + "/" + name)
    for path in sorted(glob.glob(node + "/node[0-9]*")):
        add(path)
        add(path + "/meminfo")
        add(path + "/cpulist")
        for link in glob.glob(path + "/memory[0-9]*"):
            add(link)
    for path in sorted(glob.glob("/sys/devices/virtual/memory_tiering/memory_tier*")):
        add(path)
        add(path + "/nodelist")
    for path in ("/sys/kernel/mm/numa/demotion_enabled", "/sys/class/dax", "/sys/bus/dax/drivers/kmem",
                 "/sys/bus/dax/drivers/device_dax", "/proc/meminfo"):
        add(path)
    for dev in sorted(glob.glob("/sys/bus/dax/drivers/*/dax*")):
        add(dev)
    return {"files": files, "links": links, "dirs": sorted(dirs)}

step = json.load(sys.stdin)
actions = []
for action in step["actions"]:
    for argv in expand(action):
        actions.append(run(argv))
settle()
queries = [run(argv) for argv in step["queries"]]
print(json.dumps({"actions": actions, "queries": queries, "sysfs": snapshot()}))
'''

HELPER_PATH = "/root/pmemtb_record.py"


def host_facts(guest):
    result = guest.run("uname -r; ndctl --version; daxctl --version; . /etc/os-release; echo $VERSION_ID")
    kernel, ndctl, daxctl, version = result.stdout.split()
    return {"kernel": kernel, "ndctl": ndctl, "daxctl": daxctl, "debian": version}


def prepare(guest):
    guest.run("cat > " + HELPER_PATH, input=GUEST_HELPER)
    # The walk starts label-less; `ndctl zero-labels` on a used guest did not give that back (the region
    # kept its full available_size), so only guests fresh from `up --no-labels` are accepted.
    regions = json.loads(guest.run("ndctl list -R", timeout=60).stdout or "[]")
    if isinstance(regions, dict):
        regions = [regions]
    if not regions or any(region.get("available_size", 0) != 0 for region in regions):
        raise pmemtb.TestbedError("%s is not label-less: boot it with `pmemtb.py up --no-labels` and do "
                                  "not touch it before recording" % guest.name)


def _natural(dev):
    return [int(part) for part in dev.replace("namespace", "").split(".")]


class Resolver:
    """Turns "@dax:NAME" / "@ns:NAME" / "@ns-dup:NAME" into today's device names on one guest."""

    def __init__(self, guest):
        self.guest = guest
        self.known = {}

    def needed(self, actions):
        return "\"@" in json.dumps(actions)

    def refresh(self):
        listing = json.loads(self.guest.run("ndctl list -N", timeout=60).stdout or "[]")
        if isinstance(listing, dict):
            listing = [listing]
        by_name = {}
        for namespace in sorted(listing, key=lambda ns: _natural(ns["dev"])):
            if namespace.get("name"):
                by_name.setdefault(namespace["name"], []).append(namespace)
        for name, namespaces in by_name.items():
            self.known["@ns:" + name] = namespaces[0]["dev"]
            if len(namespaces) > 1:
                self.known["@ns-dup:" + name] = namespaces[-1]["dev"]
            if namespaces[0].get("chardev"):
                self.known["@dax:" + name] = namespaces[0]["chardev"]

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, str) and value.startswith("@"):
            if value not in self.known:
                raise pmemtb.TestbedError("%s: no namespace for %s" % (self.guest.name, value))
            return self.known[value]
        return value


def record(guest, out_dir, steps=STEPS, queries=QUERIES, subdir=None):
    facts = host_facts(guest)
    target = os.path.join(out_dir, subdir or guest.release)
    os.makedirs(target, exist_ok=True)
    resolver = Resolver(guest)
    for name, description, actions, releases in steps:
        if releases and guest.release not in releases:
            continue
        started = time.monotonic()
        if resolver.needed(actions):
            resolver.refresh()
            actions = resolver.resolve(actions)
        spec = json.dumps({"actions": actions, "queries": [list(q) for q in queries]})
        result = guest.run("python3 " + HELPER_PATH, input=spec, timeout=900, check=False)
        if result.returncode != 0:
            raise pmemtb.TestbedError("%s step %s: helper failed:\n%s" % (guest.name, name, result.stderr))
        data = json.loads(result.stdout)
        document = {"release": guest.release, "step": name, "description": description, "guest": facts}
        document.update(data)
        with open(os.path.join(target, name + ".json"), "w") as handle:
            json.dump(document, handle, indent=1, sort_keys=False)
            handle.write("\n")
        rcs = ", ".join("%s rc %d" % (" ".join(a["argv"][:3]), a["rc"]) for a in data["actions"])
        pmemtb.say("%s %s (%.1f s): %s" % (guest.release, name, time.monotonic() - started, rcs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--state", help="use the guests in this state directory (fresh, --no-labels)")
    parser.add_argument("--release", action="append", choices=pmemtb.RELEASES,
                        help="releases to record (default: all)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--cxl", action="store_true",
                        help="walk CXL_STEPS on a Debian 13 guest with a CXL memdev (writes trixie-cxl/)")
    args = parser.parse_args()
    if args.cxl:
        return main_cxl(args)
    signal.signal(signal.SIGTERM, pmemtb._raise_interrupted)  # unwind through `finally`: guests go down
    signal.signal(signal.SIGHUP, pmemtb._raise_interrupted)
    releases = args.release or list(pmemtb.RELEASES)
    own_state = None
    try:
        if args.state:
            guests = [g for g in pmemtb.load_guests(args.state) if g.release in releases]
        else:
            own_state = tempfile.mkdtemp(prefix="pmemtb-fixtures-")
            command = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pmemtb.py"),
                       "up", "--state", own_state, "--no-labels"]
            for release in releases:
                command += ["--guest", "fx-%s:%s" % (release, release)]
            subprocess.run(command, check=True)
            guests = pmemtb.load_guests(own_state)
        for guest in guests:
            prepare(guest)
        pmemtb.for_each(guests, lambda guest: record(guest, args.out))
    except pmemtb.TestbedError as error:
        print("record_fixtures: error: %s" % error, file=sys.stderr)
        return 1
    finally:
        if own_state:
            subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "pmemtb.py"), "down", "--state", own_state], check=False)
    return 0


def main_cxl(args):
    pmemtb_py = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pmemtb.py")
    own_state = None
    try:
        if args.state:
            guests = [guest for guest in pmemtb.load_guests(args.state) if guest.cxl_gib]
        else:
            own_state = tempfile.mkdtemp(prefix="pmemtb-fixtures-cxl-")
            subprocess.run([sys.executable, pmemtb_py, "up", "--state", own_state, "--guest", "fx-cxl:trixie",
                            "--cxl", "1G", "--nvdimms", "1", "--ram", "2G"], check=True)
            guests = pmemtb.load_guests(own_state)
        if len(guests) != 1:
            raise pmemtb.TestbedError("--cxl records on exactly one guest booted with `up --cxl`")
        guests[0].run("cat > " + HELPER_PATH, input=GUEST_HELPER)
        record(guests[0], args.out, CXL_STEPS, CXL_QUERIES, "trixie-cxl")
    except pmemtb.TestbedError as error:
        print("record_fixtures: error: %s" % error, file=sys.stderr)
        return 1
    finally:
        if own_state:
            subprocess.run([sys.executable, pmemtb_py, "down", "--state", own_state], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
