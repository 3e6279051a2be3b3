/* config.h - ipopd's configuration: one struct, parsed and validated in one place.
 *
 * Thread: control (parsed once at start-up, before the EAL starts; read-only after).
 * The file format is libconfig; docs/configuration.md is the reference and
 * configs/ holds commented examples. Every error names the file, the line and
 * the setting path (e.g. "gw.conf:12: wan.address: expected A.B.C.D/N").
 */
#ifndef IPOP_CONTROL_CONFIG_H
#define IPOP_CONTROL_CONFIG_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

#define IPOP_CFG_MAX_PEERS    1024
#define IPOP_CFG_MAX_EAL_ARGS 64
#define IPOP_CFG_NAME_LEN     64
#define IPOP_CFG_PATH_LEN     256
#define IPOP_CFG_DEV_LEN      256
#define IPOP_CFG_ERR_LEN      512
#define IPOP_CFG_JID_LEN      256
#define IPOP_CFG_MAX_STATIC   32     /* topology.static entries */

/* vdev names ipopd creates itself for its kernel exception paths (wan.tap and
 * host.tap); lan.device, wan.device and --vdev in dpdk.eal must not reuse them. */
#define IPOP_CFG_WAN_TAP_VDEV  "net_tap_ipopx"
#define IPOP_CFG_HOST_TAP_VDEV "net_tap_ipoph"

/* topology.policy: how a node with signalling chooses the members it links to. */
enum ipop_topo_policy {
	IPOP_TOPO_POLICY_SYMPHONY = 0,   /* s successors, k long links, the static list */
	IPOP_TOPO_POLICY_ALLTOALL = 1,   /* every member that is online */
};
#define IPOP_TOPO_NPOLICIES 2

/* "symphony", "all-to-all"; "?" outside the enum. */
const char *ipop_topo_policy_name(unsigned policy);
/* The policy of a name above, or -EINVAL. */
int ipop_topo_policy_parse(const char *name);

struct ipop_cfg_peer {
	char name[IPOP_CFG_NAME_LEN];      /* optional label; "" if absent */
	uint8_t public_key[32];            /* X25519, given base64 in the file */
	struct in_addr endpoint_ip;        /* underlay address; 0 = unknown (wait for them) */
	uint16_t endpoint_port;            /* host order */
};

struct ipop_cfg_port {
	/* A DPDK device: either a vdev spec "net_af_packet0,iface=veth0" (it starts
	 * with "net_") or a PCI address / device name already probed by the EAL
	 * args. ipopd adds "--vdev=<spec>" itself for vdev specs. */
	char device[IPOP_CFG_DEV_LEN];
};

/* dpdk.idle_wait: true, false, or "auto" (ipop_cfg_idle_wait). */
enum ipop_cfg_idle_wait { IPOP_IDLE_WAIT_AUTO, IPOP_IDLE_WAIT_ON, IPOP_IDLE_WAIT_OFF };

struct ipop_cfg {
	char path[IPOP_CFG_PATH_LEN];      /* the file this came from */

	/* node { } */
	char node_name[IPOP_CFG_NAME_LEN];     /* default: hostname */
	char overlay[IPOP_CFG_NAME_LEN];       /* overlay name; required */
	char key_file[IPOP_CFG_PATH_LEN];      /* identity key file; required */
	int cipher;                            /* enum ipop_cipher; default AES-256-GCM */

	/* dpdk { } */
	int eal_argc;
	char *eal_argv[IPOP_CFG_MAX_EAL_ARGS]; /* owned, strdup'd; argv[0] = "ipopd" */
	unsigned workers;                      /* worker lcores, default 1, 1..16 */
	unsigned mbufs;                        /* mbuf pool size, default 8191 */
	unsigned idle_sleep_max_us;            /* idle back-off bound, default 1000 */
	unsigned idle_sleep_recent_us;         /* bound within 1 s of traffic, default 100 */
	char aead_code_path[16];               /* "auto" (default), "compact", or an
						  IPsec-MB path name (aead.h) */
	int idle_wait;                         /* enum ipop_cfg_idle_wait, default AUTO */

	/* lan { } : the bridged edge LAN */
	struct ipop_cfg_port lan;
	bool lan_enabled;                      /* false: no LAN port (endpoint only) */

	/* wan { } : the underlay */
	struct ipop_cfg_port wan;
	struct in_addr wan_addr;               /* required */
	uint8_t wan_prefix;                    /* 1..32, required (address = "A.B.C.D/N") */
	struct in_addr wan_gateway;            /* next hop; 0 = none (on-link only) */
	uint16_t wan_port;                     /* UDP port, default 5800 */
	uint16_t wan_mtu;                      /* underlay IP MTU, default 1500, 1280..9000 */
	char wan_tap[IPOP_CFG_NAME_LEN];       /* kernel exception iface, default "ipop-wan" */

	/* host { } : endpoint mode, a TAP on the overlay for this host */
	bool host_enabled;                     /* default false */
	char host_tap[IPOP_CFG_NAME_LEN];      /* default "ipop0" */
	bool host_offload;                     /* default true: drivers/vtap, else net_tap */
	struct in_addr host_addr;              /* optional overlay address of this host */
	uint8_t host_prefix;

	/* timers { } : seconds unless said otherwise */
	unsigned keepalive_s;                  /* default 10 */
	unsigned dead_after_s;                 /* no rx for this long = peer down; default 30 */
	unsigned rekey_after_s;                /* default 120 */
	uint64_t rekey_after_packets;          /* default 1<<60 */
	unsigned reject_after_s;               /* default 180; keys older are never used */
	unsigned handshake_retry_ms;           /* default 1000 (then doubles, capped at 16x) */

	/* control { } */
	char api_socket[IPOP_CFG_PATH_LEN];    /* default "/run/ipop/<node_name>.sock" */
	char log_level[16];                    /* "error" "warn" "info" "debug"; default info */

	/* signal { } : XMPP signalling and membership (docs/signalling.md) */
	bool signal_enabled;                   /* the group is present */
	char sig_jid[IPOP_CFG_JID_LEN];        /* user@domain[/resource]; required */
	char sig_password[IPOP_CFG_JID_LEN];   /* required */
	char sig_server[IPOP_CFG_JID_LEN];     /* address or host; default: the JID's domain */
	uint16_t sig_port;                     /* default 5222 */
	bool sig_tls;                          /* default true (STARTTLS required) */
	bool sig_tls_trust;                    /* default false; true accepts any certificate */
	unsigned sig_offline_grace_s;          /* member offline this long: links torn down; 10 */
	unsigned sig_link_timeout_s;           /* negotiation/handshake limit per attempt; 20 */
	/* The overlay trust anchor (docs/signalling.md, "Trust"): with ca, members
	 * are accepted only with a certificate signed by it. */
	bool sig_has_ca;
	uint8_t sig_ca[32];                    /* ca = "<base64 Ed25519 public key>" */
	char sig_certificate[IPOP_CFG_PATH_LEN];   /* certificate = "/path" (required with ca) */
	char sig_revocations[IPOP_CFG_PATH_LEN];   /* revocations = "/path" ("" none) */
	char sig_bindings_file[IPOP_CFG_PATH_LEN]; /* bindings_file = "/path" ("" none; no ca) */

	/* ice { } : NAT traversal servers for signalled links; only with signal { }.
	 * The links' ICE agents take ports wan_port + 1 .. + IPOP_CFG_ICE_PORTS. */
#define IPOP_CFG_ICE_PORTS 64
	bool ice_enabled;                      /* the group is present */
	struct in_addr ice_stun_ip;            /* stun = "A.B.C.D:PORT"; 0 = none */
	uint16_t ice_stun_port;
	struct in_addr ice_turn_ip;            /* turn = "A.B.C.D:PORT" (UDP); 0 = none */
	uint16_t ice_turn_port;
	char ice_turn_user[IPOP_CFG_JID_LEN];  /* required with turn */
	char ice_turn_password[IPOP_CFG_JID_LEN];

	/* topology { } : which members to link to; only with signal { } */
	int topo_policy;                       /* enum ipop_topo_policy; default symphony */
	unsigned topo_successors;              /* s; default 2, 1..8 */
	unsigned topo_long_links;              /* k; default 0 = round(log2 n_est), 0..32 */
	unsigned topo_max_incoming;            /* incoming long links accepted; 0 = 2k */
	unsigned topo_ondemand_kib;            /* transit KiB in a window for an on-demand link; 10240, 0 = off */
	unsigned topo_ondemand_window_s;       /* 30 */
	unsigned topo_ondemand_idle_s;         /* an on-demand link idle this long goes; 60 */
	unsigned topo_ondemand_max;            /* on-demand links at most (each direction); 4 */
	unsigned topo_n_static;
	char topo_static[IPOP_CFG_MAX_STATIC][IPOP_CFG_JID_LEN]; /* bare JIDs, user@domain */

	/* peers = ( { ... }, ... ) : static peers */
	unsigned n_peers;
	struct ipop_cfg_peer peers[IPOP_CFG_MAX_PEERS];
};

/* Parse and validate FILE into *cfg (which it initialises). On error returns a
 * negative errno and writes one line "FILE:LINE: setting: problem" into err. */
int ipop_cfg_load(struct ipop_cfg *cfg, const char *file, char *err, size_t errlen);

/* Same, from a string (for tests); name is used in messages in place of a file. */
int ipop_cfg_load_string(struct ipop_cfg *cfg, const char *text, const char *name,
			 char *err, size_t errlen);

/* Whether idle workers should wait in epoll (dpdk.idle_wait): as set, or for
 * "auto" on in light mode (the EAL runs with --no-huge) and in endpoint mode
 * (host.enabled), off otherwise. */
bool ipop_cfg_idle_wait(const struct ipop_cfg *cfg);

/* Free what ipop_cfg_load allocated (eal_argv). Safe on a zeroed struct. */
void ipop_cfg_free(struct ipop_cfg *cfg);

#endif
