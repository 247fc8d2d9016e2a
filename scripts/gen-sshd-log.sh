#!/bin/bash
# Generate a synthetic sshd auth log for benchmarks and tests.
#   gen-sshd-log.sh [LINES] [SOURCES] [SEED] > auth.log
# Mix (per line): ~35% failed passwords, ~15% invalid users (+ their failed
# passwords), ~10% preauth closes/disconnects, ~5% accepted logins, ~5% other
# sshd noise, ~30% other programs. Sources come only from 198.18.0.0/15 and
# 2001:db8::/32 (about 1 in 5 IPv6); 30% of lines come from 1% of the sources,
# so correlation rules (5712, 5763, 5720) fire. RFC 3164 headers, one second apart per
# 50 lines. Depends on awk only (mawk or gawk).
set -eu
lines=${1:-1000000}
sources=${2:-10000}
seed=${3:-42}
exec awk -v lines="$lines" -v sources="$sources" -v seed="$seed" '
function src(i) {
	if (i % 5 == 4)
		return sprintf("2001:db8:%x:%x::%x", int(i / 65536) % 65536, int(i / 256) % 256, i % 256 + 1)
	return sprintf("198.%d.%d.%d", 18 + int(i / 65536) % 2, int(i / 256) % 256, i % 256)
}
BEGIN {
	srand(seed)
	split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ")
	nusers = split("root admin test user oracle postgres ubuntu git guest pi ftp www deploy", users, " ")
	t = 0
	for (n = 0; n < lines; n++) {
		if (n % 50 == 0) t++
		day = 1 + int(t / 86400) % 28
		ts = sprintf("%s %2d %02d:%02d:%02d", mon[11], day, int(t / 3600) % 24, int(t / 60) % 60, t % 60)
		# 30% of lines come from the busiest 1% of sources (the brute forcers)
		s = rand() < 0.3 ? src(int(rand() * (sources / 100 + 1))) : src(int(rand() * sources))
		u = users[1 + int(rand() * nusers)]
		port = 1024 + int(rand() * 60000)
		pid = 1000 + int(rand() * 30000)
		r = rand()
		h = ts " bench sshd[" pid "]: "
		if (r < 0.35)
			print h "Failed password for " u " from " s " port " port " ssh2"
		else if (r < 0.43)
			print h "Invalid user " u "x from " s " port " port
		else if (r < 0.50)
			print h "Failed password for invalid user " u "x from " s " port " port " ssh2"
		else if (r < 0.55)
			print h "Connection closed by authenticating user " u " " s " port " port " [preauth]"
		else if (r < 0.60)
			print h "Disconnected from invalid user " u "x " s " port " port " [preauth]"
		else if (r < 0.65)
			print h "Accepted publickey for " u " from " s " port " port " ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4"
		else if (r < 0.68)
			print h "Received disconnect from " s " port " port ":11: Bye Bye [preauth]"
		else if (r < 0.70)
			print h "Did not receive identification string from " s " port " port
		else if (r < 0.85)
			print ts " bench CRON[" pid "]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
		else if (r < 0.95)
			print ts " bench systemd[1]: Started session-" pid ".scope - Session " pid " of User " u "."
		else
			print ts " bench kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.18.0.1 DST=198.18.0.2 PROTO=TCP SPT=" port " DPT=23"
	}
}'
