# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

# The filters' documentation: fleet_report.yml, fleet_report_markdown.yml, fleet_report_html.yml beside this file.

import os
import re
from xml.sax.saxutils import escape as _xml_escape

from ansible.errors import AnsibleFilterError

GIB = 1073741824
ZONES = ('kernel', 'movable')
# result -> the order of the summary line; the first four come from a report, the rest from its absence
RESULTS = ('changed', 'would change', 'unchanged', 'no change needed', 'failed', 'would fail', 'unreachable', 'not run')
FAILED = ('failed', 'would fail', 'unreachable')
UNREACHABLE = ('unreachable: the run reached no result there (Ansible runs no rescue for an unreachable host; '
               'its error is above)')
NOT_RUN = 'not run: no result (its batch had not started when the report was made; a rolling run stops after a failed batch)'


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _memory(nodes, node):
    memory = (nodes or {}).get(node) or {}
    return dict((zone, _int(memory.get(zone))) for zone in ZONES)


def _node_key(node):
    return (0, int(node), '') if str(node).isdigit() else (1, 0, str(node))


def node_rows(report):
    """Memory per node before and after, each node of either side; zone: where it changed (or where it is)."""
    before, after = report.get('nodes_before') or {}, report.get('nodes_after') or {}
    rows = []
    for node in sorted(set(before) | set(after), key=_node_key):
        old, new = _memory(before, node), _memory(after, node)
        zones = [zone for zone in ZONES if old[zone] != new[zone]] or \
                [zone for zone in ZONES if old[zone] or new[zone]]
        rows.append({'node': str(node), 'before': old, 'after': new, 'zone': ' + '.join(zones) or '-',
                     'changed': old != new})
    return rows


def host_entry(name, host_vars):
    host_vars = host_vars or {}
    # run_role's entry, which a later play of the same run starts afresh; else the role's report alone
    ran = host_vars.get('pmem_fleet_report_host') or {}
    report = (ran.get('report') if ran else host_vars.get('pmem_system_ram_report')) or None
    failure = ran.get('failure') or None
    entry = {'host': name, 'failed': False, 'forecast': False, 'state': '', 'message': '', 'changes': [],
             'left_alone': [], 'nodes': []}
    if report:
        entry.update(forecast=bool(report.get('forecast')), state=report.get('state') or '',
                     changes=list(report.get('changes') or []), nodes=node_rows(report),
                     left_alone=[{'name': alone.get('name', ''), 'why': alone.get('why', '')}
                                 for alone in report.get('left_alone') or []])
    if failure:
        task = failure.get('task') or ''
        entry.update(forecast=bool(failure.get('forecast')), state=failure.get('state') or entry['state'],
                     result='would fail' if failure.get('forecast') else 'failed',
                     message='%s%s' % (failure.get('msg') or 'failed', ' (task: %s)' % task if task else ''))
    elif report:
        entry['result'] = ('would change' if entry['changes'] else 'no change needed') if entry['forecast'] \
            else ('changed' if entry['changes'] else 'unchanged')
    elif ran.get('started'):
        entry.update(result='unreachable', message=UNREACHABLE)
    else:
        entry.update(result='not run', message=NOT_RUN)
    entry['failed'] = entry['result'] in FAILED
    return entry


def gib(size):
    return '%.2f GiB' % (size / GIB)


def report_files(path):
    if not path:
        return {}
    base = re.sub(r'\.(md|html)$', '', os.path.expanduser(str(path)))
    return {'markdown': base + '.md', 'html': base + '.html'}


def fleet_report(hosts, hostvars, path=''):
    if isinstance(hosts, (str, bytes)) or not hasattr(hosts, '__iter__'):
        raise AnsibleFilterError('fleet_report: the input must be a list of host names, got %r' % (hosts,))
    entries = [host_entry(name, hostvars.get(name) if name in hostvars else None) for name in hosts]
    counts = dict((result, len([e for e in entries if e['result'] == result]))
                  for result in RESULTS if any(e['result'] == result for e in entries))
    totals = dict((when, dict((zone, sum(row[when][zone] for e in entries for row in e['nodes'])) for zone in ZONES))
                  for when in ('before', 'after'))
    forecast = any(entry['forecast'] for entry in entries)
    states = sorted(set(entry['state'] for entry in entries if entry['state']))
    title = 'pmem.dax fleet report: %s%s' % (
        ', '.join('pmem_system_ram_state=%s' % state for state in states) or 'no host reported',
        ' -- FORECAST (check mode, nothing changed)' if forecast else '')
    summary = '%d host%s: %s' % (len(entries), '' if len(entries) == 1 else 's',
                                 ', '.join('%d %s' % (count, result) for result, count in counts.items()) or 'none')
    if any(entry['nodes'] for entry in entries):
        summary += '; movable memory %s -> %s' % (gib(totals['before']['movable']), gib(totals['after']['movable']))
    return {'title': title, 'forecast': forecast, 'summary': summary, 'counts': counts, 'totals': totals,
            'files': report_files(path), 'hosts': entries}


# --- markdown ------------------------------------------------------------------------------------------------

COLUMNS = ('host', 'result', 'node', 'before', 'after', 'zone', 'notes')


def _cell(memory):
    text = gib(memory['kernel'] + memory['movable'])
    if memory['kernel'] and memory['movable']:
        text += ' (%s movable)' % gib(memory['movable'])[:-4]
    return text


def notes(entry):
    """Why a host failed or was not run, else how many changes, and what was left alone (and why)."""
    parts = [entry['message']] if entry['message'] else []
    if entry['changes']:
        parts.append('%d change%s' % (len(entry['changes']), '' if len(entry['changes']) == 1 else 's'))
    parts += ['left alone: %s (%s)' % (alone['name'], alone['why']) for alone in entry['left_alone']]
    return '; '.join(parts)


def detail_items(entry):
    """A host's details: why it failed or did not run, each change, each thing left alone."""
    return ([entry['message']] if entry['message'] else []) + \
        ['%s: %s' % ('would' if entry['forecast'] else 'changed', change) for change in entry['changes']] + \
        ['left alone: %s: %s' % (alone['name'], alone['why']) for alone in entry['left_alone']]


def table_rows(report):
    """One row per host and node (host, result and notes on the host's first row), as text cells."""
    rows = []
    for entry in report['hosts']:
        first = [entry['host'], entry['result']]
        for index, node in enumerate(entry['nodes'] or [None]):
            cells = first if index == 0 else ['', '']
            if node:
                cells = cells + [node['node'], _cell(node['before']), _cell(node['after']), node['zone']]
            else:
                cells = cells + ['-', '', '', '']
            rows.append(cells + [notes(entry) if index == 0 else ''])
    return rows


def _line(text):
    return re.sub(r'\s+', ' ', str(text)).strip()


def _md(text):
    """A table cell: one line, | escaped."""
    return _line(text).replace('|', '\\|')


def fleet_report_markdown(report, details=True):
    """The report as markdown: title, summary, the table (padded, so that it reads as plain text too) and,
    with details, every host's changes and what it left alone."""
    if not isinstance(report, dict) or 'hosts' not in report:
        raise AnsibleFilterError('fleet_report_markdown: the input must be a pmem.dax.fleet_report result')
    rows = [[_md(cell) for cell in row] for row in table_rows(report)]
    widths = [max([len(COLUMNS[i])] + [len(row[i]) for row in rows]) for i in range(len(COLUMNS) - 1)]

    def line(cells):  # the last column (notes, often long) is not padded
        return '| ' + ' | '.join([cell.ljust(width) for cell, width in zip(cells, widths)] + [cells[-1]]) + ' |'
    lines = ['# ' + report['title'], '', report['summary'], '', line(list(COLUMNS)),
             '|' + '|'.join('-' * (width + 2) for width in widths) + '|---|']
    lines += [line(row) for row in rows]
    if details:
        for entry in report['hosts']:
            if not detail_items(entry):
                continue
            lines += ['', '## %s: %s' % (entry['host'], entry['result']), '']
            lines += ['- ' + _line(item) for item in detail_items(entry)]
    return '\n'.join(lines) + '\n'


# --- HTML ----------------------------------------------------------------------------------------------------

COLOURS = {'kernel': '#4e79a7', 'movable': '#59a14f'}
RESULT_COLOURS = {'changed': '#1f6feb', 'would change': '#b7791f', 'unchanged': '#6e7781', 'no change needed': '#6e7781',
                  'failed': '#cf222e', 'would fail': '#cf222e', 'unreachable': '#cf222e', 'not run': '#6e7781'}
CSS = '''
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 24px; color: #1f2328; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h1 .forecast { color: #b7791f; }
p.summary { margin: 0 0 16px; color: #57606a; }
table.fleet { border-collapse: collapse; margin: 16px 0; font-size: 13px; }
table.fleet th, table.fleet td { border-bottom: 1px solid #d0d7de; padding: 6px 10px; text-align: left;
  vertical-align: top; }
table.fleet th { background: #f6f8fa; }
table.fleet td.num { text-align: right; white-space: nowrap; }
table.fleet td.notes { max-width: 420px; color: #57606a; }
table.fleet div.changed { font-weight: bold; }
span.result { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px;
  white-space: nowrap; }
span.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin: 0 4px 0 12px; }
svg text { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 12px; fill: #1f2328; }
svg text.host { font-weight: bold; font-size: 13px; }
svg text.muted { fill: #57606a; font-size: 11px; }
svg line.grid { stroke: #d0d7de; }
h2 { font-size: 16px; margin: 20px 0 4px; }
ul { margin: 4px 0; }
'''
LABEL_WIDTH = 170
BAR_AREA = 720
BAR_HEIGHT = 10
NODE_HEIGHT = 2 * BAR_HEIGHT + 8
HOST_HEIGHT = 22


def _h(text):
    return _xml_escape(str(text), {'"': '&quot;'})


def _step(top):
    """A grid step in GiB that gives at most 8 lines up to top."""
    step = 0.25
    while top / GIB / step > 8:
        step *= 2
    return step


def chart(report):
    """Inline SVG: per host, per node, a 'before' and an 'after' bar, each kernel and movable memory stacked."""
    top = max([node[when]['kernel'] + node[when]['movable'] for entry in report['hosts'] for node in entry['nodes']
               for when in ('before', 'after')] + [GIB])
    step = _step(top)
    steps = -(-top // int(step * GIB))  # grid lines after the first, the last at or above the largest bar
    scale = BAR_AREA / float(steps * step * GIB)
    parts, y = [], 28
    for entry in report['hosts']:
        parts.append('<g class="host" data-host="%s">' % _h(entry['host']))
        parts.append('<text class="host" x="0" y="%d">%s</text>' % (y + 14, _h(entry['host'])))
        if not entry['nodes']:
            parts.append('<text class="muted" x="%d" y="%d">no memory figures: %s</text>'
                         % (LABEL_WIDTH, y + 14, _h(entry['result'])))
        y += HOST_HEIGHT
        for node in entry['nodes']:
            parts.append('<text x="16" y="%d">node %s</text>' % (y + BAR_HEIGHT + 4, _h(node['node'])))
            for index, when in enumerate(('before', 'after')):
                memory = node[when]
                top_y = y + index * (BAR_HEIGHT + 2)
                parts.append('<g class="bar" data-host="%s" data-node="%s" data-when="%s">'
                             % (_h(entry['host']), _h(node['node']), when))
                parts.append('<title>%s node %s %s: kernel %s, movable %s</title>'
                             % (_h(entry['host']), _h(node['node']), when, gib(memory['kernel']), gib(memory['movable'])))
                x = LABEL_WIDTH
                for zone in ZONES:
                    width = memory[zone] * scale
                    parts.append('<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"%s/>'
                                 % (zone, x, top_y, width, BAR_HEIGHT, COLOURS[zone],
                                    '' if when == 'after' else ' fill-opacity="0.45"'))
                    x += width
                parts.append('<text class="muted" x="%.1f" y="%d">%s %s</text>'
                             % (x + 6, top_y + BAR_HEIGHT - 1, when, gib(memory['kernel'] + memory['movable'])))
                parts.append('</g>')
            y += NODE_HEIGHT
        parts.append('</g>')
    grid = []
    for index in range(steps + 1):
        x = LABEL_WIDTH + index * step * GIB * scale
        grid.append('<line class="grid" x1="%.1f" y1="20" x2="%.1f" y2="%d"/>' % (x, x, y))
        grid.append('<text class="muted" x="%.1f" y="12" text-anchor="middle">%g GiB</text>' % (x, index * step))
    width = LABEL_WIDTH + BAR_AREA + 120
    return ('<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
            'role="img" aria-label="memory per node per host, before and after">%s%s</svg>'
            % (width, y + 8, width, y + 8, ''.join(grid), ''.join(parts)))


def _stack(values, css=''):
    return ''.join('<div%s>%s</div>' % (' class="%s"' % css[i] if css and css[i] else '', _h(value))
                   for i, value in enumerate(values)) or '-'


def fleet_report_html(report):
    """The report as one self-contained page: inline CSS, an inline SVG chart, the table, the details; no script."""
    if not isinstance(report, dict) or 'hosts' not in report:
        raise AnsibleFilterError('fleet_report_html: the input must be a pmem.dax.fleet_report result')
    title = report['title'].split(' -- ')
    rows = []
    for entry in report['hosts']:
        nodes = entry['nodes']
        css = ['changed' if node['changed'] else '' for node in nodes]
        rows.append(
            '<tr class="host" data-host="%s" data-result="%s"><td>%s</td>'
            '<td><span class="result" style="background: %s">%s</span></td>'
            '<td>%s</td><td class="num">%s</td><td class="num">%s</td><td>%s</td><td class="notes">%s</td></tr>'
            % (_h(entry['host']), _h(entry['result']), _h(entry['host']), RESULT_COLOURS[entry['result']],
               _h(entry['result']), _stack(['node ' + node['node'] for node in nodes], css),
               _stack([_cell(node['before']) for node in nodes], css),
               _stack([_cell(node['after']) for node in nodes], css), _stack([node['zone'] for node in nodes], css),
               _h(notes(entry))))
    details = []
    for entry in report['hosts']:
        items = detail_items(entry)
        if items:
            details.append('<h2>%s: %s</h2><ul>%s</ul>' % (_h(entry['host']), _h(entry['result']),
                                                           ''.join('<li>%s</li>' % _h(item) for item in items)))
    legend = ''.join('<span class="swatch" style="background: %s"></span>%s' % (COLOURS[zone], zone) for zone in ZONES)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head>\n'
        '<body><h1>%s%s</h1><p class="summary">%s</p>\n'
        '<table class="fleet"><thead><tr>%s</tr></thead><tbody>\n%s\n</tbody></table>\n'
        '<p class="legend">Memory per NUMA node, before (light) and after (dark):%s</p>\n%s\n%s\n</body></html>\n'
        % (_h(report['title']), CSS, _h(title[0]),
           ' <span class="forecast">%s</span>' % _h(title[1]) if len(title) > 1 else '',
           _h(report['summary']), ''.join('<th>%s</th>' % column for column in COLUMNS), '\n'.join(rows),
           legend, chart(report), '\n'.join(details)))


class FilterModule(object):
    def filters(self):
        return {'fleet_report': fleet_report, 'fleet_report_markdown': fleet_report_markdown,
                'fleet_report_html': fleet_report_html}
