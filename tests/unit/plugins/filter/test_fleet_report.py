# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_report, fleet_report_markdown, fleet_report_html: the cases are data in test_fleet_report.yaml.

``hosts``: per name, the variables a run leaves on that host (hostvars). A case: ``id``; ``fleet`` (host names, in order;
hostvars is made of them); ``path`` (the filter's path); then what must hold, each optional: ``title``,
``summary``, ``forecast``, ``files`` (equal); ``results`` (host -> result); ``failed`` (the hosts whose entry
says failed, all others not); ``messages`` (host -> text contained in its message); ``nodes`` (host -> list,
each the keys that must be equal in that node row, same length); ``markdown`` (lines the markdown must have,
whole); ``markdown_absent`` (text it must not have). The page of every case is checked for its structure.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os

from html.parser import HTMLParser

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.pmem.dax.plugins.filter.fleet_report import FilterModule

with open(os.path.splitext(__file__)[0] + '.yaml') as handle:
    SPEC = yaml.safe_load(handle)

FILTERS = FilterModule().filters()


def report_of(case):
    hostvars = dict((name, copy.deepcopy(SPEC['hosts'][name])) for name in case['fleet'])
    return FILTERS['fleet_report'](case['fleet'], hostvars, path=case.get('path', ''))


class Elements(HTMLParser):
    """Every start tag of a page: (tag, attributes as a dict)."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def having(self, tag, **attributes):
        return [attrs for name, attrs in self.found if name == tag
                and all(attrs.get(key.replace('_', '-')) == value for key, value in attributes.items())]


@pytest.mark.parametrize('case', SPEC['test_cases'], ids=[case['id'] for case in SPEC['test_cases']])
def test_fleet_report(case):
    report = report_of(case)
    entries = dict((entry['host'], entry) for entry in report['hosts'])
    assert [entry['host'] for entry in report['hosts']] == case['fleet']
    for key in ('title', 'summary', 'forecast', 'files'):
        if key in case:
            assert report[key] == case[key]
    for host, result in (case.get('results') or {}).items():
        assert entries[host]['result'] == result
    if 'failed' in case:
        assert sorted(host for host, entry in entries.items() if entry['failed']) == sorted(case['failed'])
    for host, text in (case.get('messages') or {}).items():
        assert text in entries[host]['message']
    for host, rows in (case.get('nodes') or {}).items():
        assert len(entries[host]['nodes']) == len(rows), entries[host]['nodes']
        for row, expected in zip(entries[host]['nodes'], rows):
            for key, value in expected.items():
                assert row[key] == value, '%s node %s: %s: expected %r, got %r' % (host, row['node'], key, value, row[key])

    markdown = FILTERS['fleet_report_markdown'](report)
    for line in case.get('markdown') or []:
        assert line in markdown.splitlines(), '%r not in:\n%s' % (line, markdown)
    for text in case.get('markdown_absent') or []:
        assert text not in markdown
    # the table alone (what the play prints): no per-host details
    table = FILTERS['fleet_report_markdown'](report, details=False)
    assert '\n## ' not in table and report['summary'] in table

    page = FILTERS['fleet_report_html'](report)
    elements = Elements()
    elements.feed(page)
    assert len(elements.having('tr', **{'class': 'host'})) == len(case['fleet'])
    for entry in report['hosts']:
        assert len(elements.having('tr', data_host=entry['host'], data_result=entry['result'])) == 1
        for node in entry['nodes']:
            for when in ('before', 'after'):
                assert len(elements.having('g', data_host=entry['host'], data_node=node['node'], data_when=when)) == 1
    assert len(elements.having('g', **{'class': 'bar'})) == 2 * sum(len(entry['nodes']) for entry in report['hosts'])
    # self-contained: no script, nothing fetched (the SVG namespace is a name, not a fetch)
    assert not elements.having('script') and not elements.having('link') and not elements.having('img')
    assert 'http' not in page.replace('http://www.w3.org/2000/svg', '')


def test_html_escapes_what_hosts_report():
    hostvars = {'<b>x</b>': {'pmem_fleet_report_host': {
        'started': True, 'failure': {'msg': 'broke: <script>alert(1)</script> & "quotes"'}}}}
    page = FILTERS['fleet_report_html'](FILTERS['fleet_report'](['<b>x</b>'], hostvars))
    assert '<script>' not in page and '<b>x</b>' not in page
    assert '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;' in page


@pytest.mark.parametrize('name, call', [
    ('a string for the host list', lambda: FILTERS['fleet_report']('web1', {})),
    ('markdown of something else', lambda: FILTERS['fleet_report_markdown']({'title': 'x'})),
    ('html of something else', lambda: FILTERS['fleet_report_html']([])),
])
def test_bad_input_fails_with_a_message(name, call):
    with pytest.raises(AnsibleFilterError, match='fleet_report'):
        call()
