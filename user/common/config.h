/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config: /etc/xdpban/xdpban.conf, XML in the shape of Wazuh's ossec.conf.
 *
 *   <xdpban>                       (or <ossec_config>, so a pasted fragment works)
 *     <interface mode="auto|native|generic">eth0</interface>      one per NIC
 *     <source type="journald|file|stdin">/var/log/auth.log</source>
 *     <rules_dir>/usr/local/share/xdpban/rules</rules_dir>          default: xb_rules_dir_default()
 *     <local_rules>/etc/xdpban/local_rules.xml</local_rules>
 *     <white_list>198.18.0.0/24</white_list>                       repeatable
 *     <global><white_list>...</white_list></global>                as in ossec.conf
 *     <state_dir>/var/lib/xdpban</state_dir>
 *     <control_socket>/run/xdpban/xdpban.sock</control_socket>
 *     <metrics>127.0.0.1:9477</metrics>   Prometheus /metrics (off when absent); [::1]:9477 for IPv6
 *     <offender_memory>7d</offender_memory>   offence history forgotten after this quiet time
 *     <max_bans>1048576</max_bans>   exact bans per family the tables may grow to
 *                                  (1 to XB_CONF_MAX_BANS; they start at 10,000)
 *     <ipv6_aggregate>                         ban the prefix once enough of its addresses offend
 *       <prefix_len>64</prefix_len> <threshold>3</threshold> <window>1h</window> <disabled>no</disabled>
 *     </ipv6_aggregate>
 *     <command> name, executable, timeout_allowed, extra_args </command>
 *     <active_response_dir>/usr/lib/xdpban/active-response</active_response_dir>
 *                                  where a relative <executable> is looked up
 *     <hosts_deny>/etc/hosts.deny</hosts_deny>        the host-deny built-in's file
 *     <protected_accounts>root,admin</protected_accounts>  never disabled (root always)
 *     <fleet>                                  several hosts, one manager (see fleet/fleet.h)
 *       <agent_id>001</agent_id> <role>manager|agent</role>
 *       <url>tls://198.18.0.1:4222</url>         repeatable: the brokers (NATS)
 *       <ca>FILE</ca> <cert>FILE</cert> <key>FILE</key>   this host's identity
 *       <grace>10s</grace>      reports of one attack within this count as one offence
 *       <outbox_max>10000</outbox_max>  reports kept on disk while the broker is away
 *       <report_rate>200</report_rate>  manager: reports/s per agent; more wait
 *       <report_pack>16</report_pack>   agent: queued reports per message (1..64)
 *       <replicas>3</replicas>  manager: copies of the stream and the bucket (a cluster)
 *     </fleet>
 *     <active-response> command, location, agent_id, rules_id, rules_group, level,
 *         timeout, repeated_offenders, disabled;  xdpban extensions:
 *         increment_factor, max_timeout, random_jitter (formula mode),
 *         permanent_after (offence number from which bans never end) </active-response>
 *   </xdpban>
 *
 * Wazuh details kept: no <timeout> means the ban never ends, and neither
 * does it when the <command> says <timeout_allowed>no</timeout_allowed>;
 * locations AS, analysisd, analysis-server mean server, any means all.
 *
 * Durations accept a plain number of seconds or a suffix (s, m, h, d, w);
 * repeated_offenders values are minutes as in Wazuh. "permanent" is accepted
 * in <timeout> and in the repeated_offenders list.
 *
 * Parsing is strict: an unknown element, a bad number, a zero or negative
 * timeout or a missing command fails with "file:line: reason". Documents with
 * a DTD are refused (no entities, no network).
 */
#ifndef XB_CONFIG_H
#define XB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/mode.h"
#include "common/records.h"

#define XB_CONFIG_DEFAULT     "/etc/xdpban/xdpban.conf"
#define XB_CONFIG_ENV         "XDPBAN_CONFIG"
#define XB_STATE_DIR_DEFAULT  "/var/lib/xdpban"
#define XB_SOCKET_DEFAULT     "/run/xdpban/xdpban.sock"
#define XB_SOCKET_ENV         "XDPBAN_SOCKET"
#ifndef XDPBAN_PREFIX
#define XDPBAN_PREFIX         "/usr/local"
#endif
#define XB_RULES_DIR_ENV      "XDPBAN_RULES_DIR"

#define XB_AR_DIR_DEFAULT     "/usr/lib/xdpban/active-response"
#define XB_HOSTS_DENY_DEFAULT "/etc/hosts.deny"

#define XB_TIMEOUT_PERMANENT  UINT64_MAX    /* a ban that never ends */
#define XB_MAX_REPEATED       64            /* Wazuh stops at 5 */

enum xb_ar_location {
	XB_LOC_LOCAL = 0,       /* the host that saw the event: this one */
	XB_LOC_SERVER,          /* the manager: this host when there is no <fleet> */
	XB_LOC_DEFINED_AGENT,   /* the agents of <agent_id> (a comma list); needs <fleet> */
	XB_LOC_ALL,             /* every agent and the manager; needs <fleet> */
};

#define XB_AGENT_ID_MAX 32      /* letters, digits, '-', '_' */
#define XB_FLEET_URLS_MAX 8
#define XB_FLEET_PACK_MAX 64     /* reports in one message */
#define XB_FLEET_PACK_DEF 16     /* <report_pack> unset */

/* <fleet>: absent (enabled false) means a single host, as before. */
struct xb_conf_fleet {
	bool enabled;
	bool manager;                   /* <role>manager</role> */
	char agent_id[XB_AGENT_ID_MAX + 1];
	char *urls[XB_FLEET_URLS_MAX];
	size_t n_urls;
	char *ca, *cert, *key;          /* NULL: no TLS (plain nats://) */
	uint64_t grace;                 /* s */
	uint64_t outbox_max;            /* rows */
	uint64_t report_rate;           /* manager: reports/s taken from one agent */
	uint64_t report_pack;           /* agent: queued reports sent in one message, at most */
	uint64_t replicas;              /* manager: JetStream replicas, 1..5 */
	int line;
};

/* Is s a valid agent id (1..32 of [A-Za-z0-9_-], not "all")? */
bool xb_agent_id_ok(const char *s, size_t len);
/* The same connection (role, id, brokers, TLS files, replicas)? grace and
 * outbox_max may differ. */
bool xb_fleet_same(const struct xb_conf_fleet *a, const struct xb_conf_fleet *b);
/* Does the comma list ids name id? */
bool xb_agent_list_has(const char *ids, const char *id);

struct xb_conf_iface {
	char name[16];          /* IFNAMSIZ */
	enum xb_mode mode;
};

struct xb_conf_source {
	enum xb_source_kind type; /* XB_SRC_JOURNAL, XB_SRC_FILE or XB_SRC_FD (stdin) */
	char *path;             /* file sources only, else NULL */
};

/* What a <command> runs: an external script, or one of the built-ins. A
 * built-in's name as a relative <executable> always means the built-in. */
enum xb_cmd_kind {
	XB_CMD_SCRIPT = 0,      /* a program, run as Wazuh's execd runs it */
	XB_CMD_DROP,            /* firewall-drop, xdp-drop: the XDP ban */
	XB_CMD_ROUTE_NULL,      /* a blackhole route (libnl) */
	XB_CMD_HOST_DENY,       /* "ALL: ADDR" in hosts.deny */
	XB_CMD_DISABLE_ACCOUNT, /* the alert's user locked */
	XB_CMD_WEBHOOK,         /* wazuh-slack, webhook: a Slack-style POST */
};

struct xb_command {
	char *name;
	char *executable;
	char *extra_args;       /* NULL when absent */
	bool timeout_allowed;
	bool builtin_drop;      /* firewall-drop / xdp-drop: the XDP ban */
	enum xb_cmd_kind kind;
	int line;
};

/* The built-in an executable name stands for (XB_CMD_SCRIPT: none). */
enum xb_cmd_kind xb_cmd_builtin(const char *executable);
const char *xb_cmd_kind_name(enum xb_cmd_kind k);

struct xb_ar {
	char *command;                  /* name of a <command> or a built-in */
	const struct xb_command *cmd;   /* resolved (points into the config) */
	enum xb_ar_location location;
	char *agent_id;
	uint32_t *rules_id;
	size_t n_rules_id;
	char *rules_group;              /* Wazuh text, '|'-separated alternatives */
	int level;                      /* minimum level, -1 = not set */
	uint64_t timeout;               /* seconds, XB_TIMEOUT_PERMANENT = never ends */
	uint64_t repeated[XB_MAX_REPEATED];   /* seconds (given in minutes) */
	size_t n_repeated;
	double increment_factor;        /* > 0: formula mode */
	uint64_t max_timeout;           /* formula cap, 0 = none */
	uint64_t random_jitter;         /* up to this many seconds added, 0 = none */
	unsigned permanent_after;       /* 0 = never */
	bool disabled;
	int line;
};

/* The largest <max_bans> (the data plane's XB_MAX_MAX_BANS). */
#define XB_CONF_MAX_BANS (1u << 27)

struct xb_config {
	char *path;
	struct xb_conf_iface *ifaces;
	size_t n_ifaces;
	struct xb_conf_source *sources;
	size_t n_sources;
	char *rules_dir;                /* NULL: xb_rules_dir_default() */
	char *local_rules;              /* NULL: none */
	struct xb_addr *allow;
	size_t n_allow;
	char *state_dir;
	char *ctl_socket;
	char *metrics;                  /* "ADDRESS:PORT" of /metrics, NULL: off */
	uint64_t offender_memory;       /* seconds of quiet after which history is forgotten */
	uint32_t max_bans;              /* ceiling of the exact-ban tables; 0: the default */
	int max_bans_line;              /* where <max_bans> is, 0: not given */
	struct {
		bool enabled;
		unsigned prefix_len;    /* 32..127 */
		unsigned threshold;     /* distinct offending addresses */
		uint64_t window;        /* seconds in which they must offend */
	} v6agg;
	char *ar_dir;                   /* relative executables are looked up here */
	char *hosts_deny;               /* the host-deny built-in's file */
	char **protected_accounts;      /* never disabled, besides root */
	size_t n_protected;
	struct xb_command *cmds;
	size_t n_cmds;
	struct xb_ar *ars;
	size_t n_ars;
	struct xb_conf_fleet fleet;
};

/* The rules when neither the config's <rules_dir> nor --rules names them:
 * $XDPBAN_RULES_DIR, else ../rules or ../share/xdpban/rules next to the
 * binary (a build tree, an install), else XDPBAN_PREFIX/share/xdpban/rules.
 * Every command (run, logtest) resolves it this one way. */
const char *xb_rules_dir_default(char *buf, size_t len);

/* The config file to use: path if given, else $XDPBAN_CONFIG, else the default. */
const char *xb_config_path(const char *path);
/* True when path and $XDPBAN_CONFIG name no file: the default applies, and
 * its absence only means no config is installed (not an error for the CLI). */
bool xb_config_is_default(const char *path);

/*
 * Load and validate a config file. On failure returns a negative errno
 * (-ENOENT for a missing file, -EINVAL for a bad one) and, when err is not
 * NULL, writes "file:line: reason" there.
 */
int xb_config_load(const char *path, struct xb_config **out, char *err, size_t errlen);
/* The same from a memory buffer; name is used in messages. */
int xb_config_parse(const char *buf, size_t len, const char *name,
		    struct xb_config **out, char *err, size_t errlen);
/* A config with every default and no active response. */
int xb_config_default(struct xb_config **out);
void xb_config_free(struct xb_config *c);
/* The <command> a name stands for: one defined in c, else a built-in; NULL. */
const struct xb_command *xb_config_command(const struct xb_config *c, const char *name);

/* The config's name of a source kind: "journald", "file", "stdin". */
const char *xb_src_type_name(enum xb_source_kind t);
const char *xb_location_name(enum xb_ar_location l);

/* "ADDRESS:PORT" (IPv4) or "[ADDRESS]:PORT" (IPv6), numeric only, port 1-65535,
 * into *ss and *len; -EINVAL otherwise. */
struct sockaddr_storage;
int xb_config_hostport(const char *s, struct sockaddr_storage *ss, unsigned *len);

#endif
