# -*- coding: utf-8 -*-
# Copyright (c) 2026, pmem.dax contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's page in a real browser: Debian's chromium, headless (scripts/setup installs it).

The page of the docs fleet (``docs_fleet`` in test_fleet_report.yaml) is loaded from a file; the DOM chromium
built from it must have a table row per host and, in the SVG, a before and an after bar per host and node
(each with a kernel and a movable rectangle); a screenshot of it must come out at the window's size. Skipped,
with a message, when chromium is missing. About 2-5 s.

The screenshot in the docs is made by the same code:
    .venv/py311/bin/python tests/unit/plugins/filter/test_fleet_report_browser.py docs/fleet-report.png
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

from html.parser import HTMLParser

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == '__main__':  # pytest's conftest makes the collection importable; do the same when run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    import conftest  # noqa: F401 pylint: disable=import-error,unused-import

from ansible_collections.pmem.dax.plugins.filter.fleet_report import fleet_report, fleet_report_html  # noqa: E402

WINDOW = (1200, 900)
BROWSER_TIMEOUT = 120


class Element(object):
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], ''

    def find(self, tag, **attributes):
        """Every element below this one with the tag and the attributes (data_host: data-host)."""
        found = []
        for child in self.children:
            if child.tag == tag and all(child.attrs.get(key.replace('_', '-')) == value
                                        for key, value in attributes.items()):
                found.append(child)
            found += child.find(tag, **attributes)
        return found

    def string(self):
        return re.sub(r'\s+', ' ', self.text + ''.join(child.string() for child in self.children)).strip()


class Tree(HTMLParser):
    """The DOM chromium dumps, as Elements (it closes every element but the void ones)."""
    VOID = ('area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr')

    def __init__(self, text):
        HTMLParser.__init__(self)
        self.root = self.current = Element('#document', {})
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, attrs, self.current))

    def handle_endtag(self, tag):
        element = self.current
        while element is not self.root and element.tag != tag:
            element = element.parent
        if element is not self.root:
            self.current = element.parent

    def handle_data(self, data):
        self.current.text += data


def chromium():
    return shutil.which('chromium') or shutil.which('chromium-browser')


def docs_page():
    """The report and page of the docs fleet."""
    with open(os.path.join(HERE, 'test_fleet_report.yaml')) as handle:
        spec = yaml.safe_load(handle)
    names = list(spec['docs_fleet'])
    hostvars = dict((name, copy.deepcopy(spec['hosts'][host])) for name, host in spec['docs_fleet'].items())
    report = fleet_report(names, hostvars)
    return report, fleet_report_html(report)


def run_chromium(page_path, *arguments):
    """chromium, headless and offline as far as it goes, on a page file; its stdout."""
    profile = tempfile.mkdtemp(prefix='pmem-dax-chromium-')
    try:
        result = subprocess.run(
            [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--hide-scrollbars', '--user-data-dir=' + profile] + list(arguments) + ['file://' + page_path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=BROWSER_TIMEOUT,
            check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0, 'chromium failed (rc %d): %s' % (result.returncode, result.stderr[-2000:])
    return result.stdout


def screenshot(page, png_path):
    with tempfile.NamedTemporaryFile('w', suffix='.html', delete=False) as handle:
        handle.write(page)
    try:
        run_chromium(handle.name, '--screenshot=' + os.path.abspath(png_path), '--window-size=%d,%d' % WINDOW)
    finally:
        os.unlink(handle.name)


def png_size(path):
    with open(path, 'rb') as handle:
        head = handle.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG: %r' % head[:8]
    return struct.unpack('>II', head[16:24])


needs_chromium = pytest.mark.skipif(
    not chromium(), reason='chromium is not installed (scripts/setup installs Debian\'s chromium): '
                           'the fleet report page is not checked in a browser')


@needs_chromium
def test_page_in_chromium(tmp_path):
    report, page = docs_page()
    page_path = str(tmp_path / 'fleet-report.html')
    with open(page_path, 'w') as handle:
        handle.write(page)

    dom = Tree(run_chromium(page_path, '--dump-dom')).root
    tables = dom.find('table', **{'class': 'fleet'})
    assert len(tables) == 1
    rows = tables[0].find('tr', **{'class': 'host'})
    assert [row.attrs['data-host'] for row in rows] == [entry['host'] for entry in report['hosts']]
    svgs = dom.find('svg')
    assert len(svgs) == 1
    for entry, row in zip(report['hosts'], rows):
        assert row.find('td')[1].string() == entry['result']
        for node in entry['nodes']:
            for when in ('before', 'after'):
                bars = svgs[0].find('g', data_host=entry['host'], data_node=node['node'], data_when=when)
                assert len(bars) == 1, '%s node %s %s: %d bars' % (entry['host'], node['node'], when, len(bars))
                assert sorted(rect.attrs['class'] for rect in bars[0].find('rect')) == ['kernel', 'movable']
    assert len(svgs[0].find('g', **{'class': 'bar'})) == 2 * sum(len(entry['nodes']) for entry in report['hosts'])
    assert not [tag for tag in ('script', 'link', 'img', 'iframe') if dom.find(tag)]

    png = str(tmp_path / 'fleet-report.png')
    screenshot(page, png)
    assert png_size(png) == WINDOW
    assert os.path.getsize(png) > 20000, 'a blank screenshot?'


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: %s PNG' % sys.argv[0])
    if not chromium():
        sys.exit('chromium is not installed (scripts/setup installs it)')
    screenshot(docs_page()[1], sys.argv[1])
    print('wrote %s (%dx%d)' % ((sys.argv[1],) + png_size(sys.argv[1])))
