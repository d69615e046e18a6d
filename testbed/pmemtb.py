# Copyright: contributors to the pmem.dax collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU test bed for pmem.dax: Debian guests with emulated NVDIMMs.

    pmemtb.py build --release bookworm|trixie|trixie-backports
    pmemtb.py up --state DIR --guest NAME[:release] [--guest ...] | --guests N
    pmemtb.py ssh --state DIR NAME -- cmd ...
    pmemtb.py reboot --state DIR [--guest NAME]
    pmemtb.py restart --state DIR [--guest NAME]
    pmemtb.py down --state DIR | --all

Python 3 standard library only; runs with the host's python3. See README.md.
"""

import argparse
import concurrent.futures
import contextlib
import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# A release variant is a Debian release plus one more suite of the same mirror that the named packages
# are taken from; the guest keeps that suite in its apt sources. trixie-backports: Debian 13 with the
# backports kernel (7.x), for the kernel knobs 6.12 lacks (weighted interleave's auto mode, memmap on the
# hot-plugged memory itself); ndctl, daxctl and cxl stay Debian 13's (backports has none). Its kernel
# depends on "dracut | initramfs-tools", and apt would take dracut (a 38 MiB initrd; the customize script
# configures initramfs-tools): "more" names packages the variant installs on top.
RELEASE_VARIANTS = {
    "trixie-backports": {"base": "trixie", "suite": "backports", "packages": ("linux-image-amd64",),
                         "more": ("initramfs-tools",)},
}
RELEASES = ("bookworm", "trixie") + tuple(RELEASE_VARIANTS)
DEFAULT_RELEASE = "bookworm"
GUEST_PACKAGES = (
    "linux-image-amd64", "systemd-sysv", "udev", "openssh-server", "python3", "ndctl", "daxctl",
    "util-linux", "kmod", "iproute2", "procps", "stress-ng", "e2fsprogs",
)
IMAGE_SIZE = "2G"
LABEL_SIZE = 128 * 1024
SLOW_HOST_ARGS = "systemd.default_timeout_start_sec=900 udev.event_timeout=900"
# Under TCG every driver udev loads and every unit systemd starts costs seconds of a core, and the guests of two
# lanes share two cores. So a guest boots without what no test uses: QEMU's default devices (-nodefaults: VGA,
# parallel port, CD-ROM), the drivers udev would load for the machine's own chipset and for CPU features (AHCI,
# LPC and its watchdog, SMBus, KVM for the emulated SVM, crypto), systemd's SSH-over-vsock generator, and the
# first-boot jobs that a disk fresh from the image would otherwise run at every boot (ld.so cache, journal
# catalog). A Debian 13 guest reached SSH in 258 s against 343 s, both booted at once on a loaded machine.
BOOT_LEAN_ARGS = " ".join([
    "modprobe.blacklist=" + ",".join([
        "ahci", "lpc_ich", "i2c_i801", "kvm_amd", "kvm_intel", "ccp", "cfg80211", "psmouse", "serio_raw",
        "pcspkr", "aesni_intel", "ghash_clmulni_intel", "sha1_ssse3", "sha256_ssse3", "sha512_ssse3",
        "crct10dif_pclmul", "crc32_pclmul", "vmw_vmci"]),
    "systemd.ssh_auto=no",
] + ["systemd.mask=" + unit for unit in (
    "ldconfig.service", "systemd-journal-catalog-update.service", "systemd-update-done.service",
    "getty@tty1.service", "modprobe@drm.service", "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
    "sys-fs-fuse-connections.mount")])
GIB = 1024 ** 3
MIN_FREE_BYTES = 4 * GIB
SSH_USER = "root"
# ssh's own messages when it never reached the point of running the command.
CONNECT_FAILURES = ("banner exchange", "Connection refused", "Connection timed out", "Connection reset",
                    "Connection closed by remote host", "kex_exchange_identification")
GUEST_PYTHON = "/usr/bin/python3"
# ssh's ConnectTimeout while waiting for a booting guest (see Guest.wait_for_ssh).
SSH_BOOT_POLL_TIMEOUT = 5
# Bump when the image recipe changes in a way the package list does not show.
RECIPE_REVISION = 2
# CXL type-3 volatile memory needs QEMU >= 8 (volatile-memdev). A host with an older QEMU (Debian 12
# has 7.2) runs Debian 13's QEMU, unpacked into a private root, instead.
CXL_MIN_QEMU = (8, 0)
CXL_RELEASES = ("trixie", "trixie-backports")
QEMU_ROOT_RELEASE = "trixie"
QEMU_ROOT_PACKAGES = ("qemu-system-x86", "seabios", "ipxe-qemu")
QEMU_ROOT_REVISION = 1
# The NUMA topology the guest's firmware describes, so that the kernel sees each NVDIMM node as the
# farther, slower memory it is on a real host: SLIT distances (node 0, DRAM with the CPUs, local 10; an
# NVDIMM node 17 from it and 28 from another NVDIMM node) and HMAT access latency and bandwidth from
# initiator node 0 (NVDIMM 3.5 times DRAM's latency, a third of its bandwidth). Debian 13's kernel ranks
# a kmem node's memory tier by the HMAT figures; Debian 12's puts every kmem node in one fixed tier.
DRAM_NODE = 0
NUMA_DISTANCE_LOCAL = 10
NUMA_DISTANCE_DRAM_TO_PMEM = 17
NUMA_DISTANCE_PMEM_TO_PMEM = 28
DRAM_ACCESS = {"latency_ns": 10, "bandwidth": "24G"}   # bytes/s; QEMU wants bandwidths 1 MiB aligned
PMEM_ACCESS = {"latency_ns": 35, "bandwidth": "8G"}

# Runs inside mmdebstrap as a customize hook; "$1" is the root directory of the new system.
CUSTOMIZE_SCRIPT = r"""
set -eu
root="$1"
echo pmemtb > "$root/etc/hostname"
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$root/etc/fstab"
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' > "$root/etc/systemd/network/20-wired.network"
chroot "$root" systemctl enable systemd-networkd.service
# ndctl-monitor fails without real DIMMs and leaves systemd "degraded"; cxl-monitor (Debian 13) only costs boot time.
chroot "$root" systemctl mask ndctl-monitor.service cxl-monitor.service
# Nothing in the guest should wake up and compete with the tests for the single slow CPU.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
    fstrim.timer systemd-networkd-wait-online.service dpkg-db-backup.timer \
    e2scrub_reap.service getty-static.service systemd-pstore.service
# A small initrd: the disk's drivers only, not Debian's "most" (36 MiB that take ~4 s to unpack and
# probe under TCG, at every boot). The other modules load from the root file system as usual.
printf 'MODULES=list\n' > "$root/etc/initramfs-tools/conf.d/pmemtb"
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k all
install -d -m 700 "$root/root/.ssh"
install -m 600 "$PMEMTB_PUBKEY" "$root/root/.ssh/authorized_keys"
printf 'UseDNS no\nPermitRootLogin prohibit-password\n' > "$root/etc/ssh/sshd_config.d/pmemtb.conf"
rm -f "$root/etc/machine-id" && touch "$root/etc/machine-id"
"""


class TestbedError(Exception):
    """A failure the user can act on; printed without a traceback."""


class Interrupted(BaseException):
    """SIGTERM or SIGHUP received: unwind like Ctrl-C so started guests get torn down."""


# --------------------------------------------------------------------------- output

_T0 = time.monotonic()
# Set when `up` fails or is interrupted, so worker threads stop waiting for guests being torn down.
ABORT = threading.Event()


def say(message):
    print("[%6.1fs] %s" % (time.monotonic() - _T0, message), flush=True)


@contextlib.contextmanager
def step(description):
    say("%s ..." % description)
    started = time.monotonic()
    yield
    say("%s: done in %.1f s" % (description, time.monotonic() - started))


# --------------------------------------------------------------------------- prerequisites

def require_tools(*tools):
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise TestbedError(
            "missing on this host: %s (Debian: apt-get install qemu-system-x86 qemu-utils mmdebstrap "
            "e2fsprogs openssh-client)" % ", ".join(missing))


def require_free_space(path, needed=MIN_FREE_BYTES):
    os.makedirs(path, exist_ok=True)
    usage = shutil.disk_usage(path)
    if usage.free < needed:
        raise TestbedError("only %.1f GiB free under %s, the test bed needs %.1f GiB"
                           % (usage.free / GIB, path, needed / GIB))


def cache_root():
    return os.environ.get("PMEM_TESTBED_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "pmem-dax-testbed")


def runtime_root():
    """Where every guest this tool starts is registered, so `down --all` finds them."""
    override = os.environ.get("PMEM_TESTBED_RUNTIME")
    if override:
        path = override
    elif os.geteuid() == 0:
        path = "/run/pmem-dax-testbed"
    else:
        path = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir(),
                            "pmem-dax-testbed-%d" % os.getuid())
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


# --------------------------------------------------------------------------- apt mirror

def _deb822_stanzas(text):
    stanza = {}
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza = {}
        elif line[0] in " \t":
            continue  # continuation lines (Signed-By blocks) are not needed here
        elif ":" in line:
            key, value = line.split(":", 1)
            stanza[key.strip().lower()] = value.strip()


def host_apt_sources():
    """(uri, suite) pairs of the host's enabled 'deb' sources, in configuration order."""
    sources = []
    one_line_files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in one_line_files:
        if not os.path.isfile(path):
            continue
        with open(path) as handle:
            for line in handle:
                words = line.split("#", 1)[0].split()
                if len(words) < 3 or words[0] != "deb":
                    continue
                words = [w for w in words[1:] if not w.startswith("[")]  # drop [options]
                if len(words) >= 2:
                    sources.append((words[0].rstrip("/"), words[1]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as handle:
            for stanza in _deb822_stanzas(handle.read()):
                if "deb" not in stanza.get("types", "").split():
                    continue
                if stanza.get("enabled", "yes").lower() == "no":
                    continue
                for uri in stanza.get("uris", "").split():
                    for suite in stanza.get("suites", "").split():
                        sources.append((uri.rstrip("/"), suite))
    return sources


def _release_codename(uri, suite):
    """Codename announced by uri/dists/suite, or None when the mirror does not serve it."""
    for name in ("InRelease", "Release"):
        try:
            with urllib.request.urlopen("%s/dists/%s/%s" % (uri, suite, name), timeout=20) as reply:
                for raw in reply.read().decode("utf-8", "replace").splitlines():
                    if raw.startswith("Codename:"):
                        return raw.split(":", 1)[1].strip()
        except (urllib.error.URLError, OSError):
            continue
    return None


def base_release(release):
    """The Debian release (codename) a release or release variant is built from."""
    return RELEASE_VARIANTS.get(release, {}).get("base", release)


def guest_apt_sources(release):
    """One-line apt sources for the guest, derived from the host's mirrors (never hard-coded); a release
    variant adds its extra suite."""
    variant = RELEASE_VARIANTS.get(release)
    release = base_release(release)
    sources = host_apt_sources()
    archive = [uri for uri, suite in sources if "-" not in suite and "/" not in suite]
    security = [uri for uri, suite in sources if suite.endswith("-security")]
    if not archive:
        raise TestbedError("no Debian archive found in /etc/apt/sources.list*; the image is built "
                           "from the host's configured mirror")
    uri = archive[0]
    # A mirror may only publish a release under its alias (stable, testing, ...): find the path.
    suite = None
    for candidate in (release, "stable", "testing", "oldstable", "unstable"):
        if _release_codename(uri, candidate) == release:
            suite = candidate
            break
    if suite is None:
        raise TestbedError("the host's mirror %s does not serve Debian %s" % (uri, release))
    lines = ["deb %s %s main" % (uri, suite)]
    if _release_codename(uri, suite + "-updates"):
        lines.append("deb %s %s-updates main" % (uri, suite))
    if security and _release_codename(security[0], suite + "-security"):
        lines.append("deb %s %s-security main" % (security[0], suite))
    if variant:
        extra = "%s-%s" % (suite, variant["suite"])
        if not _release_codename(uri, extra):
            raise TestbedError("the host's mirror %s does not serve %s" % (uri, extra))
        lines.append("deb %s %s main" % (uri, extra))
    return lines


# --------------------------------------------------------------------------- image build

def guest_packages(release):
    """The image's packages; a variant's own are named package/SUITE so apt takes them from that suite."""
    variant = RELEASE_VARIANTS.get(release)
    if not variant:
        return sorted(GUEST_PACKAGES)
    extra = "%s-%s" % (variant["base"], variant["suite"])
    return sorted(["%s/%s" % (name, extra) if name in variant["packages"] else name for name in GUEST_PACKAGES]
                  + list(variant.get("more", ())))


def recipe(release):
    return {
        "release": release,
        "packages": guest_packages(release),
        "customize": CUSTOMIZE_SCRIPT,
        "image_size": IMAGE_SIZE,
        "revision": RECIPE_REVISION,
    }


def image_dir(release):
    digest = hashlib.sha256(json.dumps(recipe(release), sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(cache_root(), "%s-%s" % (release, digest))


IMAGE_FILES = ("base.img", "vmlinuz", "initrd.img", "id_ed25519", "id_ed25519.pub", "recipe.json")


def image_is_complete(path):
    return all(os.path.exists(os.path.join(path, name)) for name in IMAGE_FILES)


@contextlib.contextmanager
def build_dir(target, prefix):
    """A work directory next to target that becomes target when the block succeeds (renamed, so an
    interrupted build never looks complete) and is removed when it fails."""
    work = tempfile.mkdtemp(prefix=prefix, dir=cache_root())
    try:
        yield work
        if os.path.exists(target):
            shutil.rmtree(target)
        os.rename(work, target)
    finally:
        if os.path.exists(work):
            shutil.rmtree(work, ignore_errors=True)


def run_mmdebstrap(command, log_path, env=None):
    with open(log_path, "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        raise TestbedError("mmdebstrap failed (rc %d); last lines of %s:\n%s"
                           % (result.returncode, log_path, tail(log_path)))


def build_image(release):
    if release not in RELEASES:
        raise TestbedError("unknown release %r (choose from %s)" % (release, ", ".join(RELEASES)))
    target = image_dir(release)
    if image_is_complete(target):
        say("image for %s is cached, reusing %s" % (release, target))
        return target
    require_tools("mmdebstrap", "mkfs.ext4", "ssh-keygen")
    require_free_space(cache_root())
    with build_dir(target, ".build-%s-" % release) as work:
        with step("build %s image in %s" % (release, target)):
            with step("make the SSH key of this image"):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pmemtb-" + release,
                                "-f", os.path.join(work, "id_ed25519")], check=True)
            with step("find the host's apt mirror for %s" % release):
                sources = guest_apt_sources(release)
            rootfs = os.path.join(work, "rootfs")
            packages = recipe(release)["packages"]
            log_path = os.path.join(work, "mmdebstrap.log")
            with step("mmdebstrap %s (%d packages, log %s)" % (release, len(packages), log_path)):
                command = ["mmdebstrap", "--variant=apt", "--mode=root", "--include=" + ",".join(packages),
                           "--aptopt=Acquire::Check-Valid-Until \"false\"",
                           "--customize-hook=" + CUSTOMIZE_SCRIPT.strip(), base_release(release), rootfs] + sources
                run_mmdebstrap(command, log_path, env=dict(os.environ, PMEMTB_PUBKEY=os.path.join(work, "id_ed25519.pub")))
            with step("copy out kernel and initrd"):
                kernels = sorted(glob.glob(os.path.join(rootfs, "boot", "vmlinuz-*")))
                initrds = sorted(glob.glob(os.path.join(rootfs, "boot", "initrd.img-*")))
                if not kernels or not initrds:
                    raise TestbedError("no kernel or initrd in %s/boot" % rootfs)
                shutil.copy(kernels[-1], os.path.join(work, "vmlinuz"))
                shutil.copy(initrds[-1], os.path.join(work, "initrd.img"))
            with step("mkfs.ext4 -d rootfs base.img %s" % IMAGE_SIZE):
                subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "pmemtb-root", "-d", rootfs,
                                os.path.join(work, "base.img"), IMAGE_SIZE], check=True)
            shutil.rmtree(rootfs)
            with open(os.path.join(work, "recipe.json"), "w") as handle:
                json.dump(dict(recipe(release), sources=sources,
                               kernel=os.path.basename(kernels[-1])), handle, indent=2)
    return target


def host_qemu_version():
    """(major, minor) of the host's qemu-system-x86_64, or None when it is missing or unreadable."""
    if shutil.which("qemu-system-x86_64") is None:
        return None
    result = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True, check=False)
    words = result.stdout.split()
    if "version" not in words or words.index("version") + 1 >= len(words):
        return None
    try:
        return tuple(int(part) for part in words[words.index("version") + 1].split(".")[:2])
    except ValueError:
        return None


def qemu_root_recipe():
    return {"release": QEMU_ROOT_RELEASE, "packages": sorted(QEMU_ROOT_PACKAGES), "revision": QEMU_ROOT_REVISION}


def qemu_root_dir():
    digest = hashlib.sha256(json.dumps(qemu_root_recipe(), sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(cache_root(), "qemu-%s-%s" % (QEMU_ROOT_RELEASE, digest))


def cxl_qemu_root():
    """None when the host's own QEMU can emulate CXL volatile memory, else the private root whose QEMU
    can (built from Debian packages on first use, then cached like the images)."""
    version = host_qemu_version()
    if version is not None and version >= CXL_MIN_QEMU:
        return None
    return build_qemu_root()


def build_qemu_root():
    target = qemu_root_dir()
    root = os.path.join(target, "root")
    if os.path.exists(os.path.join(target, "recipe.json")):
        say("QEMU root for CXL is cached, reusing %s" % target)
        return root
    require_tools("mmdebstrap", "unshare", "chroot")
    require_free_space(cache_root(), needed=GIB)
    with build_dir(target, ".build-qemu-") as work:
        with step("unpack Debian %s's QEMU into %s (the host's QEMU %s has no CXL volatile memory)"
                  % (QEMU_ROOT_RELEASE, target, ".".join(map(str, host_qemu_version() or ("none",))))):
            sources = guest_apt_sources(QEMU_ROOT_RELEASE)
            log_path = os.path.join(work, "mmdebstrap.log")
            command = ["mmdebstrap", "--variant=essential", "--mode=root",
                       "--include=" + ",".join(QEMU_ROOT_PACKAGES),
                       "--aptopt=Acquire::Check-Valid-Until \"false\"",
                       "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
                       "--dpkgopt=path-exclude=/usr/share/locale/*",
                       QEMU_ROOT_RELEASE, os.path.join(work, "root")] + sources
            run_mmdebstrap(command, log_path)
            version = subprocess.run(["chroot", os.path.join(work, "root"), "qemu-system-x86_64", "--version"],
                                     capture_output=True, text=True, check=True).stdout.splitlines()[0]
            with open(os.path.join(work, "recipe.json"), "w") as handle:
                json.dump(dict(qemu_root_recipe(), sources=sources, qemu=version), handle, indent=2)
            say("  %s" % version)
    return root


# Runs QEMU inside the private root: a private mount namespace (unshare) in which the host paths QEMU
# is given (state and image directories, /dev, /proc) are bind-mounted into the root, then chroot. The
# root's own libraries, modules and firmware are all QEMU sees; the mounts vanish with the process.
# Every step execs the next, so the pid the test bed records is QEMU's own.
IN_ROOT_SCRIPT = r"""
set -eu
root=$1; shift
while [ "$1" != -- ]; do
    mkdir -p "$root$1"
    mount --rbind "$1" "$root$1"
    shift
done
shift
exec chroot "$root" "$@"
"""


def in_qemu_root(root, command, host_paths):
    paths = ["/dev", "/proc"] + sorted(set(host_paths))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", IN_ROOT_SCRIPT.strip(), "sh", root] + \
        paths + ["--"] + command


def tail(path, lines=25):
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no %s)" % path


# --------------------------------------------------------------------------- guests

def kvm_works():
    """True only when KVM is real: /dev/kvm alone can be a paravirtual stub that hangs QEMU."""
    try:
        with open("/proc/modules") as handle:
            modules = handle.read()
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    has_module = "kvm_intel " in modules or "kvm_amd " in modules
    has_flag = " vmx" in flags or " svm" in flags
    return has_module and has_flag and os.access("/dev/kvm", os.R_OK | os.W_OK)


def choose_accel():
    override = os.environ.get("PMEM_TESTBED_ACCEL")
    if override:
        if override not in ("kvm", "tcg"):
            raise TestbedError("PMEM_TESTBED_ACCEL must be kvm or tcg, not %r" % override)
        return override
    return "kvm" if kvm_works() else "tcg"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_gib(text):
    value = text.strip().upper().rstrip("B").rstrip("I")
    if value.endswith("G"):
        value = value[:-1]
    try:
        number = int(value)
    except ValueError:
        raise TestbedError("sizes are whole GiB, like 3G or 4, not %r" % text)
    if number < 1:
        raise TestbedError("size must be at least 1 GiB, not %r" % text)
    return number


class Guest:
    """One QEMU guest and the files under STATE/NAME that belong to it."""

    def __init__(self, state, name, release, **config):
        self.state = os.path.abspath(state)
        self.name = name
        self.release = release
        self.dir = os.path.join(self.state, name)
        self.port = config.get("port")
        self.pid = config.get("pid")
        self.image = config.get("image") or image_dir(release)
        self.ram_gib = config.get("ram_gib", 3)
        self.nvdimms = config.get("nvdimms", 2)
        self.nvdimm_gib = config.get("nvdimm_gib", 4)
        self.cpus = config.get("cpus", 1)
        self.accel = config.get("accel", "tcg")
        self.cxl_gib = config.get("cxl_gib", 0)
        self.qemu_root = config.get("qemu_root")
        self.kernel_args = config.get("kernel_args", "")

    # ---- description, as stored in guests.json and the runtime registry
    def to_dict(self):
        return {
            "name": self.name, "release": self.release, "state": self.state, "dir": self.dir,
            "port": self.port, "pid": self.pid, "image": self.image, "ram_gib": self.ram_gib,
            "nvdimms": self.nvdimms, "nvdimm_gib": self.nvdimm_gib, "cpus": self.cpus,
            "accel": self.accel, "ssh_key": self.key, "console": self.console,
            "cxl_gib": self.cxl_gib, "qemu_root": self.qemu_root, "kernel_args": self.kernel_args,
        }

    @classmethod
    def from_dict(cls, data):
        options = dict(data)
        return cls(options.pop("state"), options.pop("name"), options.pop("release"), **options)

    @property
    def key(self):
        return os.path.join(self.image, "id_ed25519")

    @property
    def console(self):
        return os.path.join(self.dir, "console.log")

    @property
    def registry_entry(self):
        digest = hashlib.sha256(self.dir.encode()).hexdigest()[:16]
        return os.path.join(runtime_root(), "%s.json" % digest)

    @property
    def marker(self):
        """Appears in QEMU's command line: proves a pid is this guest before it is killed."""
        return "pmemtb:%s" % self.dir

    # ---- QEMU
    def qemu_command(self):
        ram = "%dG" % self.ram_gib
        backend_bytes = self.nvdimm_gib * GIB + LABEL_SIZE
        # Room for every NVDIMM plus the 1 GiB alignment QEMU reserves per slot.
        maxmem = "%dG" % (self.ram_gib + self.nvdimms * (self.nvdimm_gib + 1) + 1)
        slots = max(4, self.nvdimms)
        command = [
            "qemu-system-x86_64", "-name", self.marker,
            "-machine", "q35,nvdimm=on" + (",hmat=on" if self.describes_hmat else "")
            + (",cxl=on" if self.cxl_gib else ""), "-accel", self.accel,
            # Under TCG the CXL driver stack needs a CPU that does not announce a hypervisor.
            "-cpu", "host" if self.accel == "kvm" else ("max,hypervisor=off" if self.cxl_gib else "max"),
            "-smp", str(self.cpus), "-m", "%s,slots=%d,maxmem=%s" % (ram, slots, maxmem),
            "-object", "memory-backend-ram,id=ram0,size=%s" % ram,
            "-numa", "node,nodeid=0,cpus=0-%d,memdev=ram0" % (self.cpus - 1),
        ]
        for index in range(self.nvdimms):
            command += [
                "-object", "memory-backend-file,id=pmem%d,share=on,mem-path=%s,size=%d"
                % (index, self.nvdimm_path(index), backend_bytes),
                # HMAT wants an initiator for every node; the CPUs are all on node 0.
                "-numa", "node,nodeid=%d" % (index + 1)
                + (",initiator=%d" % DRAM_NODE if self.describes_hmat else ""),
                "-device", "nvdimm,id=nvdimm%d,memdev=pmem%d,label-size=%d,node=%d"
                % (index, index, LABEL_SIZE, index + 1),
            ]
        command += self.numa_performance_arguments()
        if self.cxl_gib:
            command += self.cxl_arguments()
        command += [
            "-kernel", os.path.join(self.image, "vmlinuz"),
            "-initrd", os.path.join(self.image, "initrd.img"),
            # Generous systemd/udev timeouts: under TCG on a busy host a unit can take minutes to start.
            "-append", " ".join(filter(None, ["root=/dev/vda rw console=ttyS0 systemd.hostname=" + self.name,
                                              SLOW_HOST_ARGS, BOOT_LEAN_ARGS, self.kernel_args])),
            # Both on the root bus by name: a CXL host bridge would otherwise be picked and refuse them.
            "-drive", "file=%s,if=none,id=disk0,format=qcow2,cache=unsafe" % self.disk,
            "-device", "virtio-blk-pci,drive=disk0,bus=pcie.0",
            "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:%d-:22" % self.port,
            "-device", "virtio-net-pci,netdev=net0,bus=pcie.0",
            "-nodefaults", "-display", "none", "-monitor", "none", "-serial", "file:%s" % self.console,
            "-pidfile", os.path.join(self.dir, "qemu.pid"),
        ]
        return command

    @property
    def describes_hmat(self):
        """HMAT on every guest but a CXL one: there Debian 13's QEMU 10.0 with SeaBIOS 1.16.3, given both
        SLIT and HMAT, ends with SeaBIOS not finding QEMU's RSDP ("internal error detected at
        qemu_platform_setup") and booting the guest on its own fallback tables, without the CXL host
        bridge (no CEDT, cxl_pci: "registers not found"). Either table alone works; the distances stay."""
        return not self.cxl_gib

    def numa_performance_arguments(self):
        """SLIT distances between every pair of nodes and HMAT latency and bandwidth from node 0 to each
        node (see NUMA_DISTANCE_*). The CXL window's node is the guest kernel's own (made from the CFMWS,
        after the firmware's nodes): QEMU cannot name it, so the kernel gives it its default distance."""
        pmem_nodes = [index + 1 for index in range(self.nvdimms)]
        arguments = []
        for source in [DRAM_NODE] + pmem_nodes:
            for target in pmem_nodes:
                if target > source:
                    distance = NUMA_DISTANCE_DRAM_TO_PMEM if source == DRAM_NODE else NUMA_DISTANCE_PMEM_TO_PMEM
                    arguments += ["-numa", "dist,src=%d,dst=%d,val=%d" % (source, target, distance)]
        if not self.describes_hmat:
            return arguments
        for target in [DRAM_NODE] + pmem_nodes:
            access = DRAM_ACCESS if target == DRAM_NODE else PMEM_ACCESS
            memory = "hmat-lb,initiator=%d,target=%d,hierarchy=memory" % (DRAM_NODE, target)
            arguments += [
                "-numa", memory + ",data-type=access-latency,latency=%d" % access["latency_ns"],
                "-numa", memory + ",data-type=access-bandwidth,bandwidth=%s" % access["bandwidth"],
            ]
        return arguments

    def cxl_arguments(self):
        """One CXL type-3 volatile memory device behind a CXL host bridge and root port, and a fixed
        memory window for it to be mapped into (the kernel gives the window its own NUMA node)."""
        return [
            "-object", "memory-backend-ram,id=cxlmem0,share=on,size=%dG" % self.cxl_gib,
            "-device", "pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1",
            "-device", "cxl-rp,port=0,bus=cxl.1,id=cxl_rp0,chassis=0,slot=2",
            "-device", "cxl-type3,bus=cxl_rp0,volatile-memdev=cxlmem0,id=cxl-vmem0",
            "-M", "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=%dG" % max(4, self.cxl_gib),
        ]

    def launch_command(self):
        """QEMU's command line, run inside the private QEMU root when the host's QEMU is too old."""
        if not self.qemu_root:
            return self.qemu_command()
        return in_qemu_root(self.qemu_root, self.qemu_command(), [self.dir, self.image])

    @property
    def disk(self):
        return os.path.join(self.dir, "disk.qcow2")

    def nvdimm_path(self, index):
        return os.path.join(self.dir, "nvdimm%d.img" % index)

    def prepare(self):
        os.makedirs(self.dir, exist_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                        os.path.join(self.image, "base.img"), self.disk], check=True)
        for index in range(self.nvdimms):
            # Sparse and zeroed: the region comes up label-less until labels are written.
            with open(self.nvdimm_path(index), "wb") as handle:
                handle.truncate(self.nvdimm_gib * GIB + LABEL_SIZE)

    def start(self, attempts=5, keep_port=False):
        """Start QEMU; a port taken between probe and bind makes QEMU exit, so try another (unless
        keep_port: a restarted guest keeps the port its inventory names)."""
        for dummy in range(1 if keep_port else attempts):
            if not keep_port:
                self.port = free_port()
            if os.path.exists(self.console):
                if keep_port:  # a restart: keep the last boot's console for whoever debugs it
                    os.replace(self.console, self.console + ".previous")
                else:
                    os.unlink(self.console)
            with open(os.path.join(self.dir, "qemu.log"), "w") as log:
                # Own session: a Ctrl-C in the caller's terminal after `up` returned must not kill it.
                process = subprocess.Popen(self.launch_command(), stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            self.pid = process.pid
            self.register()
            time.sleep(1.0)
            if process.poll() is None:
                return
            self.unregister()
            output = tail(os.path.join(self.dir, "qemu.log"))
            if keep_port or ("hostfwd" not in output and "forwarding" not in output):
                raise TestbedError("QEMU for %s exited at once:\n%s" % (self.name, output))
        raise TestbedError("no free port for %s after %d attempts" % (self.name, attempts))

    def register(self):
        with open(self.registry_entry, "w") as handle:
            json.dump(self.to_dict(), handle)

    def unregister(self):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.registry_entry)

    def is_running(self):
        if not self.pid:
            return False
        try:
            with open("/proc/%d/cmdline" % self.pid, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            return False
        return self.marker.encode() in argv

    def stop(self, grace=10.0):
        """Kill QEMU (only if the pid still is this guest) and delete its disk and NVDIMM files."""
        self.kill(grace)
        for path in [self.disk, os.path.join(self.dir, "qemu.pid")] + glob.glob(
                os.path.join(self.dir, "nvdimm*.img")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self.unregister()

    def kill(self, grace=10.0):
        """End QEMU (only if the pid still is this guest), SIGTERM first; its files stay."""
        if self.is_running():
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while self.is_running() and time.monotonic() < deadline:
                reap(self.pid)
                time.sleep(0.2)
            if self.is_running():
                os.kill(self.pid, signal.SIGKILL)
                while self.is_running():
                    reap(self.pid)
                    time.sleep(0.1)
            reap(self.pid)

    def power_off(self, timeout):
        """Shut the guest down (QEMU exits when it powers off); pull the plug if it has not within
        timeout. Disk and NVDIMM files stay, so the guest can be started again on them."""
        # The connection drops when the guest goes down; that is the expected outcome.
        with contextlib.suppress(TestbedError):
            self.run("systemctl poweroff", timeout=30, check=False, attempts=1)
        deadline = time.monotonic() + timeout
        while self.is_running() and time.monotonic() < deadline:
            reap(self.pid)
            time.sleep(1)
        if self.is_running():
            say("  %s: still running %d s after poweroff, stopping QEMU" % (self.name, timeout))
        self.kill()
        self.unregister()

    # ---- SSH
    def ssh_command(self, *remote, tty=False, connect_timeout=30):
        command = ["ssh", "-i", self.key, "-p", str(self.port), "-o", "BatchMode=yes",
                   "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                   "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=%d" % connect_timeout,
                   "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=8"]
        if tty:
            command.append("-t")
        return command + ["%s@127.0.0.1" % SSH_USER] + list(remote)

    def run(self, script, timeout=120, check=True, input=None, attempts=4, connect_timeout=30):
        """Run a shell command in the guest. A connection that fails before the command starts (a
        starved guest misses the banner exchange) is retried; anything later is the command's result."""
        for attempt in range(attempts):
            try:
                result = subprocess.run(self.ssh_command(script, connect_timeout=connect_timeout), input=input if input is not None else "",
                                        capture_output=True, text=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                raise TestbedError("on %s `%s` took longer than %d s" % (self.name, script, timeout))
            if result.returncode != 255 or not any(
                    sign in result.stderr for sign in CONNECT_FAILURES) or attempt == attempts - 1:
                break
            time.sleep(3)
        if check and result.returncode != 0:
            raise TestbedError("on %s `%s` failed (rc %d):\n%s%s"
                               % (self.name, script, result.returncode, result.stdout, result.stderr))
        return result

    def boot_id(self, connect_timeout=30):
        try:
            result = self.run("cat /proc/sys/kernel/random/boot_id", timeout=connect_timeout + 30, check=False,
                              attempts=1, connect_timeout=connect_timeout)
        except TestbedError:
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    def wait_for_ssh(self, timeout, not_boot_id=None):
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if ABORT.is_set():
                raise TestbedError("%s: aborted" % self.name)
            if not self.is_running():
                raise TestbedError("QEMU of %s is gone; console (%s) ends with:\n%s"
                                   % (self.name, self.console, tail(self.console)))
            # QEMU's user network accepts the connection at once and then retries its own to the guest
            # with a growing back-off: an attempt made before the guest's network is up answers only
            # ~30 s after the start, whenever sshd came up. Short attempts come through soon after
            # sshd is up; after two minutes (a starved guest), patient ones.
            waited = time.monotonic() - started
            boot = self.boot_id(connect_timeout=SSH_BOOT_POLL_TIMEOUT if waited < 120 else 30)
            if boot and boot != not_boot_id:
                return boot
            time.sleep(1)
        raise TestbedError("%s did not answer SSH on port %s within %d s; console (%s) ends with:\n%s"
                           % (self.name, self.port, timeout, self.console, tail(self.console)))

    def list_regions(self):
        regions = json.loads(self.run("udevadm settle --timeout=300; ndctl list -R", timeout=360).stdout or "[]")
        return [regions] if isinstance(regions, dict) else regions

    def wait_for_regions(self, labelled, timeout):
        """Poll until every region is there (and, when labelled, has free space); None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            regions = self.list_regions()
            if len(regions) == self.nvdimms and (
                    not labelled or all(region.get("available_size", 0) > 0 for region in regions)):
                return regions
            if time.monotonic() > deadline:
                return None
            time.sleep(2)

    def wait_for_cxl(self, timeout=300):
        """Poll until `cxl list` shows the emulated memdev (cxl_pci probes it after SSH may be up)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.run("udevadm settle --timeout=120; cxl list -M", timeout=180, check=False)
            if result.returncode == 0 and '"memdev"' in result.stdout:
                return
            if time.monotonic() > deadline:
                raise TestbedError("%s: no CXL memdev after %d s; `cxl list -M` said %r %r; console (%s)"
                                   % (self.name, timeout, result.stdout, result.stderr, self.console))
            time.sleep(3)

    def init_labels(self, attempts=3):
        # Zeroed backends come up label-less (one raw namespace, no --size). Label them once. Regions
        # and DIMMs are probed asynchronously, and a guest that just answered SSH may still be probing
        # (seen on 6.12 under load: labels written while a region came up were lost), so wait first,
        # check afterwards and try again.
        # SSH answers before boot is over; a starved Debian 13 guest was still probing devices then.
        self.run("timeout 900 systemctl is-system-running --wait", timeout=960, check=False)
        if self.wait_for_regions(labelled=False, timeout=180) is None:
            raise TestbedError("%s: the NVDIMM regions did not appear: %s" % (self.name, self.list_regions()))
        output = ""
        for attempt in range(attempts):
            force = " -f" if attempt else ""
            result = self.run("udevadm settle --timeout=300; ndctl disable-region all; ndctl init-labels%s all; "
                              "ndctl enable-region all" % force, timeout=300, check=False)
            output += "attempt %d (rc %d):\n%s%s" % (
                attempt + 1, result.returncode, result.stdout, result.stderr)
            if self.wait_for_regions(labelled=True, timeout=60) is not None:
                return
        raise TestbedError("labels on %s did not take: ndctl list -R says %s\n%s"
                           % (self.name, self.list_regions(), output))


def reap(pid):
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


# --------------------------------------------------------------------------- state directory

def registered_guests():
    guests = []
    for path in sorted(glob.glob(os.path.join(runtime_root(), "*.json"))):
        with contextlib.suppress(OSError, ValueError, KeyError):
            with open(path) as handle:
                guests.append(Guest.from_dict(json.load(handle)))
    return guests


def load_guests(state, include_registered=False):
    """Guests of a state directory; with include_registered also those an interrupted `up` had
    started but not yet written to guests.json."""
    state = os.path.abspath(state)
    path = os.path.join(state, "guests.json")
    guests = []
    if os.path.exists(path):
        with open(path) as handle:
            guests = [Guest.from_dict(data) for data in json.load(handle)["guests"]]
    if include_registered:
        known = {guest.dir for guest in guests}
        guests += [guest for guest in registered_guests() if guest.state == state and guest.dir not in known]
    if not guests:
        raise TestbedError("no guests in %s: nothing is up there" % state)
    return guests


def write_state(state, guests):
    with open(os.path.join(state, "guests.json"), "w") as handle:
        json.dump({"guests": [guest.to_dict() for guest in guests]}, handle, indent=2)
    lines = ["# written by testbed/pmemtb.py up; removed by pmemtb.py down", "all:", "  hosts:"]
    ssh_args = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    for guest in guests:
        lines += [
            "    %s:" % guest.name,
            "      ansible_host: 127.0.0.1",
            "      ansible_port: %d" % guest.port,
            "      ansible_user: %s" % SSH_USER,
            "      ansible_ssh_private_key_file: %s" % json.dumps(guest.key),
            "      ansible_python_interpreter: %s" % GUEST_PYTHON,
            "      ansible_ssh_common_args: %s" % json.dumps(ssh_args),
            "      testbed_release: %s" % guest.release,
        ]
    with open(os.path.join(state, "inventory.yml"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def parse_guest_specs(args):
    specs = []
    for spec in args.guest or []:
        name, dummy, release = spec.partition(":")
        specs.append((name, release or args.release))
    if args.guests:
        specs += [("guest%d" % (index + 1), args.release) for index in range(args.guests)]
    if not specs:
        specs = [("guest1", args.release)]
    names = [name for name, dummy in specs]
    if len(set(names)) != len(names):
        raise TestbedError("guest names must be unique: %s" % ", ".join(names))
    for name, release in specs:
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise TestbedError("guest name %r: use letters, digits, - and _" % name)
        if release not in RELEASES:
            raise TestbedError("guest %s: unknown release %r (choose from %s)"
                               % (name, release, ", ".join(RELEASES)))
    return specs


# --------------------------------------------------------------------------- commands

def cmd_build(args):
    build_image(args.release)
    if args.qemu_root:
        root = cxl_qemu_root()
        say("QEMU for CXL guests: %s" % ("the host's own" if root is None else root))


def cmd_up(args):
    require_tools("qemu-system-x86_64", "qemu-img", "ssh")
    state = os.path.abspath(args.state)
    specs = parse_guest_specs(args)
    if os.path.exists(os.path.join(state, "guests.json")):
        if any(guest.is_running() for guest in load_guests(state)):
            raise TestbedError("guests of %s are still running: run `pmemtb.py down --state %s` first"
                               % (state, state))
    require_free_space(state, needed=1 * GIB)
    accel = choose_accel()
    say("accelerator: %s%s" % (accel, "" if accel == "kvm" else " (no working KVM here; boots are slow)"))
    cxl_gib = parse_gib(args.cxl) if args.cxl else 0
    extra_kernel_args = kernel_args(args)
    if cxl_gib:
        too_old = [name for name, release in specs if release not in CXL_RELEASES]
        if too_old:
            raise TestbedError("--cxl needs Debian 13 guests (kernel 6.12, cxl 81): %s is not; use NAME:trixie "
                               "or NAME:trixie-backports" % ", ".join(too_old))
    images = {}
    for release in sorted({release for dummy, release in specs}):
        images[release] = build_image(release)
    qemu_root = cxl_qemu_root() if cxl_gib else None
    guests = [Guest(state, name, release, image=images[release], ram_gib=parse_gib(args.ram),
                    nvdimms=args.nvdimms, nvdimm_gib=parse_gib(args.nvdimm_size), cpus=args.cpus,
                    accel=accel, cxl_gib=cxl_gib, qemu_root=qemu_root, kernel_args=extra_kernel_args)
              for name, release in specs]
    try:
        with step("start %d guest(s): %s" % (len(guests), ", ".join(
                "%s (%s)" % (guest.name, guest.release) for guest in guests))):
            for guest in guests:
                guest.prepare()
                guest.start()
                say("  %s: qemu pid %d, ssh 127.0.0.1:%d, console %s"
                    % (guest.name, guest.pid, guest.port, guest.console))
        write_state(state, guests)
        with step("wait for SSH on every guest (timeout %d s)" % args.timeout):
            for_each(guests, lambda guest: timed(guest.name + " answers SSH", guest.wait_for_ssh,
                                                 args.timeout))
        if cxl_gib:
            with step("wait for the CXL memory device"):
                for_each(guests, lambda guest: timed(guest.name + " lists its CXL memdev", guest.wait_for_cxl))
        if args.no_labels:
            say("--no-labels: regions stay label-less")
        else:
            with step("initialise NVDIMM labels (disable-region, init-labels, enable-region)"):
                for_each(guests, lambda guest: timed(guest.name + " labelled", guest.init_labels))
    except BaseException:
        say("up failed or was interrupted: stopping the guests it started")
        for guest in guests:
            guest.stop()
        for name in ("guests.json", "inventory.yml"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(state, name))
        raise
    say("inventory: %s" % os.path.join(state, "inventory.yml"))
    for guest in guests:
        say("  %s" % " ".join(["python3", os.path.abspath(__file__), "ssh", "--state", state, guest.name,
                               "--", "ndctl", "list", "-R"]))


def kernel_args(args):
    """--kernel-args as one line of space-separated words, appended to every guest's kernel command line."""
    words = " ".join(args.kernel_args or []).split()
    if any(word.startswith("root=") or word.startswith("console=") for word in words):
        raise TestbedError("--kernel-args may not set root= or console=: the test bed needs its own")
    return " ".join(words)


def timed(description, function, *args):
    started = time.monotonic()
    result = function(*args)
    say("  %s after %.1f s" % (description, time.monotonic() - started))
    return result


def for_each(guests, function):
    """Run function(guest) for all guests in parallel threads; re-raise the first failure."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(guests)))
    try:
        futures = [pool.submit(function, guest) for guest in guests]
        for future in futures:
            future.result()
    except BaseException:
        ABORT.set()  # the other workers give up at their next poll instead of waiting out the timeout
        raise
    finally:
        pool.shutdown(wait=False)


def select(guests, names):
    if not names:
        return guests
    known = {guest.name: guest for guest in guests}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise TestbedError("no guest named %s (known: %s)" % (", ".join(unknown), ", ".join(known)))
    return [known[name] for name in names]


def cmd_reboot(args):
    guests = select(load_guests(args.state), args.guest)

    def reboot(guest):
        before = guest.boot_id()
        if before is None:
            raise TestbedError("%s does not answer SSH, cannot reboot it" % guest.name)
        # The connection drops when the guest goes down; that is the expected outcome.
        with contextlib.suppress(TestbedError):
            guest.run("systemctl reboot", timeout=30, check=False, attempts=1)
        timed(guest.name + " back after reboot", guest.wait_for_ssh, args.timeout, before)

    with step("reboot %s" % ", ".join(guest.name for guest in guests)):
        for_each(guests, reboot)


def cmd_restart(args):
    """A cold boot: the guest powers off, QEMU exits, and the same command line starts again on the same
    disk and NVDIMM files (the CXL memdev's backend is RAM: its contents are gone, as on a real host).
    Emulated devices are reset, unlike on a warm reboot, so the CXL memdev probes again."""
    state = os.path.abspath(args.state)
    every = load_guests(state)
    guests = select(every, args.guest)

    def restart(guest):
        if not guest.is_running():
            raise TestbedError("%s is not running: bring it up with `pmemtb.py up`" % guest.name)
        timed(guest.name + " powered off", guest.power_off, args.timeout)
        try:
            guest.start(keep_port=True)
            timed(guest.name + " answers SSH after the cold boot", guest.wait_for_ssh, args.timeout)
            if guest.cxl_gib:
                timed(guest.name + " lists its CXL memdev", guest.wait_for_cxl)
        finally:
            write_state(state, every)  # the new pid, so `down` finds this QEMU whatever happens

    with step("restart (power off, boot again) %s" % ", ".join(guest.name for guest in guests)):
        for_each(guests, restart)


def cmd_ssh(args):
    guest = select(load_guests(args.state), [args.name])[0]
    remote = args.command[1:] if args.command[:1] == ["--"] else args.command
    command = guest.ssh_command(*remote, tty=not remote and sys.stdin.isatty())
    sys.stdout.flush()
    os.execvp(command[0], command)


def cmd_down(args):
    if args.all:
        guests = registered_guests()
        states = sorted({guest.state for guest in guests})
    elif args.state:
        guests = load_guests(args.state, include_registered=True)
        states = [os.path.abspath(args.state)]
    else:
        raise TestbedError("down needs --state DIR or --all")
    with step("stop %d guest(s)" % len(guests)):
        for guest in guests:
            was_running = guest.is_running()
            guest.stop()
            say("  %s: %s" % (guest.name, "stopped" if was_running else "was not running; files removed"))
    for state in states:
        for name in ("guests.json", "inventory.yml"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(state, name))


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="pmemtb.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build (or reuse) the guest image of a release")
    build.add_argument("--release", choices=RELEASES, default=DEFAULT_RELEASE)
    build.add_argument("--qemu-root", action="store_true",
                       help="also build the private QEMU root used for CXL guests when the host's QEMU is too old")
    build.set_defaults(func=cmd_build)

    up = commands.add_parser("up", help="boot guests with emulated NVDIMMs and write an inventory")
    up.add_argument("--state", required=True, help="directory for this set of guests")
    up.add_argument("--guest", action="append", metavar="NAME[:RELEASE]", help="repeat for more guests")
    up.add_argument("--guests", type=int, metavar="N", help="N more guests named guest1..guestN")
    up.add_argument("--release", choices=RELEASES, default=DEFAULT_RELEASE,
                    help="release of guests that do not name one (default %(default)s)")
    up.add_argument("--ram", default="3G", help="guest RAM on node 0 (default %(default)s)")
    up.add_argument("--cpus", type=int, default=1, help="guest CPUs on node 0 (default %(default)s)")
    up.add_argument("--nvdimms", type=int, default=2, help="NVDIMMs per guest, each on its own "
                    "CPU-less NUMA node (default %(default)s)")
    up.add_argument("--nvdimm-size", default="4G", help="size of each NVDIMM (default %(default)s)")
    up.add_argument("--cxl", nargs="?", const="1G", metavar="SIZE",
                    help="add a CXL type-3 volatile memory device (default 1G) behind a CXL host bridge; "
                    "Debian 13 guests only; runs Debian 13's QEMU from a private root when the host's "
                    "is older than 8")
    up.add_argument("--no-labels", action="store_true", help="leave the regions label-less")
    up.add_argument("--kernel-args", action="append", metavar="ARGS",
                    help="more kernel command-line arguments for every guest, such as "
                    "memory_hotplug.memmap_on_memory=1 (repeatable; kept by restart)")
    up.add_argument("--timeout", type=int, default=900, help="seconds to wait for SSH (default %(default)s)")
    up.set_defaults(func=cmd_up)

    reboot = commands.add_parser("reboot", help="reboot guests and wait for SSH again")
    reboot.add_argument("--state", required=True)
    reboot.add_argument("--guest", action="append", metavar="NAME")
    reboot.add_argument("--timeout", type=int, default=900)
    reboot.set_defaults(func=cmd_reboot)

    restart = commands.add_parser("restart", help="power guests off and boot them again on the same "
                                  "disks (a cold boot: emulated devices are reset) and wait for SSH")
    restart.add_argument("--state", required=True)
    restart.add_argument("--guest", action="append", metavar="NAME")
    restart.add_argument("--timeout", type=int, default=900,
                         help="seconds to wait for the power-off, then for SSH (default %(default)s)")
    restart.set_defaults(func=cmd_restart)

    ssh = commands.add_parser("ssh", help="run a command in a guest (or a shell)")
    ssh.add_argument("--state", required=True)
    ssh.add_argument("name")
    ssh.add_argument("command", nargs=argparse.REMAINDER)
    ssh.set_defaults(func=cmd_ssh)

    down = commands.add_parser("down", help="stop guests and delete their disks and NVDIMM files")
    down.add_argument("--state")
    down.add_argument("--all", action="store_true", help="every guest this tool started on this host")
    down.set_defaults(func=cmd_down)
    args = parser.parse_args(argv)
    if getattr(args, "nvdimms", 1) < 1:
        parser.error("--nvdimms must be at least 1")
    return args


def _raise_interrupted(signum, _frame):
    raise Interrupted("signal %d" % signum)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGHUP, _raise_interrupted)
    try:
        args.func(args)
    except TestbedError as error:
        print("pmemtb: error: %s" % error, file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Interrupted) as error:
        print("pmemtb: interrupted (%s); cleaned up what this run started" % (error or "Ctrl-C"),
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
