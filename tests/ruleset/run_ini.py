#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run ruleset test files in Wazuh's .ini format through `xdpban logtest`.

A file holds sections; each has `rule`, `alert` (the level), `decoder` and
cases `log N pass = LINE` or `log N fail = LINE`. As Wazuh's configparser
does, a key repeated in one section joins its lines into one case: they go
through one logtest run in order (so correlation rules see them all) and the
last line's result is what is checked. `pass`: rule, level and decoder must
all be the expected ones; `fail`: they must not all be.

Prints one TAP line per case. --report: print "P of N cases pass" and exit
0 whatever the result (for test files that are not ours).
"""
import argparse
import json
import os
import re
import subprocess
import sys

KEY = re.compile(r'^(?P<k>[^=:]*?)\s*[=:]\s*(?P<v>.*)$')


def parse(path):
    """[(section, {key: [values]}, [keys in order])] as configparser reads it."""
    sections, cur = [], None
    with open(path, encoding='utf-8', errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\n')
            if not line.strip() or line.lstrip()[:1] in (';', '#'):
                continue
            if line.startswith('[') and line.rstrip().endswith(']'):
                cur = (line.strip()[1:-1], {}, [])
                sections.append(cur)
                continue
            m = KEY.match(line)
            if not m or cur is None:
                raise SystemExit(f'{path}: cannot read: {line}')
            k, v = m.group('k').strip().lower(), m.group('v').strip()
            if k not in cur[1]:
                cur[1][k] = []
                cur[2].append(k)
            cur[1][k].append(v)
    return sections


def run_case(xdpban, rules, lines):
    """The last line's JSON object from `logtest --all --json`."""
    cmd = [xdpban, 'logtest', '--all', '--json']
    if rules:
        cmd += ['--rules', rules]
    cmd.append('-')
    p = subprocess.run(cmd, input='\n'.join(lines) + '\n', capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr.strip()
    out = [json.loads(x) for x in p.stdout.splitlines() if x.startswith('{')]
    out = [o for o in out if not o.get('released')]   # held lines given back later
    if len(out) != len(lines):
        return None, f'{len(out)} results for {len(lines)} lines'
    return out[-1], ''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('files', nargs='+')
    ap.add_argument('--xdpban', default=os.path.join(os.environ.get('BUILD', 'build'), 'xdpban'))
    ap.add_argument('--rules', default='rules')
    ap.add_argument('--report', action='store_true')
    a = ap.parse_args()
    total = passed = 0
    for path in a.files:
        for name, keys, order in parse(path):
            want = {k: keys.get(k, [''])[-1] for k in ('rule', 'alert', 'decoder')}
            for k in order:
                m = re.match(r'^log\s+\S+\s+(pass|fail)$', k)
                if not m:
                    continue
                got, err = run_case(a.xdpban, a.rules, keys[k])
                total += 1
                if got is None:
                    ok, why = False, err
                else:
                    have = {'rule': str(got.get('rule')), 'alert': str(got.get('level')),
                            'decoder': str(got.get('decoder'))}
                    same = have == want
                    ok = same if m.group(1) == 'pass' else not same
                    why = f"got rule {have['rule']} level {have['alert']} decoder {have['decoder']}"
                passed += ok
                print(f"{'ok' if ok else 'not ok'} - {os.path.basename(path)}: {name}: {k}"
                      f"{'' if ok else ': ' + why + ', want rule ' + want['rule'] + ' level ' + want['alert'] + ' decoder ' + want['decoder']}")
    print(f'# {passed} of {total} cases pass')
    return 0 if a.report or passed == total else 1


if __name__ == '__main__':
    sys.exit(main())
