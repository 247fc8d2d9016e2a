#!/usr/bin/env python3
"""Replay Wazuh execd's side of the active-response exchange (4.2+,
src/os_execd/execd.c) against a program, line by line:
  execd.py PROGRAM COMMAND SRCIP REPLY [EXTRA_ARGS...]
writes the message, and for "add" reads the check_keys line, prints its
keys and answers REPLY ("continue" or "abort"; "-" sends the raw message
as is from $RAW). Prints "exit N" last. Bounded: 15 s in all."""
import json
import os
import subprocess
import sys

prog, command, srcip, reply = sys.argv[1:5]
extra = sys.argv[5:]
msg = {"version": 1, "origin": {"name": "node01", "module": "wazuh-execd"},
       "command": command,
       "parameters": {"extra_args": extra,
                      "alert": {"rule": {"level": 10, "id": "5712",
                                         "description": "sshd: brute force",
                                         "groups": ["syslog", "sshd"]},
                                "data": {"srcip": srcip, "dstuser": "admin"}},
                      "program": "active-response/bin/firewall-drop"}}
line = os.environ.get("RAW") if reply == "-" else json.dumps(msg)
p = subprocess.Popen([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True)
p.stdin.write(line + "\n")
p.stdin.flush()
if command == "add" and reply != "-":
    out = p.stdout.readline()
    if out:
        keys = json.loads(out)
        assert keys["command"] == "check_keys", keys
        print("keys " + ",".join(keys["parameters"]["keys"]))
        p.stdin.write(json.dumps({"version": 1, "origin": {"name": "node01",
                      "module": "wazuh-execd"}, "command": reply,
                      "parameters": {}}) + "\n")
        p.stdin.flush()
p.stdin.close()
try:
    rc = p.wait(timeout=15)
except subprocess.TimeoutExpired:
    p.kill()
    rc = -9
print("exit %d" % rc)
