# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Does a udev rules file online hot-added memory? Decided the way udev evaluates it, for one synthetic event.

Pure: text in, findings out; nothing here reads the host (``_host.py`` does, and passes what it knows in ``facts``).

The event is a memory block that kmem (or any hot-add) just created: ACTION=add, SUBSYSTEM=memory,
KERNEL=memory123, DEVPATH=/devices/system/memory/memory123, ATTR{state}=offline, ATTR{online}=0. The rules of
one file are walked in order as udev does: a rule applies when all its match keys (``==``/``!=``, glob patterns
with ``|`` alternatives) match; then its assignments run (ENV, TAG, ATTR, RUN) and its GOTO skips forward to the
LABEL. A match whose value is not known for this event (``ATTR{[dmi/id]sys_vendor}``, ``CONST{arch}``, a
PROGRAM's result, ENV set outside the file, ...) may go either way: the walk splits there, each way carrying the
match (or its negation) as a condition. A rule that, on some way, writes ``ATTR{state}="online..."`` (also
through ``$env{...}``), ``ATTR{online}="1"``, or RUNs a program that onlines memory (chmem, an ``echo online >``
into the state file) is a finding, with the condition under which it happens (None: always).

API (stable; additions only):

``MEMORY_EVENT``: the event's known values.
``parse_rules(text)`` -> [Rule]: one per logical rule (continuation lines joined), with ``line``/``end_line``
    (1-based physical lines), ``text`` and ``keys`` [(name, attr, op, value)].
``evaluate(text, facts=None)`` -> [finding]: {line, end_line, text, does, values, condition}; ``values`` the
    states written ("online", "online_movable", "online_kernel"; "program" for a RUN; "?" for a value not
    known), ``condition`` None when the rule onlines memory whatever the host, else the condition's text.
    ``facts``: what is known of the host: {"const": {"arch": "x86-64", "machine": "x86_64", "virt": "none"},
    "attr": {"[dmi/id]sys_vendor": "QEMU"}}; anything else is taken as unknown. ``arch`` is systemd's name
    (what CONST{arch} compares), ``machine`` the kernel's (what ``uname -m`` prints): see host_arch_facts.
``host_arch_facts(machine)`` -> {"arch": ..., "machine": ...} from the kernel's machine name.
``memory_override(text, findings, source)`` -> the text of a file of the same name for /etc/udev/rules.d that
    keeps every line of ``text`` but makes the findings' rules skip memory: a rule that matches
    SUBSYSTEM=="memory" itself is commented out; any other gets ``SUBSYSTEM!="memory", `` in front (it still
    applies to every other device: CPU hot-add rules in the same file keep working). Starts with OVERRIDE_MARK.
    ``suggestion=True``: the same edit as a suggestion for ``source`` itself (a file of /etc/udev/rules.d).
``override_source(text)`` -> the source path an override written by memory_override names, else None.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import fnmatch
import hashlib
import re

OVERRIDE_MARK = '# Written by pmem.dax'

MEMORY_EVENT = {
    'ACTION': 'add',
    'SUBSYSTEM': 'memory',
    'KERNEL': 'memory123',
    'DEVPATH': '/devices/system/memory/memory123',
    'DRIVER': '',
    'NAME': '',
    'SYMLINK': '',
    # attributes of the memory block (those not listed are unknown)
    'attr': {'state': 'offline', 'online': '0'},
    # files a TEST=="name" finds in the block's directory
    'files': ('state', 'online', 'phys_index', 'phys_device', 'removable', 'valid_zones', 'uevent', 'subsystem',
              'power', 'node'),
    # the uevent's properties; keys set to '' are known to be absent (a memory block has no device node)
    'env': {'ACTION': 'add', 'SUBSYSTEM': 'memory', 'DEVPATH': '/devices/system/memory/memory123',
            'DEVNAME': '', 'DEVTYPE': '', 'MAJOR': '', 'MINOR': '', 'DRIVER': ''},
    # the device and its parents, for KERNELS / SUBSYSTEMS / DRIVERS
    'parents': ({'KERNELS': 'memory123', 'SUBSYSTEMS': 'memory', 'DRIVERS': ''},
                {'KERNELS': 'memory', 'SUBSYSTEMS': '', 'DRIVERS': ''}),
}

# PROGRAMs whose output a host fact gives: (pattern, fact name in facts['const']).
KNOWN_PROGRAMS = ((re.compile(r'(^|/)uname\s+-[pm]\s*$'), 'machine'),
                  (re.compile(r'(^|/)systemd-detect-virt\s*$'), 'virt'))

# udev's CONST{arch} is systemd's architecture name, not the kernel's machine name that uname -m prints
# (systemd's src/basic/architecture.c): SUSE's rules test CONST{arch}=="x86-64". Names not listed are the same in both.
_SYSTEMD_ARCH = {
    'x86_64': 'x86-64', 'i386': 'x86', 'i486': 'x86', 'i586': 'x86', 'i686': 'x86',
    'aarch64': 'arm64', 'aarch64_be': 'arm64-be', 'ppc64le': 'ppc64-le',
    'armv7l': 'arm', 'armv6l': 'arm', 'armv8l': 'arm', 'mips64': 'mips64', 'sparc64': 'sparc64',
}


def host_arch_facts(machine):
    """The architecture facts for ``evaluate`` from the kernel's machine name (uname -m, /proc/sys/kernel/arch)."""
    machine = (machine or '').strip()
    if not machine:
        return {}
    return {'arch': _SYSTEMD_ARCH.get(machine, machine), 'machine': machine}


# A RUN program that onlines memory: chmem, or "online" written (echo/printf ... > or tee) into a state/online file.
_ONLINING_PROGRAM_RE = re.compile(r'\bchmem\b|\bonline(_movable|_kernel)?\b.*(>|\btee\b).*(/state|/online)\b')

_KEY_RE = re.compile(r'\s*([A-Za-z_]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*[a-z]?"((?:[^"\\]|\\.)*)"\s*,?')
_SUBST_RE = re.compile(r'\$env\{([^}]*)\}|%E\{([^}]*)\}')
_PARENT_KEYS = ('KERNELS', 'SUBSYSTEMS', 'DRIVERS')
_MATCH_ONLY = ('ACTION', 'DEVPATH', 'KERNEL', 'SUBSYSTEM', 'DRIVER', 'KERNELS', 'SUBSYSTEMS', 'DRIVERS', 'ATTRS',
               'TAGS', 'TEST', 'PROGRAM', 'RESULT', 'CONST', 'IMPORT')
# Ways a walk may split into (each rule with an unknown match doubles them); past that, every rule that would
# online memory if reached is reported, with a condition that says it was not decided.
MAX_WAYS = 256


class Rule(object):
    def __init__(self, line, end_line, text, keys):
        self.line, self.end_line, self.text, self.keys = line, end_line, text, keys

    def get(self, name):
        return [key for key in self.keys if key[0] == name]

    def is_match(self, key):
        name, _attr, op, _value = key
        return name in _MATCH_ONLY or op in ('==', '!=')

    def label(self):
        labels = self.get('LABEL')
        return labels[0][3] if labels else None


def parse_rules(text):
    """Logical rules as udev reads them: '#' lines skipped (also inside a continuation), '\\' continues."""
    rules = []
    pending, first = None, None
    lines = text.splitlines()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith('#'):
            continue
        if pending is not None:
            line = pending + line
        if line.endswith('\\'):
            if pending is None:
                first = number
            pending = line[:-1]
            continue
        start = first if pending is not None else number
        pending, first = None, None
        if not line:
            continue
        rules.append(Rule(start, number, line, _parse_keys(line)))
    return rules


def _parse_keys(line):
    keys, position = [], 0
    while position < len(line):
        match = _KEY_RE.match(line, position)
        if not match:
            break  # udev ignores the rest of an invalid line; so do we
        name, attr, op, value = match.groups()
        keys.append((name, attr, op, value.replace('\\"', '"')))
        position = match.end()
    return keys


def _key_text(name, attr):
    return name + ('{%s}' % attr if attr is not None else '')


def _matches(patterns, value):
    return any(fnmatch.fnmatchcase(value, pattern) if pattern else value == '' for pattern in patterns.split('|'))


class _Way(object):
    """One way through the file: what is known on it and the conditions taken to get there."""

    def __init__(self, env=None, tags=None, result=None, env_unknown=False, conditions=frozenset()):
        self.env = dict(env or {})
        self.tags = set(tags or ())
        self.result = result  # (command, output or None) of the last PROGRAM
        self.env_unknown = env_unknown
        self.conditions = conditions

    def copy(self, extra=()):
        return _Way(self.env, self.tags, self.result, self.env_unknown, self.conditions | frozenset(extra))

    def env_value(self, name):
        """(known, value)."""
        if name in self.env:
            return self.env[name] is not None, self.env[name]
        if name in MEMORY_EVENT['env'] and not self.env_unknown:
            return True, MEMORY_EVENT['env'][name]
        return False, None

    def substitute(self, value):
        """value with $env{X} / %E{X} filled in; None when one of them is not known."""
        unknown = []

        def replace(match):
            known, text = self.env_value(match.group(1) or match.group(2))
            if not known:
                unknown.append(match.group(0))
                return ''
            return text or ''
        result = _SUBST_RE.sub(replace, value)
        return None if unknown else result


def _literal(name, attr, op, value):
    """A condition: ('lit', left side, op, value); op is == or !=."""
    return ('lit', _key_text(name, attr), '!=' if op == '!=' else '==', value)


def _negate(literals):
    literals = frozenset(literals)
    if len(literals) == 1:
        _kind, left, op, value = next(iter(literals))
        return ('lit', left, '==' if op == '!=' else '!=', value)
    return ('not', literals)


def _match_key(way, key, facts):
    """True, False or a literal (not known here) for one match key on this way."""
    name, attr, op, value = key
    negate = op == '!='

    def compare(actual):
        found = _matches(value, actual)
        return (not found) if negate else found

    if name in ('ACTION', 'SUBSYSTEM', 'KERNEL', 'DEVPATH', 'DRIVER', 'NAME', 'SYMLINK'):
        return compare(MEMORY_EVENT[name])
    if name == 'ENV':
        known, actual = way.env_value(attr)
        return compare(actual) if known else _literal(name, attr, op, value)
    if name == 'ATTR':
        actual = MEMORY_EVENT['attr'].get(attr, facts.get('attr', {}).get(attr))
        return compare(actual.strip()) if actual is not None else _literal(name, attr, op, value)
    if name == 'CONST':
        actual = facts.get('const', {}).get(attr)
        return compare(actual) if actual is not None else _literal(name, attr, op, value)
    if name == 'TAG':
        if value in way.tags:
            return not negate
        return _literal(name, attr, op, value)
    if name == 'TEST':
        if '/' not in value and not value.startswith('[') and value in MEMORY_EVENT['files']:
            return not negate
        return _literal(name, attr, op, value)
    if name == 'RESULT':
        if way.result is None:
            return compare('')
        command, output = way.result
        return compare(output) if output is not None else _literal('RESULT', command, op, value)
    return _literal(name, attr, op, value)  # ATTRS, TAGS, SYSCTL, ... : not known for this event


def _run_program(way, key, facts):
    """PROGRAM: records its result on the way; True when it is known to succeed, else a literal."""
    command = key[3]
    for pattern, fact in KNOWN_PROGRAMS:
        if pattern.search(command):
            way.result = (command, facts.get('const', {}).get(fact))
            return True
    way.result = (command, None)
    return _literal('PROGRAM', None, '==', command)


def _match_rule(way, rule, facts):
    """True, False, or the frozenset of literals under which the rule matches on this way.

    Order as udev's: the plain matches first (a failing one stops the rule before any PROGRAM runs), then
    PROGRAM, then RESULT (PROGRAM's output).
    """
    keys = [key for key in rule.keys if rule.is_match(key) and key[0] not in ('LABEL', 'GOTO', 'IMPORT')]
    plain = [key for key in keys if key[0] not in ('PROGRAM', 'RESULT') + _PARENT_KEYS]
    parents = [key for key in keys if key[0] in _PARENT_KEYS]
    unknown = []
    for key in plain:
        outcome = _match_key(way, key, facts)
        if outcome is False:
            return False
        if outcome is not True:
            unknown.append(outcome)
    # all parent keys must match on one device of the chain (the device itself or a parent)
    if parents and not any(all(_matches(value, device[name]) != (op == '!=') for name, _attr, op, value in parents)
                           for device in MEMORY_EVENT['parents']):
        return False
    for key in [key for key in keys if key[0] == 'PROGRAM'] + [key for key in keys if key[0] == 'RESULT']:
        outcome = _run_program(way, key, facts) if key[0] == 'PROGRAM' else _match_key(way, key, facts)
        if outcome is False:
            return False
        if outcome is not True:
            unknown.append(outcome)
    return frozenset(unknown) if unknown else True


def _onlining(way, rule):
    """[(value, assignment text)] the rule writes that online the memory block."""
    found = []
    for name, attr, op, value in rule.keys:
        if op in ('==', '!=', '-='):
            continue
        text = '%s%s"%s"' % (_key_text(name, attr), op, value)
        if name == 'ATTR' and attr in ('state', 'online'):
            actual = way.substitute(value)
            if actual is None:
                found.append(('?', text))
            elif attr == 'state' and actual.strip().startswith('online'):
                found.append((actual.strip(), text))
            elif attr == 'online' and actual.strip() == '1':
                found.append(('online', text))
        elif name == 'RUN' and _ONLINING_PROGRAM_RE.search(value):
            found.append(('program', text))
    return found


def _apply(way, rule):
    """Runs the rule's assignments on the way; returns (goto label or None, stop)."""
    goto, stop = None, False
    for name, attr, op, value in rule.keys:
        if name == 'IMPORT':
            way.env_unknown = True
            # an import may set any property: only the rules' private ones ('.name') stay known
            way.env = dict((key, val) for key, val in way.env.items() if key.startswith('.'))
            continue
        if op in ('==', '!='):
            continue
        if name == 'ENV':
            actual = way.substitute(value)
            if op == '+=' and attr in way.env:
                old = way.env[attr]
                actual = None if old is None or actual is None else old + actual
            way.env[attr] = actual
        elif name == 'TAG':
            if op == '-=':
                way.tags.discard(value)
            else:
                if op in ('=', ':='):
                    way.tags.clear()
                way.tags.add(value)
        elif name == 'GOTO':
            goto = value
        elif name == 'OPTIONS' and 'last_rule' in value.split(','):
            stop = True
    return goto, stop


def _walk(rules, facts):
    """[(rule index, values and texts, conditions)] for every rule that onlines memory on some way; None when
    the file has more than MAX_WAYS ways through it."""
    found = []
    labels = [rule.label() for rule in rules]
    pending = [(0, _Way())]
    ways = 1
    while pending:
        index, way = pending.pop()
        while index < len(rules):
            rule = rules[index]
            outcome = _match_rule(way, rule, facts)
            if outcome is False:
                index += 1
                continue
            if outcome is not True:
                if ways >= MAX_WAYS:
                    return None
                # the way where the rule does not match goes on by itself
                ways += 1
                pending.append((index + 1, way.copy([_negate(outcome)])))
                way = way.copy(outcome)
            writes = _onlining(way, rule)
            if writes:
                found.append((index, writes, way.conditions))
            goto, stop = _apply(way, rule)
            if stop:
                break
            index += 1
            if goto is not None:
                targets = [position for position in range(index, len(rules)) if labels[position] == goto]
                if targets:  # udev ignores a GOTO without its LABEL further down
                    index = targets[0]
    return found


def _literal_text(literal):
    if literal[0] == 'lit':
        return '%s%s"%s"' % literal[1:]
    return 'not (%s)' % ' and '.join(sorted(_literal_text(item) for item in literal[1]))


def _negated_set(literal):
    """The conjunction a literal negates: {L} for a plain literal (its negation), S for not (S)."""
    return frozenset([_negate([literal])]) if literal[0] == 'lit' else literal[1]


def _simplify(paths):
    """Fewest conjunctions (sets of literals) that say the same as the disjunction of paths.

    Three rules of logic, applied until none applies:
    one or (one and more) -> one; (C and S) or (C and not S) -> C; P or (not S and Q) with P within S -> P or Q.
    """
    paths = set(frozenset(path) for path in paths)
    changed = True
    while changed:
        changed = False
        for one in sorted(paths, key=len):
            for other in sorted(paths, key=len):
                if one == other or one not in paths or other not in paths:
                    continue
                if one < other:
                    paths.discard(other)
                    changed = True
                    continue
                for literal in other:
                    rest, negated = other - {literal}, _negated_set(literal)
                    if one == rest | negated:
                        paths -= {one, other}
                    elif one <= negated:
                        paths.discard(other)
                    else:
                        continue
                    paths.add(rest)
                    changed = True
                    break
    return paths


def _condition(paths):
    paths = _simplify(paths)
    if frozenset() in paths:
        return None
    texts = []
    for path in paths:
        parts = sorted(_literal_text(literal) for literal in path)
        texts.append(" and ".join(parts) if len(parts) == 1 or len(paths) == 1 else "(%s)" % " and ".join(parts))
    return ' or '.join(sorted(texts)) if len(texts) > 1 else ' and '.join(sorted(texts))


def _describe(values, texts):
    states = [value for value in values if value not in ('program', '?')]
    parts = []
    if states:
        parts.append('writes ATTR{state}=' + ' or '.join('"%s"' % value for value in states))
    runs = [text for text in texts if text.startswith('RUN')]
    if 'program' in values:
        parts.append('runs a program that onlines memory (%s)' % ', '.join(runs))
    if '?' in values:
        parts.append('writes %s, a value not known here' % ', '.join(text for text in texts if text not in runs))
    return '; '.join(parts)


# A rule onlines memory only by assigning ATTR{state} or ATTR{online}, or by a RUN of a program that writes them
# (_ONLINING_PROGRAM_RE): a file whose text has neither anywhere is not parsed and walked. Most of a host's rule
# files are such files, and walking them all costs about a second in Python on a slow host.
_MAY_ONLINE_RE = re.compile(r'ATTR\s*\{\s*(state|online)\s*\}')


def may_online(text):
    """False when no rule of the file can online memory, whatever the host (True: evaluate it)."""
    joined = text.replace('\\\n', ' ')
    return bool(_MAY_ONLINE_RE.search(joined)
                or any(_ONLINING_PROGRAM_RE.search(line) for line in joined.splitlines()))


def evaluate(text, facts=None):
    if not may_online(text):
        return []
    facts = facts or {}
    rules = parse_rules(text)
    by_rule = {}
    found = _walk(rules, facts)
    if found is None:
        # Too many ways to follow: every rule that would online memory if it were reached, whatever the flow.
        undecided = frozenset([('lit', 'ways through the file', '==', 'more than %d: not decided' % MAX_WAYS)])
        found = [(index, _onlining(_Way(env_unknown=True), rule), undecided) for index, rule in enumerate(rules)
                 if _match_rule(_Way(env_unknown=True), rule, facts) is not False]
        found = [item for item in found if item[1]]
    for index, writes, conditions in found:
        entry = by_rule.setdefault(index, {'values': [], 'texts': [], 'paths': []})
        for value, assignment in writes:
            if value not in entry['values']:
                entry['values'].append(value)
            if assignment not in entry['texts']:
                entry['texts'].append(assignment)
        entry['paths'].append(conditions)
    findings = []
    for index in sorted(by_rule):
        rule, entry = rules[index], by_rule[index]
        values = sorted(entry['values'])
        findings.append({'line': rule.line, 'end_line': rule.end_line, 'text': rule.text, 'values': values,
                         'does': _describe(values, entry['texts']), 'condition': _condition(entry['paths'])})
    return findings


def _memory_only(rule):
    return any(name == 'SUBSYSTEM' and op == '==' and value == 'memory' for name, _attr, op, value in rule.keys)


def memory_override(text, findings, source, suggestion=False):
    """See the module doc; ``source``: the path of the file it overrides (named in the header).

    suggestion: the text is an edit of ``source`` itself to suggest (no OVERRIDE_MARK: nobody wrote it yet).
    """
    lines = text.splitlines()
    rules = dict((rule.line, rule) for rule in parse_rules(text))
    changed = []
    for finding in sorted(findings, key=lambda item: item['line'], reverse=True):
        rule = rules[finding['line']]
        first, last = rule.line - 1, rule.end_line - 1
        if _memory_only(rule):
            note = '# pmem.dax: the rule below onlined hot-added memory (%s); commented out.' % finding['does']
            lines[first:last + 1] = [note] + ['# ' + line for line in lines[first:last + 1]]
        else:
            note = ('# pmem.dax: SUBSYSTEM!="memory" added: the rule below onlined hot-added memory (%s); it still '
                    'applies to every other device.' % finding['does'])
            original = lines[first]
            indent = original[:len(original) - len(original.lstrip())]
            lines[first:first + 1] = [note, indent + 'SUBSYSTEM!="memory", ' + original.lstrip()]
        changed.append(finding['line'])
    digest = hashlib.sha256(text.encode('utf-8')).hexdigest()
    if suggestion:
        return '\n'.join(['# %s as pmem.dax suggests it: the rules that online hot-added memory (line %s) no longer'
                          ' apply to memory.' % (source, ', '.join(str(line) for line in sorted(changed)))]
                         + lines) + '\n'
    header = [
        '%s (pmem.dax.system_ram) from %s (sha256 %s).' % (OVERRIDE_MARK, source, digest),
        '# A copy of that file in which the rules that online hot-added memory (line %s) no longer apply to memory,'
        % ', '.join(str(line) for line in sorted(changed)),
        '# so that daxctl chooses the zone of the memory of dax devices; every other line is kept as it was.',
        '# pmem.dax writes it again when %s changes; delete this file to go back to it.' % source,
        '',
    ]
    return '\n'.join(header + lines) + '\n'


# Releases before the system_ram module wrote the overrides named the role; their overrides count as stale.
_SOURCE_RE = re.compile(r'^' + re.escape(OVERRIDE_MARK)
                        + r' \((?:pmem\.dax\.system_ram|the pmem_system_ram role)\) from (\S+) \(sha256 ')


def override_source(text):
    match = _SOURCE_RE.match(text or '')
    return match.group(1) if match else None
