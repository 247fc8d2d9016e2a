#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Recall and false alarms of xdpban's rules on fail2ban's annotated sshd log.

fail2ban's test log (Debian's fail2ban package, tests/files/logs/sshd) puts a
"# failJSON: {...}" comment above each line, saying whether fail2ban counts
it as a failure and for which host. Every log line goes through one
`xdpban logtest --all --json` run, in order (so sessions by pid work as
they would on the real log).

  caught:       a line fail2ban counts as a failure with a numeric address
                (any of its modes) on which some alert of level > 0 names
                that address;
  false alarms: addresses named by an alert of level > 0 that fail2ban
                never counts as failing in any line of the file.

Prints both, the misses by rule, and exits 1 when --min is not reached.
"""
import argparse
import collections
import ipaddress
import json
import subprocess
import sys

LOG = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs/sshd"


def numeric(host):
    try:
        ipaddress.ip_address(host)
        return True
    except (ValueError, TypeError):
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xdpban", default="build/xdpban")
    ap.add_argument("--rules", default="rules")
    ap.add_argument("--log", default=LOG)
    ap.add_argument("--min", type=int, default=0, help="fail below this many caught")
    a = ap.parse_args()

    lines, notes, pending = [], {}, None
    with open(a.log, encoding="utf-8", errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if raw.startswith("# failJSON:"):
                try:
                    pending = json.loads(raw.split(":", 1)[1])
                except ValueError:
                    pending = None
                continue
            if not raw or raw.startswith("#"):
                continue
            lines.append(raw)
            if pending is not None:
                notes[len(lines)] = pending
                pending = None

    out = subprocess.run([a.xdpban, "logtest", "--all", "--json", "--rules", a.rules],
                         input="\n".join(lines) + "\n", capture_output=True, text=True,
                         timeout=60)
    alerts = collections.defaultdict(list)      # line -> [(srcip, rule)]
    for o in out.stdout.splitlines():
        try:
            m = json.loads(o)
        except ValueError:
            continue
        if (m.get("level") or 0) > 0 and m.get("srcip"):
            alerts[m["line"]].append((m["srcip"], m["rule"]))

    want = {n: j["host"] for n, j in notes.items() if j.get("match") and numeric(j.get("host"))}
    failing = set(want.values())
    caught = [n for n, h in want.items() if any(s == h for s, _ in alerts.get(n, []))]
    missed = sorted(set(want) - set(caught))
    false = sorted({s for v in alerts.values() for s, _ in v} - failing)

    print(f"fail2ban's sshd log: {len(lines)} lines, {len(want)} failures with a numeric address")
    print(f"caught: {len(caught)} of {len(want)} ({100 * len(caught) // max(len(want), 1)}%)")
    print(f"false alarms: {len(false)} address(es) alerted that fail2ban never flags: "
          + (", ".join(false) or "none"))
    for n in missed:
        print(f"  missed: log line {n}: {lines[n - 1][:100]}")
    return 1 if len(caught) < a.min else 0


if __name__ == "__main__":
    sys.exit(main())
