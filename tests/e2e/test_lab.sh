#!/bin/bash
# End-to-end: the lab's scenario with a real OpenSSH server, automated.
# Each step is a TAP line (see scripts/lab.sh for the network and the steps):
# both attackers (IPv4 and IPv6) are banned within the window by the expected
# rule, soon after the log line that fired it; their connections fail while
# banned and the ban counters (and the global one) match the packets sent;
# the client logs in throughout and is never banned, although some attacker
# user names carry its address; the bans lift on time; the returning
# attackers are banned again for the escalated timeout; nothing is left
# behind; then the fleet story (scripts/fleet-lab.sh): a brute force on edge1
# banned at edge2 and edge3 too (location all), with real traffic. Needs root;
# takes 70 to 140 seconds by the load (a 30 s first ban).
exec bash "$(dirname "$0")/../../scripts/lab.sh" e2e
