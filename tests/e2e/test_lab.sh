#!/bin/bash
# End-to-end: the lab's scenario with a real OpenSSH server, automated.
# Each step is a TAP line (see scripts/lab.sh for the network and the steps):
# both attackers (IPv4 and IPv6) are banned within the window by the expected
# rule, their connections fail while banned and the ban counters match the
# packets sent, the client logs in throughout, the ban lifts on time, and the
# returning attackers are banned again for the escalated timeout.
# Needs root; takes about a minute.
exec bash "$(dirname "$0")/../../scripts/lab.sh" e2e
