# shellcheck shell=sh
# Run by the role (ansible.builtin.shell with this file's text; paths in PMEM_DAX_CONFIG and PMEM_DAX_UNIT)
# before any change. Guest commands are slow under emulation and on busy hosts, so everything the checks
# need that no module returns is read here in one round trip. Prints one JSON object:
#   tools:          ndctl and daxctl are both on PATH
#   online_rules:   udev rules files that online hot-added memory (a rule masked in /etc does not count)
#   mem_available_kib: MemAvailable (KiB, as the kernel prints it)
#   config:         the role's boot-time config (null when absent)
#   unit_installed, unit_enabled: the boot-time unit file exists / is enabled
#   sha1:           SHA-1 of the unit, the script and the config (null when missing), so the role writes
#                   only what differs
set -u
config_path="$PMEM_DAX_CONFIG"
unit_path="$PMEM_DAX_UNIT"
script_path="$PMEM_DAX_SCRIPT"

tools=false
if command -v ndctl >/dev/null 2>&1 && command -v daxctl >/dev/null 2>&1; then tools=true; fi

rules=""
seen=" "
for file in /etc/udev/rules.d/*.rules /usr/lib/udev/rules.d/*.rules /lib/udev/rules.d/*.rules; do
  [ -f "$file" ] || continue                        # no match, or masked by a link to /dev/null
  real=$(readlink -f "$file")
  case "$seen" in *" $real "*) continue ;; esac     # /lib is /usr/lib on merged-/usr systems
  seen="$seen$real "
  case "$file" in
    /etc/*) ;;
    *) [ -e "/etc/udev/rules.d/${file##*/}" ] && continue ;;   # overridden by /etc
  esac
  if grep -qE 'SUBSYSTEM=="memory".*ATTR\{state\}="online' "$file"; then
    rules="$rules${rules:+,}\"$file\""
  fi
done

mem_available_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)

config=null
if [ -s "$config_path" ]; then config=$(cat "$config_path"); fi

unit_installed=false
unit_enabled=false
if [ -e "$unit_path" ]; then
  unit_installed=true
  if systemctl is-enabled --quiet "${unit_path##*/}" 2>/dev/null; then unit_enabled=true; fi
fi

sha1() {
  if [ -f "$1" ]; then printf '"%s"' "$(sha1sum "$1" | cut -d' ' -f1)"; else printf null; fi
}

printf '{"tools": %s, "online_rules": [%s], "mem_available_kib": %s, "config": %s, "unit_installed": %s, ' \
  "$tools" "$rules" "${mem_available_kib:-0}" "$config" "$unit_installed"
printf '"unit_enabled": %s, "sha1": {"unit": %s, "script": %s, "config": %s}}\n' \
  "$unit_enabled" "$(sha1 "$unit_path")" "$(sha1 "$script_path")" "$(sha1 "$config_path")"
