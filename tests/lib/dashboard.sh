# shellcheck shell=bash
# The Grafana dashboard in the tree (doc/grafana/xdpban.json) against a live
# scrape; sourced after tests/net/lib.sh (ok, not_ok, diag, TOP).
#
# dashboard_parses DIR: every query parses (as recording rules for promtool).
# dashboard_names_in SCRAPE GREP_ARGS...: every metric name the queries use
#   and `grep GREP_ARGS` keeps has a sample in the scrape file SCRAPE.
DASHBOARD=$TOP/doc/grafana/xdpban.json

# The queries, one a line, $instance made a regular expression.
dashboard_exprs() {
	jq -r '.panels[].targets[].expr | gsub("\\$instance"; ".*")' "$DASHBOARD"
}

dashboard_parses() {
	local dir=$1
	{
		echo 'groups:'
		echo '  - name: dashboard'
		echo '    rules:'
		dashboard_exprs |
			awk '{ gsub(/'"'"'/, "'"'"''"'"'"); printf "      - record: dashboard:q%d\n        expr: '"'"'%s'"'"'\n", NR, $0 }'
	} >"$dir/dashboard-rules.yml"
	if promtool check rules "$dir/dashboard-rules.yml" >"$dir/dashboard-rules.log" 2>&1; then
		ok "the Grafana dashboard's queries parse (doc/grafana/xdpban.json)"
	else
		not_ok "the Grafana dashboard's queries parse (doc/grafana/xdpban.json)"
		sed 's/^/# /' "$dir/dashboard-rules.log"
	fi
}

# The xdpban_* names in the queries, once each.
dashboard_names() { dashboard_exprs | grep -oE 'xdpban_[a-z0-9_]+' | sort -u; }

dashboard_names_in() {
	local scrape=$1 n names missing=
	shift
	names=$(dashboard_names | grep "$@")
	[ -n "$names" ] || { diag "no dashboard query uses a name that grep $* keeps"; return 1; }
	for n in $names; do
		N=$n awk '$1 == ENVIRON["N"] || index($1, ENVIRON["N"] "{") == 1 { f = 1 } END { exit !f }' \
			"$scrape" || missing="$missing $n"
	done
	[ -z "$missing" ] || { diag "the dashboard uses what the scrape lacks:$missing"; return 1; }
	diag "dashboard names in the scrape: $(echo $names)"
}
