#!/usr/bin/env python3
"""The soak driver behind scripts/soak.sh (make soak). Standard library only.

It runs `xdpban run` (in the namespace soak.sh made) against a log file it
writes: noise from 100,000 sources and offending bursts of exactly FREQ
invalid-user lines from one attacker, which fire the soak's rule 5712 once
each. Around that: reloads (now and then with another escalation config),
rename and copytruncate rotations, kill -9 restarts at random points.

It keeps its own model of every attacker: offences, and the interval in
which its ban must end. A burst's decision time lies between its write and
the first sign that the daemon read it (its "ban" log line, or a status
reply counting its last line); the model's ends follow from that, the
escalation config in force and the daemon's documented rounding (whole
seconds, rounded up). `xdpban list --json` samples are checked against it
every second: lost (the model says banned, the map lacks it), resurrected
(in the map after its end + TOL), a wrong end, and "expire" log lines
more than TOL (+ SLACK for the daemon's timer) after the end it recorded.
The event loop's longest stall is the slowest answer to "status" on the
control socket, asked every STATUS_EVERY s; RSS is sampled every RSS_EVERY s.

Bursts are never split by the driver's own actions: reloads and
copytruncate wait until the daemon has read everything written. A kill -9
lands anywhere; the bursts it leaves undecided are settled from the state
database once the daemon is dead (the offence was committed or not), and
nothing is written while no daemon follows the file except noise (a
restarted daemon starts at the file's end, so it never sees those lines).
"""
import argparse
import calendar
import collections
import ipaddress
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import traceback

FREQ = 6                # invalid-user lines in the soak's 5712, no ignore
TOL = 1.0               # s: allowed slack on a ban's start and end
MARGIN = 3.0            # s: the generator keeps re-offences this far from a ban's end
MAX_STALL = 2.0         # s: slowest allowed answer to "status"
MAX_DETECT = 2.0        # s: slowest allowed decision, from the write to the "ban" line
SLACK = 0.5             # s: the daemon's 1 s timer may run that late on a loaded machine
STATUS_EVERY = 0.5
LIST_EVERY = 1.0
RSS_EVERY = 2.0
TICK = 0.02             # s between writes
RSS_MARGIN_KB = 8192    # growth allowed after the warm-up, per lifetime and across them
N_V4, N_V6 = 60000, 40000
ATTACK_V4, ATTACK_V6 = 6000, 4000
ALLOW_NET = "198.19.255.0/24"
REARM_SHARE, PROTECTED_SHARE, FORGED_SHARE = 0.25, 0.01, 0.05

# Escalation configs the reloads switch between (timeouts in s,
# repeated_offenders in minutes, cut by max_timeout as xdpban documents).
VARIANTS = [
    {"timeout": 5, "repeated": [1, 2], "factor": None, "max": 20},
    {"timeout": 8, "repeated": None, "factor": 2, "max": 30},
    {"timeout": 12, "repeated": [1], "factor": None, "max": 25},
]


def escalate(v, n):
    """The ban time of offence n under variant v (README: Configuration)."""
    if n <= 1:
        t = v["timeout"]
    elif v["factor"]:
        d = float(v["timeout"])
        for _ in range(1, min(n, 64)):
            d *= v["factor"]
        t = int(d)
    elif v["repeated"]:
        t = v["repeated"][min(n - 2, len(v["repeated"]) - 1)] * 60
    else:
        t = v["timeout"]
    return min(t, v["max"]) if v["max"] else t


def canon(a):
    return ipaddress.ip_address(a).compressed


def addr_blob(a):
    """The state database's key: struct xb_addr with its padding zeroed."""
    ip = ipaddress.ip_address(a)
    raw = ip.packed + bytes(16 - len(ip.packed))
    return bytes([ip.version, 32 if ip.version == 4 else 128, 0, 0]) + raw


def parse_until(s):
    """The "until" of a ban line: UTC, whole seconds."""
    try:
        return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


def parse_duration(s):
    secs = 0
    for num, unit in re.findall(r"(\d+)([dhms])", s):
        secs += int(num) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
    return secs


# ---- the traffic --------------------------------------------------------


class Sources:
    """100,000 sources; the first ATTACK_* of each family also attack.
    Every IPv6 source has a /64 of its own (no aggregation)."""

    def __init__(self, rng):
        lo = int(ipaddress.IPv4Address("198.18.1.0"))
        hi = int(ipaddress.IPv4Address("198.19.255.0"))
        v4 = [str(ipaddress.IPv4Address(i)) for i in rng.sample(range(lo, hi), N_V4)]
        nets = set()
        while len(nets) < N_V6:
            nets.add((rng.randrange(1, 0x10000), rng.randrange(0x10000)))
        v6 = [canon("2001:db8:%x:%x::%x" % (x, y, rng.randrange(1, 0x10000)))
              for x, y in sorted(nets, key=lambda _: rng.random())]
        self.all = v4 + v6
        self.attackers = v4[:ATTACK_V4] + v6[:ATTACK_V6]
        self.bystanders = v4[ATTACK_V4:] + v6[ATTACK_V6:]
        self.protected = ["198.19.255.%d" % i for i in range(1, 51)]


NOISE = [
    (25, "Failed password for root from {a} port {p} ssh2"),
    (20, "Connection closed by {a} port {p} [preauth]"),
    (12, "Received disconnect from {a} port {p}:11: Bye Bye [preauth]"),
    (12, "Disconnected from authenticating user root {a} port {p} [preauth]"),
    (10, 'Connection from {a} port {p} on 198.18.0.1 port 22 rdomain ""'),
    (6, "Accepted publickey for deploy from {a} port {p} ssh2: ED25519 SHA256:x{p}"),
    (5, "Did not receive identification string from {a} port {p}"),
]
NOISE_TABLE = [t for w, t in NOISE for _ in range(w)]
USERS = ["admin", "test", "oracle", "ubuntu", "git", "postgres", "guest", "pi", "ftp", "user1"]


class Lines:
    """sshd lines; the timestamp is the current second."""

    def __init__(self, rng, src):
        self.rng, self.src = rng, src
        self._sec, self._ts = None, ""

    def ts(self):
        now = int(time.time())
        if now != self._sec:
            self._sec = now
            self._ts = time.strftime("%b %e %H:%M:%S", time.localtime(now))
        return self._ts

    def head(self):
        return "%s edge sshd[%d]: " % (self.ts(), self.rng.randrange(1000, 65000))

    def noise(self, n):
        r, out = self.rng, []
        for _ in range(n):
            if r.random() < 0.04:
                out.append("%s edge CRON[%d]: pam_unix(cron:session): session opened for user "
                           "root(uid=0) by (uid=0)\n" % (self.ts(), r.randrange(1000, 65000)))
                continue
            msg = r.choice(NOISE_TABLE).format(a=r.choice(self.src.all), p=r.randrange(1024, 65536))
            out.append(self.head() + msg + "\n")
        return out

    def burst(self, a):
        """FREQ lines that count for 5710; some user names carry a forged
        "from BYSTANDER", which must ban nobody but a."""
        r, out = self.rng, []
        for i in range(FREQ):
            u = r.choice(USERS)
            if r.random() < FORGED_SHARE:
                u += " from %s port 22" % r.choice(self.src.bystanders)
            form = "Invalid user {u} from {a} port {p}" if i % 2 == 0 else \
                "Failed password for invalid user {u} from {a} port {p} ssh2"
            out.append(self.head() + form.format(u=u, a=a, p=r.randrange(1024, 65536)) + "\n")
        return out


class LogFile:
    """The followed file, written with O_APPEND in whole lines."""

    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self.lines = 0

    def write(self, chunks):
        data = "".join(chunks).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        self.lines += len(chunks)

    def rename_rotate(self):
        os.rename(self.path, self.path + ".1")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        os.close(self.fd)
        self.fd = fd

    def copytruncate(self):
        shutil.copyfile(self.path, self.path + ".1")
        os.ftruncate(self.fd, 0)

    def close(self):
        os.close(self.fd)


# ---- the model ----------------------------------------------------------


class Addr:
    __slots__ = ("count", "lo", "hi", "start", "pending", "listed", "decs")

    def __init__(self):
        self.count = 0
        self.lo = self.hi = self.start = None   # the current ban: its end in [lo, hi]
        self.pending = None
        self.listed = False
        self.decs = collections.deque(maxlen=4)


class Burst:
    __slots__ = ("addr", "idx", "w", "life", "offence", "ttl", "verb", "p", "via",
                 "logged", "expired", "done", "lo", "hi", "prev", "until")

    def __init__(self, addr, idx, w, life, offence, ttl):
        self.addr, self.idx, self.w, self.life = addr, idx, w, life
        self.offence, self.ttl = offence, ttl
        self.verb = self.p = self.via = self.lo = self.hi = self.until = None
        self.prev = (None, None)    # the ban it replaced: a list read meanwhile may show that
        self.logged = self.expired = self.done = False


class Model:
    """What must be in the maps, and the checks against what is."""

    def __init__(self, src):
        self.lock = threading.RLock()
        self.src = src
        self.protected = set(src.protected)
        self.known = set(src.all) | self.protected
        self.addrs = {}
        self.pending = collections.deque()
        self.recent = collections.deque(maxlen=4096)
        self.after_restart = []
        self.down = []              # [start, end] of the times no daemon ran
        self.fails = collections.Counter()
        self.examples = collections.defaultdict(list)
        self.n = collections.Counter()
        self.latency = []
        self.expire_delay = 0.0

    def fail(self, kind, msg):
        self.fails[kind] += 1
        if len(self.examples[kind]) < 8:
            self.examples[kind].append(msg)

    def up_during(self, t0, t1):
        return all((e is not None and e < t0) or s > t1 for s, e in self.down)

    # -- the generator's side

    def pick(self, rng, now):
        """An attacker for the next burst (None: none fits now). Re-offences
        stay MARGIN away from the end of the ban in force."""
        r = rng.random()
        if r < PROTECTED_SHARE:
            return rng.choice(self.src.protected)
        if r < PROTECTED_SHARE + REARM_SHARE and self.recent:
            for _ in range(8):
                name = rng.choice(self.recent)
                a = self.addrs[name]
                if a.pending is None and a.lo is not None and a.lo > now + MARGIN:
                    return name
        for _ in range(8):
            name = rng.choice(self.src.attackers)
            a = self.addrs.get(name)
            if a is None or (a.pending is None and (a.hi is None or a.hi + MARGIN < now)):
                return name
        return None

    def burst(self, name, idx, w, life, variant):
        if name in self.protected:
            self.n["protected bursts"] += 1
            return
        a = self.addrs.setdefault(name, Addr())
        b = Burst(name, idx, w, life, a.count + 1, escalate(variant, a.count + 1))
        a.pending = b
        self.pending.append(b)
        self.n["bursts"] += 1

    # -- the daemon's side

    def confirm(self, b, p, via):
        """b's decision happened by p: its ban ends in [lo, hi]."""
        a = self.addrs[b.addr]
        if a.hi is None or a.hi <= b.w:
            b.verb = "ban"
        elif a.lo - TOL > math.ceil(p):
            b.verb = "re-ban"
        lo, hi = b.w + b.ttl, math.ceil(p) + b.ttl
        if a.hi is not None and a.hi > b.w:      # maybe still in force: never shortened
            lo, hi = max(lo, a.lo) - TOL, max(hi, a.hi)
            if a.decs:
                a.decs[-1].expired = True        # re-armed or replaced: no expiry of its own
        elif a.decs and not a.decs[-1].expired and self.up_during(a.hi - TOL, b.w):
            self.fail("late expiries", "%s offence %d: no expire line by %.1f s after its end"
                      % (b.addr, a.decs[-1].offence, b.w - a.hi))
        b.p, b.via, b.lo, b.hi, b.done, b.prev = p, via, lo, hi, True, (a.lo, a.hi)
        a.count, a.lo, a.hi, a.start, a.pending = b.offence, lo, hi, p, None
        a.decs.append(b)
        self.recent.append(b.addr)
        if via == "log":
            self.latency.append(p - b.w)
            if p - b.w > MAX_DETECT:
                self.fail("slow detection", "%s offence %d decided %.2f s after it was written"
                          % (b.addr, b.offence, p - b.w))

    def on_status(self, life, t, lines):
        """A status reply at t: every line up to base + lines was read."""
        done = life.base + lines
        while self.pending and (self.pending[0].done or
                                (self.pending[0].life is life and self.pending[0].idx <= done)):
            b = self.pending.popleft()
            if not b.done:
                self.confirm(b, t, "status")

    def on_ban(self, t, verb, name, offence, timeout, until):
        a = self.addrs.get(name)
        if a is None:
            self.fail("resurrected", "%s %s: an address that never offended%s"
                      % (verb, name, "" if name in self.known else " (not a soak source)"))
            return
        b = a.pending if a and a.pending and a.pending.offence == offence else None
        if b is not None:
            self.confirm(b, t, "log")
        else:
            b = next((d for d in a.decs if d.offence == offence and not d.logged), None)
        if b is None:
            self.fail("decisions", "%s %s offence %d: the model has no such decision"
                      % (verb, name, offence))
            return
        b.logged, b.until = True, until
        self.n["log " + verb] += 1
        if until is None or not b.lo - TOL <= until <= b.hi:
            self.fail("wrong end", "%s %s offence %d until %s: the model says %.1f..%.1f"
                      % (verb, name, offence, until, b.lo, b.hi))
        if b.verb and b.verb != verb:
            self.fail("decisions", "%s %s offence %d: the model expected %s" % (verb, name, offence, b.verb))
        if (verb == "ban" and timeout != b.ttl) or timeout < b.ttl:
            self.fail("decisions", "%s %s offence %d timeout %d s: the model expected %d s"
                      % (verb, name, offence, timeout, b.ttl))

    def on_expire(self, t, name, offence):
        a = self.addrs.get(name)
        b = next((d for d in (a.decs if a else ()) if d.offence == offence), None)
        if b is None:
            self.fail("decisions", "expire %s offence %d: no such ban in the model" % (name, offence))
            return
        b.expired = True
        self.n["log expire"] += 1
        if not self.up_during(b.hi - TOL, t):
            self.n["expired while down"] += 1
            return
        # the end the daemon recorded (its "until"), else the model's bounds
        lo, hi = (b.until, b.until) if b.until is not None else (b.lo - TOL, b.hi)
        self.expire_delay = max(self.expire_delay, t - hi)
        if t > hi + TOL + SLACK:
            self.fail("late expiries", "expire %s offence %d logged %.2f s after its end" % (name, offence, t - hi))
        elif t < lo - SLACK:
            self.fail("late expiries", "expire %s offence %d logged %.2f s before its end" % (name, offence, lo - t))

    # -- kill -9 and restarts

    def settle_killed(self, life, db_path):
        """The dead daemon's undecided bursts: committed offences happened."""
        open_ = [b for b in self.pending if not b.done and b.life is life]
        counts = {}
        if open_:
            db = sqlite3.connect(db_path, timeout=10)
            try:
                for b in open_:
                    row = db.execute("SELECT count FROM offences WHERE addr = ?",
                                     (addr_blob(b.addr),)).fetchone()
                    counts[b.addr] = row[0] if row else 0
            finally:
                db.close()
        for b in open_:
            got = counts[b.addr]
            if got == b.offence:
                self.after_restart.append(b)
                self.n["settled after kill: decided"] += 1
                continue
            if got != b.offence - 1:
                self.fail("decisions", "%s: database has offence %d, the model %d or %d"
                          % (b.addr, got, b.offence - 1, b.offence))
                self.addrs[b.addr].count = got
            b.done = True
            self.addrs[b.addr].pending = None
            self.n["settled after kill: not decided"] += 1

    def restarted(self, t_ready):
        """Restore put the settled bans back before the daemon was ready."""
        for b in self.after_restart:
            self.confirm(b, t_ready, "restart")
        self.after_restart = []

    # -- the maps

    def check_list(self, t1, t2, entries):
        listed = {}
        for e in entries:
            if e.get("prefix") not in (32, 128):
                self.fail("resurrected", "prefix ban %s/%s" % (e.get("addr"), e.get("prefix")))
                continue
            listed[canon(e["addr"])] = e.get("expires_in")
        self.n["list samples"] += 1
        for name, left in listed.items():
            self._check_listed(name, left, t1, t2)
        for name, a in self.addrs.items():
            if name not in listed:
                if a.start is not None and a.start < t1 and a.lo > t2 + TOL:
                    self.fail("lost", "%s offence %d: not in the map %.1f s after its decision, "
                              "%.1f s before its end" % (name, a.count, t1 - a.start, a.lo - t2))
                a.listed = False

    def _check_listed(self, name, left, t1, t2):
        if name in self.protected:
            self.fail("resurrected", "%s is allow-listed" % name)
            return
        a = self.addrs.get(name)
        if a is None:
            self.fail("resurrected", "%s never offended%s" % (name, "" if name in self.known else " (not a soak source)"))
            return
        was, a.listed = a.listed, True
        if a.pending is not None and a.pending.w <= t2:
            return                                   # being decided right now
        if left is None:
            self.fail("resurrected", "%s is permanent" % name)
        elif a.hi is None or a.hi + TOL < t1:
            kind = "late expiries" if was else "resurrected"
            self.fail(kind, "%s offence %d in the map %.1f s after its end"
                      % (name, a.count, t1 - (a.hi or 0)))
        elif not self._end_seen(a, left, t1, t2):
            self.fail("wrong end", "%s offence %d ends in %d s, the model says %.1f..%.1f s"
                      % (name, a.count, left, a.lo - t2, a.hi - t1))

    def _end_seen(self, a, left, t1, t2):
        """The current ban's end, or, when decisions came while the list was
        read, the end of one they replaced."""
        if self._end_ok(left, t1, t2, a.lo, a.hi):
            return True
        for d in reversed(a.decs):
            if d.p < t1:
                break
            if self._end_ok(left, t1, t2, *d.prev):
                return True
        return False

    @staticmethod
    def _end_ok(left, t1, t2, lo, hi):
        """An entry read in [t1, t2] with `left` whole seconds to go ends in [lo, hi]."""
        return lo is not None and t1 + left <= hi + TOL and t2 + left + 1 >= lo - TOL

    def finish(self, t_stop):
        """Bans that ended before the stop must have logged their expiry."""
        for name, a in self.addrs.items():
            if a.decs and a.pending is None:
                b = a.decs[-1]
                if not b.expired and b.hi + TOL + 1 < t_stop and self.up_during(b.hi - TOL, t_stop):
                    self.fail("late expiries", "%s offence %d: no expire line (ended %.1f s before the stop)"
                              % (name, b.offence, t_stop - b.hi))
        for b in self.pending:
            if not b.done:
                self.fail("lost", "%s offence %d: never decided (written %.1f s before the stop)"
                          % (b.addr, b.offence, t_stop - b.w))


# ---- the daemon ---------------------------------------------------------

LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3}) (.*)$")
RE_BAN = re.compile(r"^(re-ban|ban) (\S+) rule \d+ offence (\d+) timeout (\S+) until (\S+)")
RE_EXPIRE = re.compile(r"^expire (\S+) rule \d+ offence (\d+) timeout ")
EVENTS = [("ready", re.compile(r"^ready")), ("rotated", re.compile(r"^source .*: rotated, ")),
          ("truncated", re.compile(r"^source .*: truncated, ")),
          ("reloaded", re.compile(r"^reloaded ")), ("stopped", re.compile(r"^stopped: ")),
          ("refused", re.compile(r"^not banning: .*allow list")),
          ("restored", re.compile(r"^restored "))]
WARNING = re.compile(r"cannot|error|fail|refus|warn|lost|full", re.I)


class Fatal(Exception):
    pass


class Life:
    """One run of the daemon, from its start to its kill or stop."""

    def __init__(self, n, popen):
        self.n, self.popen, self.pid = n, popen, popen.pid
        self.t_start, self.t_ready, self.t_end = time.time(), None, None
        self.base = 0               # lines written before it opened the file (at its end)
        self.dying = False
        self.rss = []               # (s since start, VmRSS kB, RssAnon kB)
        self.max_status = 0.0
        self.last = {}              # its latest status reply
        self.events = collections.Counter()
        self.cond = threading.Condition()
        self.reader = None

    def wait_event(self, name, count, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: self.events[name] >= count, timeout)


class Daemon:
    """Starting, asking, killing and following `xdpban run`."""

    def __init__(self, opt, model):
        self.opt, self.model = opt, model
        self.conf = os.path.join(opt.dir, "xdpban.conf")
        self.sock = os.path.join(opt.dir, "ctl.sock")
        self.db = os.path.join(opt.dir, "state", "xdpban.db")
        self.out = open(os.path.join(opt.dir, "daemon.log"), "a", buffering=1)
        self.lives = []
        self.life = None
        self.warnings = []
        self._tscache = {}

    def start(self, written):
        cmd = ["ip", "netns", "exec", self.opt.ns, self.opt.xdpban, "run", "--config", self.conf,
               "--foreground"]
        popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
        life = Life(len(self.lives), popen)
        self.lives.append(life)
        life.reader = threading.Thread(target=self._read, args=(life,), daemon=True)
        life.reader.start()
        deadline = time.time() + 30
        while True:
            if popen.poll() is not None:
                raise Fatal("daemon #%d exited with %d before it was ready" % (life.n, popen.returncode))
            if time.time() > deadline:
                raise Fatal("daemon #%d not ready after 30 s" % life.n)
            reply = self.status(life)
            if reply:
                break
            time.sleep(0.05)
        if reply[2].get("pid") != life.pid:
            raise Fatal("daemon #%d: status names pid %s, not %d" % (life.n, reply[2].get("pid"), life.pid))
        life.t_ready, life.base = time.time(), written
        with self.model.lock:
            if self.model.down:
                self.model.down[-1][1] = life.t_ready
            self.model.restarted(life.t_ready)
        self.life = life
        return life

    def kill9(self, crashed=False):
        """kill -9 (or, crashed, reap one that died on its own), then settle
        what it left undecided."""
        life = self.life
        life.dying = True
        t = time.time()
        if not crashed:
            os.kill(life.pid, signal.SIGKILL)
        life.popen.wait(10)
        life.reader.join(10)
        life.t_end = t
        with self.model.lock:
            self.model.down.append([t, None])
            self.model.settle_killed(life, self.db)

    def stop(self):
        """SIGTERM: it must say "stopped:" and exit 0."""
        life = self.life
        life.dying = True
        life.t_end = time.time()
        os.kill(life.pid, signal.SIGTERM)
        try:
            rc = life.popen.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(life.pid, signal.SIGKILL)
            rc = life.popen.wait(10)
            self.model.fail("shutdown", "daemon #%d ignored SIGTERM for 20 s" % life.n)
        life.reader.join(10)
        if rc != 0 or not life.events["stopped"]:
            self.model.fail("shutdown", "daemon #%d exited %d%s" % (life.n, rc, "" if life.events["stopped"]
                                                                     else " without \"stopped:\""))

    def kill_all(self):
        for life in self.lives:
            if life.popen.poll() is None:
                life.dying = True
                os.kill(life.pid, signal.SIGKILL)
                life.popen.wait(10)
        self.out.close()

    def status(self, life, timeout=10.0):
        """(seconds, time of the reply, reply) or None; the answer time counts
        towards the stall figures of the daemon that gave it."""
        t0 = time.time()
        buf = b""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(self.sock)
                s.sendall(b"status\n")
                while len(buf) < (1 << 20):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
            reply = json.loads(buf)
        except (OSError, ValueError):
            return None
        t1 = time.time()
        if life.t_ready is not None and reply.get("pid") == life.pid:
            life.max_status = max(life.max_status, t1 - t0)
            life.last = reply
        return t1 - t0, t1, reply

    def _ts(self, s, ms):
        t = self._tscache.get(s)
        if t is None:
            t = self._tscache[s] = time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%S"))
            if len(self._tscache) > 4096:
                self._tscache.clear()
        return t + int(ms) / 1000.0 + 0.001     # its clock, in whole ms: at most 1 ms early

    def _read(self, life):
        for raw in life.popen.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.out.write("[%d] %s\n" % (life.n, line))
            m = LOG_TS.match(line)
            t, msg = (self._ts(m.group(1), m.group(2)), m.group(3)) if m else (time.time(), line)
            self._on_line(life, t, msg)

    def _on_line(self, life, t, msg):
        m = RE_BAN.match(msg)
        if m:
            with self.model.lock:
                self.model.on_ban(t, m.group(1), canon(m.group(2)), int(m.group(3)),
                                  parse_duration(m.group(4)), parse_until(m.group(5)))
            return
        m = RE_EXPIRE.match(msg)
        if m:
            with self.model.lock:
                self.model.on_expire(t, canon(m.group(1)), int(m.group(2)))
            return
        if msg.startswith("unban "):
            with self.model.lock:
                self.model.fail("unbans", "daemon #%d: %s" % (life.n, msg))
            return
        for name, rx in EVENTS:
            if rx.search(msg):
                with life.cond:
                    life.events[name] += 1
                    life.cond.notify_all()
                if name == "restored":
                    self.model.n["restore lines"] += 1
                return
        if WARNING.search(msg):
            with self.model.lock:
                self.model.fail("daemon warnings", "daemon #%d: %s" % (life.n, msg))

    def rss(self, life):
        vals = {}
        try:
            with open("/proc/%d/status" % life.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "RssAnon"):
                        vals[k] = int(v.split()[0])
        except OSError:
            return
        if len(vals) == 2:
            life.rss.append((time.time() - life.t_start, vals["VmRSS"], vals["RssAnon"]))


# ---- the run ------------------------------------------------------------

LOCAL_RULES = """<group name="local,syslog,sshd,">
  <!-- The soak's 5712: exactly %d invalid-user lines from one source fire
       it once (the count starts again after firing; no ignore). -->
  <rule id="5712" level="10" frequency="%d" timeframe="60" overwrite="yes">
    <if_matched_sid>5710</if_matched_sid>
    <same_source_ip />
    <description>sshd: brute force with non-existent user names (soak).</description>
    <group>authentication_failures,</group>
  </rule>
</group>
""" % (FREQ, FREQ)


class Soak:
    def __init__(self, opt):
        self.opt = opt
        self.rng = random.Random(opt.seed)
        self.src = Sources(self.rng)
        self.model = Model(self.src)
        self.daemon = Daemon(opt, self.model)
        self.lines = Lines(self.rng, self.src)
        self.logpath = os.path.join(opt.dir, "auth.log")
        self.log = None
        self.variant = 0
        self.stop = threading.Event()
        self.threads = []
        self.n = collections.Counter()
        self.max_list = 0.0
        self.t_act = self.n_act = self.b_act = 0

    # -- set-up

    def write_conf(self):
        v, o = VARIANTS[self.variant], self.opt
        esc = ("<repeated_offenders>%s</repeated_offenders>" % ",".join(map(str, v["repeated"]))
               if v["repeated"] else "<increment_factor>%g</increment_factor>" % v["factor"])
        text = """<xdpban>
  <interface mode="generic">%s</interface>
  <source type="file">%s</source>
  <rules_dir>%s</rules_dir>
  <local_rules>%s/local_rules.xml</local_rules>
  <white_list>%s</white_list>
  <state_dir>%s/state</state_dir>
  <control_socket>%s</control_socket>
  <active-response>
    <command>firewall-drop</command>
    <location>local</location>
    <rules_id>5712</rules_id>
    <timeout>%d</timeout>
    %s
    <max_timeout>%d</max_timeout>
  </active-response>
</xdpban>
""" % (o.iface, self.logpath, o.rules, o.dir, ALLOW_NET, o.dir, self.daemon.sock, v["timeout"], esc, v["max"])
        with open(self.daemon.conf + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.daemon.conf + ".tmp", self.daemon.conf)

    def selfcheck(self):
        """The model's premise, checked with `xdpban logtest` on a sample:
        each burst fires 5712 once, at its last line, for its attacker, and
        no noise line ever does."""
        rng = random.Random(self.opt.seed + 1)
        gen, out, want = Lines(rng, self.src), [], {}
        for a in self.src.attackers[:150] + self.src.attackers[-150:]:
            out += gen.noise(rng.randrange(60))
            out += gen.burst(a)
            want[len(out)] = a
        out += gen.noise(5000)
        path = os.path.join(self.opt.dir, "selfcheck.log")
        with open(path, "w") as f:
            f.writelines(out)
        r = subprocess.run([self.opt.xdpban, "logtest", "--json", "--rules", self.opt.rules,
                            "--local-rules", os.path.join(self.opt.dir, "local_rules.xml"), path],
                           capture_output=True, timeout=120)
        got = {}
        for line in r.stdout.decode().splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("rule") == 5712:
                got[e["line"]] = canon(e.get("srcip", "0.0.0.0"))
        os.unlink(path)
        if r.returncode != 0 or got != want:
            bad = sorted(set(got.items()) ^ set(want.items()))[:5]
            raise Fatal("logtest self-check: %d bursts, %d alerts of 5712; differences: %s"
                        % (len(want), len(got), bad))
        print("self-check: %d bursts in %d lines fire 5712 exactly once each (xdpban logtest)"
              % (len(want), len(out)))

    # -- writing

    def resume(self):
        self.t_act, self.n_act, self.b_act = time.time(), 0, 0

    def write_due(self, now):
        """The lines and bursts due at the configured rates since resume()."""
        el = now - self.t_act
        n = max(0, min(int(el * self.opt.rate) - self.n_act, int(self.opt.rate * 0.25)))
        nb = max(0, min(int(el * self.opt.bursts) - self.b_act, 10))
        self.n_act += n
        self.b_act += nb
        self.write_batch(n, nb, now)

    def write_batch(self, n, nb, now):
        """n noise lines with nb bursts at random places among them; each
        burst is registered with the model before it is written."""
        noise = self.lines.noise(n)
        pos = sorted(self.rng.randrange(len(noise) + 1) for _ in range(nb))
        picks = []
        with self.model.lock:
            for _ in range(nb):
                name = self.model.pick(self.rng, now)
                picks.append(name if name not in picks or name in self.model.protected else None)
            out, idx, j = [], self.log.lines, 0
            for k in range(len(noise) + 1):
                while j < nb and pos[j] == k:
                    if picks[j]:
                        out += self.lines.burst(picks[j])
                        idx += FREQ
                        self.model.burst(picks[j], idx, time.time(), self.daemon.life,
                                         VARIANTS[self.variant])
                    j += 1
                if k < len(noise):
                    out.append(noise[k])
                    idx += 1
        self.log.write(out)

    def sync(self, why, timeout=20.0):
        """Wait until the daemon has read every line written."""
        life, deadline = self.daemon.life, time.time() + timeout
        while time.time() < deadline:
            r = self.daemon.status(life)
            if r:
                lines = r[2]["sources"][0]["lines"]
                with self.model.lock:
                    self.model.on_status(life, r[1], lines)
                if life.base + lines >= self.log.lines:
                    return True
            time.sleep(0.02)
        self.model.fail("catch-up", "before %s: daemon #%d had not read all lines after %.0f s"
                        % (why, life.n, timeout))
        return False

    # -- the events

    def ev_reload(self, changed, method):
        life = self.daemon.life
        if not self.sync("a reload"):
            return
        old = self.variant
        if changed:
            self.variant = (old + 1 + self.rng.randrange(len(VARIANTS) - 1)) % len(VARIANTS)
            self.write_conf()
        before = life.events["reloaded"]
        if method == "socket":
            r = subprocess.run([self.opt.xdpban, "reload", "--socket", self.daemon.sock],
                               capture_output=True, timeout=60)
            if r.returncode != 0:
                self.model.fail("reloads", "xdpban reload exited %d: %s" % (r.returncode, r.stderr.decode().strip()))
        else:
            os.kill(life.pid, signal.SIGHUP)
        if not life.wait_event("reloaded", before + 1, 10):
            self.model.fail("reloads", "%s reload: no \"reloaded\" line within 10 s" % method)
        self.n["reloads"] += 1
        self.n["reloads with a changed config"] += changed
        self.n["reloads by " + method] += 1
        self.resume()

    def ev_rotate(self, kind):
        life = self.daemon.life
        if kind == "rename":
            before = life.events["rotated"]
            self.log.rename_rotate()
            ok = life.wait_event("rotated", before + 1, 5)
        else:
            if not self.sync("copytruncate"):
                return
            before = life.events["truncated"]
            self.log.copytruncate()
            ok = life.wait_event("truncated", before + 1, 5)
        if not ok:
            self.model.fail("rotations", "%s rotation not followed within 5 s" % kind)
        self.n["rotations"] += 1
        self.n["rotations by " + kind] += 1
        self.resume()

    def ev_kill(self, crashed=False):
        """kill -9 at a random point: 0-100 ms after a batch of up to 100,000
        lines with bursts, so some are decided, some read, some neither."""
        if not crashed:
            n = self.rng.randrange(1000, 100000)
            self.write_batch(n, max(1, n // 500), time.time())
            time.sleep(self.rng.uniform(0, 0.1))
        self.daemon.kill9(crashed)
        self.n["restarts"] += 1
        quiet = time.time() + self.rng.uniform(0.2, 2.0)
        while time.time() < quiet:      # the log grows while no daemon runs
            self.log.write(self.lines.noise(int(self.opt.rate * TICK)))
            self.n["lines written while down"] += int(self.opt.rate * TICK)
            time.sleep(TICK)
        self.daemon.start(self.log.lines)
        self.resume()

    def plan(self):
        """(second, event, args): reloads every 8-20 s, rotations every
        10-25 s (rename and copytruncate in turn), kill -9s at random after
        a first lifetime long enough to watch its memory."""
        S, r, ev = self.opt.seconds, self.rng, []
        t_first = min(0.4 * S, 240.0)
        kills = sorted(r.uniform(t_first, S - 8) for _ in range(max(1, round((S - t_first) / 60))))
        for t in kills:
            if not ev or t - ev[-1][0] >= 10:
                ev.append((t, self.ev_kill, ()))
        t, i = r.uniform(4, 10), 0
        while t < S - 3:
            ev.append((t, self.ev_reload, (i % 2 == 1, "socket" if i % 4 < 2 else "sighup")))
            t, i = t + r.uniform(8, 20), i + 1
        t, kind = r.uniform(6, 14), r.choice(["rename", "copytruncate"])
        while t < S - 3:
            ev.append((t, self.ev_rotate, (kind,)))
            t, kind = t + r.uniform(10, 25), "rename" if kind == "copytruncate" else "copytruncate"
        return sorted(ev, key=lambda e: e[0])

    # -- the samplers

    def status_loop(self):
        next_rss = 0.0
        while not self.stop.is_set():
            life = self.daemon.life
            if life and not life.dying:
                r = self.daemon.status(life)
                if r and r[2].get("pid") == life.pid:
                    with self.model.lock:
                        self.model.on_status(life, r[1], r[2]["sources"][0]["lines"])
                    if r[0] > MAX_STALL:
                        self.model.fail("stalls", "daemon #%d answered status after %.2f s" % (life.n, r[0]))
                elif not life.dying:
                    self.model.fail("stalls", "daemon #%d did not answer status" % life.n)
                if time.time() >= next_rss:
                    self.daemon.rss(life)
                    next_rss = time.time() + RSS_EVERY
            self.stop.wait(STATUS_EVERY)

    def list_loop(self):
        while not self.stop.is_set():
            t1 = time.time()
            try:
                r = subprocess.run([self.opt.xdpban, "list", "--json"], capture_output=True, timeout=30)
                entries = json.loads(r.stdout) if r.returncode == 0 else None
            except (subprocess.TimeoutExpired, ValueError) as e:
                r, entries = None, None
                self.model.fail("list", "xdpban list --json: %s" % e)
            t2 = time.time()
            self.max_list = max(self.max_list, t2 - t1)
            if r is not None and entries is None:
                self.model.fail("list", "xdpban list --json exited %d: %s" % (r.returncode, r.stderr.decode().strip()))
            elif entries is not None:
                with self.model.lock:
                    self.model.check_list(t1, t2, entries)
            self.stop.wait(max(0.0, LIST_EVERY - (t2 - t1)))

    def guarded(self, fn):
        try:
            fn()
        except Exception:       # a sampler's own bug must show, not silently stop it
            self.model.fail("driver", traceback.format_exc().strip().splitlines()[-1])

    # -- the whole

    def run(self):
        with open(os.path.join(self.opt.dir, "local_rules.xml"), "w") as f:
            f.write(LOCAL_RULES)
        self.write_conf()
        self.selfcheck()
        self.log = LogFile(self.logpath)
        self.daemon.start(self.log.lines)
        for fn in (self.status_loop, self.list_loop):
            th = threading.Thread(target=self.guarded, args=(fn,), daemon=True)
            th.start()
            self.threads.append(th)
        events = self.plan()
        t0 = self.t_act_first = time.time()
        self.resume()
        print("soak: %d s from %s, daemon pid %d; %d reloads, %d rotations, %d kills planned"
              % (self.opt.seconds, time.strftime("%H:%M:%S"), self.daemon.life.pid,
                 sum(e[1] == self.ev_reload for e in events), sum(e[1] == self.ev_rotate for e in events),
                 sum(e[1] == self.ev_kill for e in events)), flush=True)
        while time.time() < t0 + self.opt.seconds:
            if self.daemon.life.popen.poll() is not None:
                self.model.fail("crashes", "daemon #%d exited %d on its own"
                                % (self.daemon.life.n, self.daemon.life.popen.returncode))
                self.ev_kill(crashed=True)
            self.write_due(time.time())
            while events and events[0][0] <= time.time() - t0:
                _, fn, args = events.pop(0)
                fn(*args)
            time.sleep(TICK)
        self.t_stop = time.time()
        self.finish()
        return self.report()

    def finish(self):
        self.sync("the end", 30)
        n = self.model.n["list samples"]
        deadline = time.time() + 10
        while self.model.n["list samples"] < n + 2 and time.time() < deadline:
            time.sleep(0.1)
        with self.model.lock:
            self.model.finish(time.time() - TOL)
        self.stop.set()
        for th in self.threads:
            th.join(40)
        self.daemon.stop()
        self.log.close()

    def cleanup(self):
        self.stop.set()
        self.daemon.kill_all()

    # -- the figures

    def rss_checks(self):
        """Per lifetime: after the warm-up its peak stays within RSS_MARGIN_KB
        of the warm-up's peak; across lifetimes: none above the first's
        peak + RSS_MARGIN_KB. VmRSS and RssAnon (the heap) alike. Returns
        the largest growth after a warm-up, (VmRSS, RssAnon) in kB."""
        warm = min(60.0, self.opt.seconds / 4)
        lives = [life for life in self.daemon.lives if life.rss]
        growth = [0, 0]
        with open(os.path.join(self.opt.dir, "rss.log"), "w") as f:
            for life in lives:
                f.writelines("%d %.1f %d %d\n" % ((life.n,) + s) for s in life.rss)
        for life in lives:
            before = [s for s in life.rss if s[0] <= warm]
            after = [s for s in life.rss if s[0] > warm]
            for k, name in ((1, "VmRSS"), (2, "RssAnon")):
                peak = max(s[k] for s in life.rss)
                if before and after:
                    g = max(s[k] for s in after) - max(s[k] for s in before)
                    growth[k - 1] = max(growth[k - 1], g)
                    if g > RSS_MARGIN_KB:
                        self.model.fail("rss", "daemon #%d: %s grew by %d kB after its first %.0f s"
                                        % (life.n, name, g, warm))
                first = max(s[k] for s in lives[0].rss)
                if life is not lives[0] and peak > first + RSS_MARGIN_KB:
                    self.model.fail("rss", "daemon #%d: %s peak %d kB, the first daemon's %d kB"
                                    % (life.n, name, peak, first))
        return growth

    def report(self):
        growth = self.rss_checks()
        m, d, secs = self.model, self.daemon, self.t_stop - self.t_act_first
        lat = sorted(m.latency) or [0.0]
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        rss = ", ".join("#%d %.1f/%.1f" % (life.n, max(s[1] for s in life.rss) / 1024,
                                          max(s[2] for s in life.rss) / 1024)
                        for life in d.lives if life.rss)
        errors = sum(life.last.get("errors", 0) for life in d.lives)
        if errors:
            m.fail("daemon errors", "status counted %d errors" % errors)
        for life in d.lives:
            if life.max_status > MAX_STALL and not m.fails["stalls"]:
                m.fail("stalls", "daemon #%d answered status after %.2f s" % (life.n, life.max_status))
        rows = [
            ("lines written", "{:,}".format(self.log.lines)),
            ("lines/s", "{:,.0f}".format(self.log.lines / secs)),
            ("offending bursts (allow-listed: refused)", "{:,} ({:,}: {:,})".format(
                m.n["bursts"], m.n["protected bursts"], sum(life.events["refused"] for life in d.lives))),
            ("bans", "{:,}".format(m.n["log ban"])),
            ("re-bans", "{:,}".format(m.n["log re-ban"])),
            ("expiries (while down)", "{:,} ({:,})".format(m.n["log expire"], m.n["expired while down"])),
            ("restarts (kill -9; lines written while down)", "{:,} ({:,})".format(
                self.n["restarts"], self.n["lines written while down"])),
            ("kill -9: undecided bursts decided / not", "{} / {}".format(
                m.n["settled after kill: decided"], m.n["settled after kill: not decided"])),
            ("reloads (changed config; socket/SIGHUP)", "{} ({}; {}/{})".format(
                self.n["reloads"], self.n["reloads with a changed config"],
                self.n["reloads by socket"], self.n["reloads by sighup"])),
            ("rotations (rename/copytruncate)", "{} ({}/{})".format(
                self.n["rotations"], self.n["rotations by rename"], self.n["rotations by copytruncate"])),
            ("max RSS per lifetime, MiB (VmRSS/RssAnon)", rss),
            ("RSS growth after the first %.0f s, max (VmRSS/RssAnon)" % min(60.0, self.opt.seconds / 4),
             "%d / %d kB (limit %d kB)" % (growth[0], growth[1], RSS_MARGIN_KB)),
            ("max status latency", "%.3f s (limit %.1f s)" % (max(l.max_status for l in d.lives), MAX_STALL)),
            ("expire line after the recorded end, max", "%.3f s (limit %.2f s)" % (m.expire_delay, TOL + SLACK)),
            ("detection latency p50/p99/max", "%.3f / %.3f / %.3f s (limit %.1f s)"
             % (pct(0.5), pct(0.99), lat[-1], MAX_DETECT)),
            ("list samples (slowest)", "%d (%.2f s)" % (m.n["list samples"], self.max_list)),
            ("daemon errors (status)", str(errors)),
            ("lost", str(m.fails["lost"])),
            ("resurrected", str(m.fails["resurrected"])),
            ("late expiries", str(m.fails["late expiries"])),
            ("wrong ends", str(m.fails["wrong end"])),
        ]
        w = max(len(r[0]) for r in rows)
        out = ["", "soak: %.0f s, seed %d" % (secs, self.opt.seed), "",
               "| %-*s | value |" % (w, "figure"), "| %s | --- |" % ("-" * w)]
        out += ["| %-*s | %s |" % (w, k, v) for k, v in rows]
        out.append("")
        for kind in sorted(m.fails):
            out.append("FAIL %s: %d" % (kind, m.fails[kind]))
            out += ["  " + e for e in m.examples[kind]]
        out.append("soak: %s" % ("FAILED" if m.fails else "passed: nothing lost, nothing resurrected, "
                                 "every expiry on time, no stall, memory flat"))
        text = "\n".join(out) + "\n"
        sys.stdout.write(text)
        with open(os.path.join(self.opt.dir, "report.txt"), "w") as f:
            f.write(text)
        return 1 if m.fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ns", required=True)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--xdpban", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--bursts", type=float, default=40)
    ap.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    opt = ap.parse_args()
    if not 100 <= opt.rate <= 200000 or not 1 <= opt.bursts <= 1000:
        ap.error("--rate must be 100..200000 lines/s and --bursts 1..1000 per s")

    def stop(signum, frame):
        raise KeyboardInterrupt

    def too_long(signum, frame):
        raise Fatal("still running %d s after its end: giving up" % 600)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(opt.seconds + 600)
    soak = Soak(opt)
    rc = 1
    try:
        rc = soak.run()
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        rc = 130
    except Fatal as e:
        print("soak: %s" % e, file=sys.stderr)
    finally:
        soak.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
