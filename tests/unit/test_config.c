/* test_config.c - ipopd's configuration: a full file parsed field by field, the
 * defaults, and a table of broken files whose errors must name the file, the
 * line and the setting. Uses a private temporary directory it removes. */
#include "tests/unit/check.h"
#include "control/config/config.h"
#include "control/config/identity.h"
#include "dataplane/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* RFC 7748 section 6.1 public keys of Alice and Bob. */
#define K1 "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define K2 "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
static const uint8_t k1_bytes[32] = {
	0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e,
	0xf7, 0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e,
	0xaa, 0x9b, 0x4e, 0x6a,
};
static const uint8_t k2_bytes[32] = {
	0xde, 0x9e, 0xdb, 0x7d, 0x7b, 0x7d, 0xc1, 0xb4, 0xd3, 0x5b, 0x61, 0xc2, 0xec, 0xe4,
	0x35, 0x37, 0x3f, 0x83, 0x43, 0xc8, 0x5b, 0x78, 0x67, 0x4d, 0xad, 0xfc, 0x7e, 0x14,
	0x6f, 0x88, 0x2b, 0x4f,
};

/* The smallest valid file: one line each, so line numbers in the table below
 * are easy to read: NODE is line 1, WAN line 2, the case's own text line 3. */
#define NODE "node = { overlay = \"lab\"; key_file = \"/k\"; };\n"
#define WAN "wan = { device = \"net_null0\"; address = \"10.1.0.2/24\"; };\n"
#define WANX(x) "wan = { device = \"net_null0\"; address = \"10.1.0.2/24\"; " x " };\n"
#define WANA(a) "wan = { device = \"net_null0\"; address = \"" a "\"; };\n"
#define PEER1(x) "peers = ( { public_key = \"" K1 "\"; " x " } );\n"
/* topology needs signal: SIG is line 3, a one-line TOPO line 4. */
#define SIG "signal = { jid = \"gw-1@example.org/ipop\"; password = \"pw\"; };\n"
#define TOPO(x) "topology = { " x " };\n"

static struct ipop_cfg cfg;   /* large (the peer table): keep it off the stack */
static char dir[64];

static uint32_t ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return 0xdeadbeef;
	return a.s_addr;
}

static const char full_conf[] =
	"# every setting, none at its default\n"
	"node = {\n"
	"  name = \"gw-1\";\n"
	"  overlay = \"lab.overlay\";\n"
	"  key_file = \"/etc/ipop/gw-1.key\";\n"
	"  cipher = \"chacha20-poly1305\";\n"
	"};\n"
	"dpdk = {\n"
	"  eal = [ \"--no-pci\", \"--no-huge\", \"-m\", \"256\", \"--vdev=net_null9\" ];\n"
	"  workers = 2;\n"
	"  mbufs = 16383;\n"
	"  idle_sleep_max_us = 0;\n"
	"  idle_sleep_recent_us = 20;\n"
	"  idle_wait = false;\n"
	"  aead_code_path = \"compact\";\n"
	"};\n"
	"lan = { device = \"net_af_packet0,iface=veth-lan\"; };\n"
	"wan = {\n"
	"  device = \"net_af_packet1,iface=veth-wan\";\n"
	"  address = \"192.0.2.10/24\";\n"
	"  gateway = \"192.0.2.1\";\n"
	"  port = 5900;\n"
	"  mtu = 9000;\n"
	"  tap = \"gw1-wan\";\n"
	"};\n"
	"host = { enabled = true; tap = \"gw1-host\"; address = \"10.254.0.1/16\"; };\n"
	"timers = {\n"
	"  keepalive = 5; dead_after = 20;\n"
	"  rekey_after = 100; reject_after = 150;\n"
	"  rekey_after_packets = 1099511627776L;\n"
	"  handshake_retry_ms = 250;\n"
	"};\n"
	"control = { api_socket = \"/tmp/ipop-gw1.sock\"; log_level = \"debug\"; };\n"
	"peers = (\n"
	"  { name = \"gw-2\"; public_key = \"" K1 "\"; endpoint = \"198.51.100.7:5800\"; },\n"
	"  { public_key = \"" K2 "\"; }\n"
	");\n";

static void test_full(void)
{
	static const char *const eal[] = { "ipopd", "--no-pci", "--no-huge", "-m", "256",
					   "--vdev=net_null9" };
	char err[IPOP_CFG_ERR_LEN] = "";
	int i;

	CHECK(ipop_cfg_load_string(&cfg, full_conf, "full.conf", err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "full.conf: %s\n", err);
	CHECK(strcmp(cfg.path, "full.conf") == 0);
	CHECK(strcmp(cfg.node_name, "gw-1") == 0);
	CHECK(strcmp(cfg.overlay, "lab.overlay") == 0);
	CHECK(strcmp(cfg.key_file, "/etc/ipop/gw-1.key") == 0);
	CHECK(cfg.cipher == IPOP_CIPHER_CHACHA20POLY1305);
	CHECK(cfg.eal_argc == 6);
	for (i = 0; i < 6 && i < cfg.eal_argc; i++)
		CHECK(strcmp(cfg.eal_argv[i], eal[i]) == 0);
	CHECK(cfg.eal_argv[6] == NULL);
	CHECK(cfg.workers == 2);
	CHECK(cfg.mbufs == 16383);
	CHECK(cfg.idle_sleep_max_us == 0);
	CHECK(cfg.idle_sleep_recent_us == 20);
	CHECK(cfg.idle_wait == IPOP_IDLE_WAIT_OFF);
	CHECK(!ipop_cfg_idle_wait(&cfg));   /* off although the EAL has --no-huge */
	CHECK(strcmp(cfg.aead_code_path, "compact") == 0);
	CHECK(cfg.lan_enabled);
	CHECK(strcmp(cfg.lan.device, "net_af_packet0,iface=veth-lan") == 0);
	CHECK(strcmp(cfg.wan.device, "net_af_packet1,iface=veth-wan") == 0);
	CHECK(cfg.wan_addr.s_addr == ip("192.0.2.10"));
	CHECK(cfg.wan_prefix == 24);
	CHECK(cfg.wan_gateway.s_addr == ip("192.0.2.1"));
	CHECK(cfg.wan_port == 5900);
	CHECK(cfg.wan_mtu == 9000);
	CHECK(strcmp(cfg.wan_tap, "gw1-wan") == 0);
	CHECK(cfg.host_enabled);
	CHECK(strcmp(cfg.host_tap, "gw1-host") == 0);
	CHECK(cfg.host_addr.s_addr == ip("10.254.0.1"));
	CHECK(cfg.host_prefix == 16);
	CHECK(cfg.keepalive_s == 5);
	CHECK(cfg.dead_after_s == 20);
	CHECK(cfg.rekey_after_s == 100);
	CHECK(cfg.reject_after_s == 150);
	CHECK(cfg.rekey_after_packets == (1ull << 40));
	CHECK(cfg.handshake_retry_ms == 250);
	CHECK(strcmp(cfg.api_socket, "/tmp/ipop-gw1.sock") == 0);
	CHECK(strcmp(cfg.log_level, "debug") == 0);
	CHECK(cfg.n_peers == 2);
	CHECK(strcmp(cfg.peers[0].name, "gw-2") == 0);
	CHECK(memcmp(cfg.peers[0].public_key, k1_bytes, 32) == 0);
	CHECK(cfg.peers[0].endpoint_ip.s_addr == ip("198.51.100.7"));
	CHECK(cfg.peers[0].endpoint_port == 5800);
	CHECK(cfg.peers[1].name[0] == '\0');
	CHECK(memcmp(cfg.peers[1].public_key, k2_bytes, 32) == 0);
	CHECK(cfg.peers[1].endpoint_ip.s_addr == 0);
	CHECK(cfg.peers[1].endpoint_port == 0);
	ipop_cfg_free(&cfg);
	CHECK(cfg.eal_argc == 0 && cfg.eal_argv[0] == NULL);
	ipop_cfg_free(&cfg);                    /* twice is harmless */
}

static void test_defaults(void)
{
	char err[IPOP_CFG_ERR_LEN] = "", host[256] = "", sock[300];

	CHECK(gethostname(host, sizeof(host)) == 0);
	snprintf(sock, sizeof(sock), "/run/ipop/%s.sock", host);
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN, "min.conf", err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "min.conf: %s\n", err);
	CHECK(strcmp(cfg.node_name, host) == 0);
	CHECK(strcmp(cfg.overlay, "lab") == 0);
	CHECK(strcmp(cfg.key_file, "/k") == 0);
	CHECK(cfg.cipher == IPOP_CIPHER_AES256GCM);
	CHECK(cfg.eal_argc == 1 && strcmp(cfg.eal_argv[0], "ipopd") == 0);
	CHECK(cfg.eal_argv[1] == NULL);
	CHECK(cfg.workers == 1);
	CHECK(cfg.mbufs == 8191);
	CHECK(cfg.idle_sleep_max_us == 1000);
	CHECK(cfg.idle_sleep_recent_us == 100);
	CHECK(cfg.idle_wait == IPOP_IDLE_WAIT_AUTO);
	CHECK(!ipop_cfg_idle_wait(&cfg));   /* neither light nor endpoint mode */
	CHECK(strcmp(cfg.aead_code_path, "auto") == 0);
	CHECK(!cfg.lan_enabled);
	CHECK(cfg.lan.device[0] == '\0');
	CHECK(strcmp(cfg.wan.device, "net_null0") == 0);
	CHECK(cfg.wan_addr.s_addr == ip("10.1.0.2") && cfg.wan_prefix == 24);
	CHECK(cfg.wan_gateway.s_addr == 0);
	CHECK(cfg.wan_port == 5800);
	CHECK(cfg.wan_mtu == 1500);
	CHECK(strcmp(cfg.wan_tap, "ipop-wan") == 0);
	CHECK(!cfg.host_enabled);
	CHECK(strcmp(cfg.host_tap, "ipop0") == 0);
	CHECK(cfg.host_offload);   /* the virtio-net TAP unless told otherwise */
	CHECK(cfg.host_addr.s_addr == 0 && cfg.host_prefix == 0);
	CHECK(cfg.keepalive_s == 10);
	CHECK(cfg.dead_after_s == 30);
	CHECK(cfg.rekey_after_s == 120);
	CHECK(cfg.rekey_after_packets == (1ull << 60));
	CHECK(cfg.reject_after_s == 180);
	CHECK(cfg.handshake_retry_ms == 1000);
	CHECK(strcmp(cfg.api_socket, sock) == 0);
	CHECK(strcmp(cfg.log_level, "info") == 0);
	CHECK(!cfg.signal_enabled);
	CHECK(cfg.topo_policy == IPOP_TOPO_POLICY_SYMPHONY);
	CHECK(cfg.topo_successors == 2 && cfg.topo_long_links == 0);
	CHECK(cfg.topo_max_incoming == 0 && cfg.topo_n_static == 0);
	CHECK(cfg.n_peers == 0);
	ipop_cfg_free(&cfg);

	/* other spellings that are fine: eal as a ( ) list, an empty peer list,
	 * /31 and /32 addresses, a 64-bit literal where 32 bits would do */
	CHECK(ipop_cfg_load_string(&cfg, NODE WANA("10.1.0.0/31")
				   "/* 99999999999 in a comment, */ # and 5000000000 here\n"
				   "dpdk = { eal = ( \"--no-pci\", \"--x=5000000000\" ); workers = 3L; };\n"
				   "host = { address = \"10.9.9.9/32\"; };\n"
				   "peers = [ ];\n", "alt.conf", err, sizeof(err)) == 0);
	CHECK(cfg.eal_argc == 3 && strcmp(cfg.eal_argv[1], "--no-pci") == 0);
	CHECK(cfg.eal_argc == 3 && strcmp(cfg.eal_argv[2], "--x=5000000000") == 0);
	CHECK(cfg.workers == 3);
	CHECK(cfg.wan_prefix == 31 && cfg.host_prefix == 32 && cfg.n_peers == 0);
	ipop_cfg_free(&cfg);
}

struct bad_case {
	const char *text;
	unsigned line;          /* 0: the problem has no line (a missing group) */
	const char *path;       /* NULL: libconfig's own syntax errors name none */
	const char *problem;    /* a fragment of the message */
};

static const struct bad_case bad_cases[] = {
	/* libconfig's syntax errors */
	{ NODE "wan = { device = \"x\";\n address = ; };\n", 3, NULL, "syntax error" },
	{ "node = { overlay = \"a\";\n overlay = \"b\"; key_file = \"/k\"; };\n" WAN, 2, NULL,
	  "duplicate setting name" },
	/* unknown settings at every level */
	{ NODE WAN "nodes = { };\n", 3, "nodes", "unknown setting" },
	{ NODE WAN "workers = 2;\n", 3, "workers", "unknown setting" },
	{ "node = { overlay = \"lab\"; key_file = \"/k\";\n ciphr = \"aes-256-gcm\"; };\n" WAN,
	  2, "node.ciphr", "unknown setting (known here: name, overlay, key_file, cipher)" },
	{ NODE WANX("gatway = \"10.1.0.1\";"), 2, "wan.gatway", "unknown setting" },
	{ NODE WAN "peers = (\n { public_key = \"" K1 "\"; endpont = \"192.0.2.1:5800\"; }\n);\n",
	  4, "peers[0].endpont", "unknown setting" },
	/* missing required settings */
	{ WAN, 0, "node", "missing required group" },
	{ NODE, 0, "wan", "missing required group" },
	{ "node = {\n key_file = \"/k\"; };\n" WAN, 1, "node.overlay", "missing required" },
	{ "node = {\n overlay = \"lab\"; };\n" WAN, 1, "node.key_file", "missing required" },
	{ NODE "wan = { address = \"10.1.0.2/24\"; };\n", 2, "wan.device", "missing required" },
	{ NODE "wan = { device = \"net_null0\"; };\n", 2, "wan.address", "missing required" },
	{ NODE WAN "lan = { };\n", 3, "lan.device", "missing required" },
	{ NODE WAN "peers = (\n { name = \"a\"; }\n);\n", 4, "peers[0].public_key",
	  "missing required" },
	/* wrong types */
	{ "node = \"x\";\n" WAN, 1, "node", "expected a group" },
	{ NODE WAN "lan = \"net_null1\";\n", 3, "lan", "expected a group" },
	{ "node = { overlay = 5; key_file = \"/k\"; };\n" WAN, 1, "node.overlay",
	  "expected a string, got an integer" },
	{ NODE WAN "dpdk = {\n workers = \"2\"; };\n", 4, "dpdk.workers",
	  "expected an integer, got a string" },
	{ NODE WAN "dpdk = { mbufs = 8191.0; };\n", 3, "dpdk.mbufs", "got a float" },
	{ NODE WAN "host = { enabled = 1; };\n", 3, "host.enabled", "expected true or false" },
	{ NODE WAN "host = { enabled = true; offload = \"yes\"; };\n", 3, "host.offload", "expected true or false" },
	{ NODE WAN "dpdk = { eal = \"--no-pci\"; };\n", 3, "dpdk.eal",
	  "expected a list of strings" },
	{ NODE WAN "dpdk = { eal = ( \"--no-pci\", 5 ); };\n", 3, "dpdk.eal[1]",
	  "expected a string, got an integer" },
	{ NODE WAN "peers = { };\n", 3, "peers", "expected a list" },
	{ NODE WAN "peers = ( \"x\" );\n", 3, "peers[0]", "expected a group" },
	{ NODE WAN "peers = (\n { public_key = 7; }\n);\n", 4, "peers[0].public_key",
	  "expected a string" },
	/* numbers out of range */
	{ NODE WAN "dpdk = { workers = 0; };\n", 3, "dpdk.workers", "between 1 and 16 (got 0)" },
	{ NODE WAN "dpdk = { workers = 17; };\n", 3, "dpdk.workers", "(got 17)" },
	{ NODE WAN "dpdk = { mbufs = 1000; };\n", 3, "dpdk.mbufs", "between 1023 and" },
	{ NODE WAN "dpdk = { idle_sleep_max_us = -1; };\n", 3, "dpdk.idle_sleep_max_us",
	  "between 0 and 1000000" },
	{ NODE WAN "dpdk = { idle_sleep_recent_us = 1000001; };\n", 3, "dpdk.idle_sleep_recent_us",
	  "between 0 and 1000000 (got 1000001)" },
	{ NODE WAN "dpdk = { idle_wait = 1; };\n", 3, "dpdk.idle_wait",
	  "expected true, false or \"auto\", got an integer" },
	{ NODE WAN "dpdk = { idle_wait = \"yes\"; };\n", 3, "dpdk.idle_wait",
	  "expected true, false or \"auto\", got \"yes\"" },
	{ NODE WAN "dpdk = { aead_code_path = \"avx1024\"; };\n", 3, "dpdk.aead_code_path",
	  "unknown IPsec-MB code path \"avx1024\" (known: auto, compact, sse, avx, avx2, avx512)" },
	{ NODE WAN "dpdk = { aead_code_path = 2; };\n", 3, "dpdk.aead_code_path",
	  "expected a string" },
	{ NODE WAN "dpdk = {\n aead_code_path = \"avx512-vaes-gfni\"; };\n", 4,
	  "dpdk.aead_code_path", "\"avx512-vaes-gfni\" (known: auto, compact," },
	{ NODE WAN "dpdk = { aead_code_path = \"\"; };\n", 3, "dpdk.aead_code_path",
	  "unknown IPsec-MB code path \"\" (known:" },
	{ NODE WAN "dpdk = { aead_code_path = \"AVX2\"; };\n", 3, "dpdk.aead_code_path",
	  "unknown IPsec-MB code path \"AVX2\"" },
	{ NODE WANX("port = 0;"), 2, "wan.port", "between 1 and 65535 (got 0)" },
	{ NODE WANX("port = 65536;"), 2, "wan.port", "(got 65536)" },
	{ NODE WANX("mtu = 1279;"), 2, "wan.mtu", "between 1280 and 9000" },
	{ NODE WANX("mtu = 9001;"), 2, "wan.mtu", "(got 9001)" },
	{ NODE WAN "timers = { keepalive = 0; };\n", 3, "timers.keepalive", "between 1 and 86400" },
	{ NODE WAN "timers = {\n handshake_retry_ms = 60001; };\n", 4,
	  "timers.handshake_retry_ms", "between 1 and 60000" },
	{ NODE WAN "timers = {\n rekey_after_packets = 0L; };\n", 4,
	  "timers.rekey_after_packets", "between 1 and" },
	/* timer ordering */
	{ NODE WAN "timers = {\n keepalive = 30;\n dead_after = 30;\n};\n", 5,
	  "timers.dead_after", "greater than timers.keepalive (30)" },
	{ NODE WAN "timers = {\n keepalive = 40; };\n", 4, "timers.keepalive",
	  "less than timers.dead_after (30)" },
	{ NODE WAN "timers = {\n rekey_after = 200; };\n", 4, "timers.rekey_after",
	  "less than timers.reject_after (180)" },
	{ NODE WAN "timers = {\n reject_after = 100; };\n", 4, "timers.reject_after",
	  "greater than timers.rekey_after (120)" },
	/* integers libconfig would wrap */
	{ NODE WAN "timers = {\n rekey_after_packets = 1099511627776; };\n", 4,
	  "timers.rekey_after_packets", "does not fit in 32 bits" },
	{ NODE WAN "dpdk = { workers = 4294967297; };\n", 3, "dpdk.workers", "4294967297L" },
	{ NODE WAN "dpdk = { mbufs = 0xFFFFFFFF; };\n", 3, "dpdk.mbufs", "does not fit" },
	{ NODE WAN "dpdk = {\n eal = [ \"a\" ];\n workers\n =\n 99999999999999999999; };\n", 5,
	  "dpdk.workers", "does not fit in 64 bits" },
	{ NODE WAN "timers = { rekey_after_packets = 9223372036854775808L; };\n", 3,
	  "timers.rekey_after_packets", "does not fit in 64 bits" },
	{ NODE WAN "dpdk = { workers = 2; mbufs = 1023; eal = [ \"-n\", \"4\" ]; };\n"
	  "# a comment with 5000000000 in it is fine\n"
	  "timers = { rekey_after_packets = 8589934592; };\n", 5,
	  "timers.rekey_after_packets", "write 8589934592L" },
	/* addresses */
	{ NODE WANA("10.1.0.2/33"), 2, "wan.address", "prefix length must be between 1 and 32" },
	{ NODE WANA("10.1.0.2/0"), 2, "wan.address", "prefix length" },
	{ NODE WANA("10.1.0.2/"), 2, "wan.address", "prefix length" },
	{ NODE WANA("10.1.0.256/24"), 2, "wan.address", "expected A.B.C.D/N" },
	{ NODE WANA("10.1.0.2"), 2, "wan.address", "expected A.B.C.D/N" },
	{ NODE WANA("gw.example/24"), 2, "wan.address", "expected A.B.C.D/N" },
	{ NODE WANA("10.1.0.0/24"), 2, "wan.address", "network address" },
	{ NODE WANA("10.1.0.255/24"), 2, "wan.address", "broadcast address" },
	{ NODE WANA("224.0.0.5/24"), 2, "wan.address", "multicast" },
	{ NODE WANX("gateway = \"10.2.0.1\";"), 2, "wan.gateway", "not inside" },
	{ NODE WANX("gateway = \"10.1.0\";"), 2, "wan.gateway", "expected A.B.C.D" },
	{ NODE WANX("gateway = \"10.1.0.2\";"), 2, "wan.gateway", "wan.address itself" },
	{ NODE WAN "host = { address = \"10.9.0.1/40\"; };\n", 3, "host.address", "prefix length" },
	{ NODE WAN PEER1("endpoint = \"192.0.2.1:0\";"), 3, "peers[0].endpoint",
	  "port must be between 1 and 65535" },
	{ NODE WAN PEER1("endpoint = \"192.0.2.1\";"), 3, "peers[0].endpoint",
	  "expected A.B.C.D:PORT" },
	{ NODE WAN PEER1("endpoint = \"0.0.0.0:5800\";"), 3, "peers[0].endpoint", "unspecified" },
	/* keys */
	{ NODE WAN "peers = ( { public_key = \"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=\"; } );\n",
	  3, "peers[0].public_key", "not valid base64" },
	{ NODE WAN "peers = ( { public_key = \"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==\"; } );\n",
	  3, "peers[0].public_key", "not valid base64 of a 32-byte key" },
	{ NODE WAN "peers = ( { public_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"; } );\n",
	  3, "peers[0].public_key", "expected 44 base64 characters" },
	{ NODE WAN "peers = ( { public_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"; } );\n",
	  3, "peers[0].public_key", "small-order" },
	{ NODE WAN "peers = (\n { public_key = \"" K1 "\"; },\n { public_key = \"" K1 "\"; }\n);\n",
	  5, "peers[1].public_key", "same key as peers[0] (line 4)" },
	{ NODE WAN "peers = (\n { name = \"a\"; public_key = \"" K1 "\"; },\n"
	  " { name = \"a\"; public_key = \"" K2 "\"; }\n);\n", 5, "peers[1].name",
	  "same name as peers[0]" },
	/* strings: too long, bad characters, unknown words */
	{ "node = { name = \"" "0123456789012345678901234567890123456789012345678901234567890123"
	  "\"; overlay = \"lab\"; key_file = \"/k\"; };\n" WAN, 1, "node.name",
	  "too long (64 characters, at most 63)" },
	{ "node = { overlay = \"lab\";\n key_file = \"/"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "012345678901234567890123456789012345678901234567890123456789012"
	  "\"; };\n" WAN, 2, "node.key_file", "too long (256 characters, at most 255)" },
	{ "node = { name = \"gw 1\"; overlay = \"lab\"; key_file = \"/k\"; };\n" WAN, 1,
	  "node.name", "use only letters" },
	{ "node = { overlay = \"\"; key_file = \"/k\"; };\n" WAN, 1, "node.overlay",
	  "must not be empty" },
	{ NODE WANX("tap = \"abcdefghijklmnop\";"), 2, "wan.tap", "at most 15 characters" },
	{ NODE "wan = { device = \"net_null0, size=64\"; address = \"10.1.0.2/24\"; };\n", 2,
	  "wan.device", "no spaces" },
	{ "node = { overlay = \"lab\"; key_file = \"/k\";\n cipher = \"aes-128-gcm\"; };\n" WAN,
	  2, "node.cipher", "unknown cipher \"aes-128-gcm\"" },
	{ NODE WAN "control = { log_level = \"verbose\"; };\n", 3, "control.log_level",
	  "unknown level" },
	{ NODE WAN "control = { api_socket = \"run/x.sock\"; };\n", 3, "control.api_socket",
	  "absolute path" },
	{ NODE WAN "control = { api_socket = \"/run/"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "012345678901234567890123456789012345678901234567890123456789.sock\"; };\n", 3,
	  "control.api_socket", "too long for a unix socket" },
	/* devices and EAL arguments ipopd manages */
	{ NODE WAN "dpdk = { eal = [ \"--no-pci\", \"--vdev=net_null0,size=64\" ]; };\n", 3,
	  "dpdk.eal[1]", "ipopd adds --vdev for wan.device" },
	{ NODE WAN "dpdk = { eal = ( \"--no-pci\", \"--vdev\", \"net_null0\" ); };\n", 3,
	  "dpdk.eal[2]", "ipopd adds --vdev for wan.device" },
	{ NODE WAN "lan = { device = \"net_tap0,iface=x\"; };\n"
	  "dpdk = { eal = [ \"--vdev=net_tap0\" ]; };\n", 4, "dpdk.eal[0]",
	  "ipopd adds --vdev for lan.device" },
	{ NODE WAN "dpdk = { eal = [ \"--no-pci\", \"--vdev\" ]; };\n", 3, "dpdk.eal[1]",
	  "--vdev needs a device spec" },
	{ NODE WAN "dpdk = {\n eal = [\n \"\",\n \"--no-pci\"\n ];\n};\n", 5, "dpdk.eal[0]",
	  "must not be empty" },
	{ NODE WAN "lan = { device = \"net_null0,size=64\"; };\n", 3, "lan.device",
	  "same device as wan.device" },
	{ NODE WAN "lan = { device = \"" IPOP_CFG_HOST_TAP_VDEV ",iface=x\"; };\n", 3,
	  "lan.device", "reserved for ipopd's own TAP ports" },
	{ NODE WAN "dpdk = { eal = [ \"--vdev\", \"" IPOP_CFG_WAN_TAP_VDEV "\" ]; };\n", 3,
	  "dpdk.eal[1]", "reserved for ipopd's own TAP ports" },
	{ NODE WAN "host = { enabled = true;\n tap = \"ipop-wan\"; };\n", 4, "host.tap",
	  "is also wan.tap" },
	/* signal.bindings_file */
	{ NODE WAN "signal = { jid = \"a@b\"; password = \"pw\";\n bindings_file = \"\"; };\n", 4,
	  "signal.bindings_file", "must not be empty" },
	{ NODE WAN "signal = { jid = \"a@b\"; password = \"pw\";\n"
	  " ca = \"ZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2U=\"; certificate = \"/c\";\n"
	  " bindings_file = \"/b\"; };\n", 5, "signal.bindings_file", "has no meaning with ca" },
	/* ice { } */
	{ NODE WAN "ice = { };\n", 3, "ice", "needs a signal { } group: candidates travel in "
	  "the link stanzas" },
	{ NODE WAN SIG "ice = 1;\n", 4, "ice", "expected a group" },
	{ NODE "wan = { device = \"net_null0\"; address = \"10.1.0.2/24\"; port = 65472; };\n"
	  SIG "ice = { };\n", 4, "ice", "wan.port 65472 leaves no room for the ICE agents' ports "
	  "(wan.port + 1 .. + 64): wan.port must be at most 65471" },
	{ NODE WAN SIG "ice = {\n stun_server = \"10.9.0.1:3478\"; };\n", 5, "ice.stun_server",
	  "unknown setting (known here: stun, turn, turn_user, turn_password)" },
	{ NODE WAN SIG "ice = { stun = \"10.9.0.1\"; };\n", 4, "ice.stun",
	  "expected A.B.C.D:PORT, got \"10.9.0.1\"" },
	{ NODE WAN SIG "ice = { stun = \"stun.example.org:3478\"; };\n", 4, "ice.stun",
	  "expected A.B.C.D:PORT" },
	{ NODE WAN SIG "ice = { stun = \"10.9.0.1:0\"; };\n", 4, "ice.stun",
	  "port must be between 1 and 65535" },
	{ NODE WAN SIG "ice = { turn = \"224.0.0.1:3478\"; turn_user = \"u\"; "
	  "turn_password = \"p\"; };\n", 4, "ice.turn", "224.0.0.1:3478" },
	{ NODE WAN SIG "ice = {\n turn = \"10.9.0.1:3478\";\n turn_password = \"p\"; };\n", 4,
	  "ice.turn_user", "missing required setting (turn needs credentials)" },
	{ NODE WAN SIG "ice = { turn = \"10.9.0.1:3478\"; turn_user = \"u\"; };\n", 4,
	  "ice.turn_password", "missing required setting (turn needs credentials)" },
	{ NODE WAN SIG "ice = { turn = \"10.9.0.1:3478\"; turn_user = \"\"; "
	  "turn_password = \"p\"; };\n", 4, "ice.turn_user", "must not be empty" },
	{ NODE WAN SIG "ice = {\n stun = \"10.9.0.1:3478\";\n turn_user = \"u\"; };\n", 6,
	  "ice.turn_user", "has no meaning without turn" },
	{ NODE WAN SIG "ice = { turn = \"10.9.0.1:3478\"; turn_user = 5; "
	  "turn_password = \"p\"; };\n", 4, "ice.turn_user", "expected a string, got an integer" },
	/* topology { } */
	{ NODE WAN "topology = { };\n", 3, "topology",
	  "needs a signal { } group: links are chosen among the members signalling finds" },
	{ NODE WAN "topology = {\n policy = \"symphony\"; };\n" PEER1(""), 3, "topology",
	  "needs a signal { } group" },
	{ NODE WAN SIG "topology = 5;\n", 4, "topology", "expected a group" },
	{ NODE WAN SIG "topology = {\n k = 3; };\n", 5, "topology.k",
	  "unknown setting (known here: policy, successors, long_links, max_incoming, static, "
	  "ondemand_kib, ondemand_window, ondemand_idle, ondemand_max)" },
	{ NODE WAN SIG TOPO("ondemand_window = 0;"), 4, "topology.ondemand_window",
	  "must be between 1 and 3600 (got 0)" },
	{ NODE WAN SIG TOPO("ondemand_max = 17;"), 4, "topology.ondemand_max",
	  "must be between 0 and 16 (got 17)" },
	{ NODE WAN SIG TOPO("ondemand_kib = -1;"), 4, "topology.ondemand_kib",
	  "must be between 0 and 4194304 (got -1)" },
	{ NODE WAN SIG "topology = { policy = \"all-to-all\";\n ondemand_kib = 100; };\n", 5,
	  "topology.ondemand_kib", "has no meaning with policy = \"all-to-all\"" },
	{ NODE WAN SIG TOPO("policy = \"chord\";"), 4, "topology.policy",
	  "unknown policy \"chord\" (known: symphony, all-to-all)" },
	{ NODE WAN SIG TOPO("policy = \"alltoall\";"), 4, "topology.policy",
	  "unknown policy \"alltoall\"" },
	{ NODE WAN SIG TOPO("policy = \"Symphony\";"), 4, "topology.policy", "unknown policy" },
	{ NODE WAN SIG TOPO("policy = 1;"), 4, "topology.policy",
	  "expected a string, got an integer" },
	{ NODE WAN SIG TOPO("successors = 0;"), 4, "topology.successors",
	  "must be between 1 and 8 (got 0)" },
	{ NODE WAN SIG TOPO("successors = 9;"), 4, "topology.successors", "(got 9)" },
	{ NODE WAN SIG TOPO("successors = \"2\";"), 4, "topology.successors",
	  "expected an integer, got a string" },
	{ NODE WAN SIG TOPO("long_links = 33;"), 4, "topology.long_links",
	  "must be between 0 and 32 (got 33)" },
	{ NODE WAN SIG TOPO("long_links = -1;"), 4, "topology.long_links", "(got -1)" },
	{ NODE WAN SIG TOPO("max_incoming = 65;"), 4, "topology.max_incoming",
	  "must be between 0 and 64 (got 65)" },
	{ NODE WAN SIG "topology = {\n long_links = 8;\n max_incoming = 7; };\n", 6,
	  "topology.max_incoming", "must be 0 or at least topology.long_links (8)" },
	{ NODE WAN SIG "topology = {\n policy = \"all-to-all\";\n successors = 2; };\n", 6,
	  "topology.successors", "has no meaning with policy = \"all-to-all\"" },
	{ NODE WAN SIG "topology = {\n long_links = 0;\n policy = \"all-to-all\"; };\n", 5,
	  "topology.long_links", "has no meaning with policy = \"all-to-all\"" },
	{ NODE WAN SIG TOPO("policy = \"all-to-all\"; max_incoming = 4;"), 4,
	  "topology.max_incoming", "has no meaning" },
	{ NODE WAN SIG TOPO("policy = \"all-to-all\"; static = [ ];"), 4, "topology.static",
	  "has no meaning" },
	{ NODE WAN SIG TOPO("static = \"gw-7@example.org\";"), 4, "topology.static",
	  "expected a list of JIDs [ \"user@domain\", ... ], got a string" },
	{ NODE WAN SIG TOPO("static = { a = \"gw-7@example.org\"; };"), 4, "topology.static",
	  "expected a list of JIDs" },
	{ NODE WAN SIG TOPO("static = ( \"gw-7@example.org\", 5 );"), 4, "topology.static[1]",
	  "expected a string, got an integer" },
	{ NODE WAN SIG TOPO("static = [ \"\" ];"), 4, "topology.static[0]", "must not be empty" },
	{ NODE WAN SIG TOPO("static = [ \"gw-7\" ];"), 4, "topology.static[0]",
	  "\"gw-7\": expected a bare JID user@domain" },
	{ NODE WAN SIG TOPO("static = [ \"@example.org\" ];"), 4, "topology.static[0]",
	  "expected a bare JID" },
	{ NODE WAN SIG TOPO("static = [ \"gw-7@\" ];"), 4, "topology.static[0]",
	  "expected a bare JID" },
	{ NODE WAN SIG TOPO("static = [ \"gw 7@example.org\" ];"), 4, "topology.static[0]",
	  "expected a bare JID" },
	{ NODE WAN SIG TOPO("static = [ \"gw-7@example.org/ipop\" ];"), 4, "topology.static[0]",
	  "\"gw-7@example.org/ipop\": a member is named by its bare JID user@domain, "
	  "without a /resource" },
	{ NODE WAN SIG TOPO("static = [ \"gw-7@example.org/\" ];"), 4, "topology.static[0]",
	  "expected a bare JID" },
	{ NODE WAN SIG TOPO("static = [ \"gw-1@example.org\" ];"), 4, "topology.static[0]",
	  "\"gw-1@example.org\" is this node's own signal.jid" },
	{ NODE WAN SIG TOPO("static = [ \"GW-1@Example.ORG\" ];"), 4, "topology.static[0]",
	  "is this node's own signal.jid" },
	{ NODE WAN SIG "topology = { static = [\n \"gw-7@example.org\",\n \"gw-9@example.org\",\n"
	  " \"Gw-7@example.org\" ]; };\n", 7, "topology.static[2]",
	  "same JID as topology.static[0] (line 5)" },
	{ NODE WAN SIG TOPO("static = [ \"gw-7@example.org\", \"gw-7@example.org\" ];"), 4,
	  "topology.static[1]", "same JID as topology.static[0] (line 4)" },
	{ NODE WAN SIG TOPO("static = [ \""
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901@example.org\" ];"), 4,
	  "topology.static[0]", "too long (256 characters, at most 255)" },
};

/* The error must be one line starting "NAME:LINE: PATH: " and mention PROBLEM. */
static bool error_matches(const char *err, const char *name, const struct bad_case *bc)
{
	char prefix[256];

	if (bc->line == 0)
		snprintf(prefix, sizeof(prefix), "%s: %s: ", name, bc->path);
	else if (bc->path == NULL)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", name, bc->line);
	else
		snprintf(prefix, sizeof(prefix), "%s:%u: %s: ", name, bc->line, bc->path);
	return strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, bc->problem) != NULL &&
	       strchr(err, '\n') == NULL;
}

/* "auto" is on in light mode (--no-huge) and endpoint mode (host.enabled). */
static void test_idle_wait(void)
{
	static const struct { const char *text; bool on; } cases[] = {
		{ NODE WAN, false },
		{ NODE WAN "dpdk = { eal = [ \"--no-pci\", \"--no-huge\" ]; };\n", true },
		{ NODE WAN "dpdk = { eal = [ \"--no-pci\", \"--in-memory\" ]; };\n", false },
		{ NODE WAN "host = { enabled = true; };\n", true },
		{ NODE WAN "host = { enabled = true; };\ndpdk = { idle_wait = false; };\n", false },
		{ NODE WAN "dpdk = { idle_wait = true; };\n", true },
		{ NODE WAN "dpdk = { idle_wait = \"auto\"; eal = [ \"--no-huge\" ]; };\n", true },
	};
	char err[IPOP_CFG_ERR_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECK(ipop_cfg_load_string(&cfg, cases[i].text, "iw.conf", err, sizeof(err)) == 0);
		if (err[0] != '\0')
			fprintf(stderr, "idle_wait case %zu: %s\n", i, err);
		CHECK(ipop_cfg_idle_wait(&cfg) == cases[i].on);
		ipop_cfg_free(&cfg);
	}
}

static void test_broken(void)
{
	char err[IPOP_CFG_ERR_LEN];
	size_t i;
	bool ok;
	int rc;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		rc = ipop_cfg_load_string(&cfg, bad_cases[i].text, "bad.conf", err, sizeof(err));
		ok = rc == -EINVAL && error_matches(err, "bad.conf", &bad_cases[i]);
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  case %zu (line %u, %s): rc %d: %s\n", i, bad_cases[i].line,
				bad_cases[i].path ? bad_cases[i].path : "-", rc, err);
		CHECK(cfg.eal_argc == 0);       /* a failed load frees what it took */
	}
	printf("config: %zu broken configurations checked\n", i);
}

/* A file with N peers, keys from generated key pairs (or all the same key). */
static char *peers_text(unsigned n, bool same_key, uint8_t (*pubs)[32])
{
	size_t len = 256 + (size_t)n * 80, off;
	char *t = malloc(len), b64[IPOP_KEY_B64_LEN];
	uint8_t priv[32], pub[32];
	unsigned i;

	if (t == NULL)
		return NULL;
	off = (size_t)snprintf(t, len, NODE WAN "peers = (\n");
	for (i = 0; i < n; i++) {
		if (same_key)
			snprintf(b64, sizeof(b64), "%s", K1);
		else {
			CHECK(ipop_identity_generate(priv, pub) == 0);
			memcpy(pubs[i], pub, 32);
			ipop_key_to_base64(pub, b64);
		}
		off += (size_t)snprintf(t + off, len - off, "{ public_key = \"%s\"; }%s\n", b64,
					i + 1 < n ? "," : "");
	}
	snprintf(t + off, len - off, ");\n");
	return t;
}

static void test_peer_limit(void)
{
	static uint8_t pubs[IPOP_CFG_MAX_PEERS][32];
	char err[IPOP_CFG_ERR_LEN] = "";
	char *t = peers_text(IPOP_CFG_MAX_PEERS, false, pubs);
	unsigned i, same = 0;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(ipop_cfg_load_string(&cfg, t, "many.conf", err, sizeof(err)) == 0);
	CHECK(cfg.n_peers == IPOP_CFG_MAX_PEERS);
	for (i = 0; i < IPOP_CFG_MAX_PEERS; i++)
		same += memcmp(cfg.peers[i].public_key, pubs[i], 32) == 0;
	CHECK(same == IPOP_CFG_MAX_PEERS);
	ipop_cfg_free(&cfg);
	free(t);

	t = peers_text(IPOP_CFG_MAX_PEERS + 1, true, NULL);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(ipop_cfg_load_string(&cfg, t, "many.conf", err, sizeof(err)) == -EINVAL);
	CHECK(strcmp(err, "many.conf:3: peers: too many peers (1025, at most 1024)") == 0);
	free(t);
}

static void test_policy_names(void)
{
	CHECK(strcmp(ipop_topo_policy_name(IPOP_TOPO_POLICY_SYMPHONY), "symphony") == 0);
	CHECK(strcmp(ipop_topo_policy_name(IPOP_TOPO_POLICY_ALLTOALL), "all-to-all") == 0);
	CHECK(strcmp(ipop_topo_policy_name(IPOP_TOPO_NPOLICIES), "?") == 0);
	CHECK(ipop_topo_policy_parse("symphony") == IPOP_TOPO_POLICY_SYMPHONY);
	CHECK(ipop_topo_policy_parse("all-to-all") == IPOP_TOPO_POLICY_ALLTOALL);
	CHECK(ipop_topo_policy_parse("?") == -EINVAL);
	CHECK(ipop_topo_policy_parse("") == -EINVAL);
}

static void test_ice(void)
{
	char err[IPOP_CFG_ERR_LEN] = "";

	/* no group: no ICE; signalled links use wan.address as before */
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG, "ice.conf", err, sizeof(err)) == 0);
	CHECK(!cfg.ice_enabled && cfg.ice_stun_ip.s_addr == 0 && cfg.ice_turn_ip.s_addr == 0);
	ipop_cfg_free(&cfg);
	/* an empty group: host candidates only */
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG "ice = { };\n", "ice.conf", err,
				   sizeof(err)) == 0);
	CHECK(cfg.ice_enabled && cfg.ice_stun_ip.s_addr == 0 && cfg.ice_turn_ip.s_addr == 0);
	ipop_cfg_free(&cfg);
	/* every setting; the group may come before signal */
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN
				   "ice = {\n"
				   "  stun = \"10.9.0.1:3478\";\n"
				   "  turn = \"10.9.0.2:3479\";\n"
				   "  turn_user = \"ipop\";\n"
				   "  turn_password = \"s3cret\";\n"
				   "};\n" SIG, "ice.conf", err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "ice.conf: %s\n", err);
	CHECK(cfg.ice_enabled && cfg.ice_stun_ip.s_addr == ip("10.9.0.1") &&
	      cfg.ice_stun_port == 3478);
	CHECK(cfg.ice_turn_ip.s_addr == ip("10.9.0.2") && cfg.ice_turn_port == 3479);
	CHECK(strcmp(cfg.ice_turn_user, "ipop") == 0 && strcmp(cfg.ice_turn_password, "s3cret") == 0);
	ipop_cfg_free(&cfg);
}

static void test_topology(void)
{
	char err[IPOP_CFG_ERR_LEN] = "";

	/* every setting, none at its default */
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG
				   "topology = {\n"
				   "  policy = \"symphony\";\n"
				   "  successors = 3;\n"
				   "  long_links = 6;\n"
				   "  max_incoming = 6;\n"
				   "  static = [ \"gw-7@example.org\", \"gw-9@example.org\" ];\n"
				   "};\n", "topo.conf", err, sizeof(err)) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "topo.conf: %s\n", err);
	CHECK(cfg.signal_enabled && cfg.topo_policy == IPOP_TOPO_POLICY_SYMPHONY);
	CHECK(cfg.topo_successors == 3 && cfg.topo_long_links == 6);
	CHECK(cfg.topo_max_incoming == 6 && cfg.topo_n_static == 2);
	CHECK(strcmp(cfg.topo_static[0], "gw-7@example.org") == 0);
	CHECK(strcmp(cfg.topo_static[1], "gw-9@example.org") == 0);
	ipop_cfg_free(&cfg);

	/* an empty group, signal alone: the defaults */
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG TOPO(""), "topo.conf", err,
				   sizeof(err)) == 0);
	CHECK(cfg.topo_policy == IPOP_TOPO_POLICY_SYMPHONY && cfg.topo_successors == 2);
	CHECK(cfg.topo_long_links == 0 && cfg.topo_max_incoming == 0 && cfg.topo_n_static == 0);
	ipop_cfg_free(&cfg);
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG, "topo.conf", err, sizeof(err)) == 0);
	CHECK(cfg.topo_policy == IPOP_TOPO_POLICY_SYMPHONY && cfg.topo_successors == 2);
	ipop_cfg_free(&cfg);
	/* the order of the groups does not matter: topology may come first */
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN TOPO("successors = 4;") SIG, "topo.conf", err,
				   sizeof(err)) == 0);
	CHECK(cfg.signal_enabled && cfg.topo_successors == 4);
	ipop_cfg_free(&cfg);

	/* the ends of the ranges; a ( ) list; a static entry that only shares
	 * the user part with signal.jid; any cap when k is automatic */
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG
				   TOPO("successors = 1; long_links = 32; max_incoming = 64; "
					"static = ( \"gw-1@example.net\" );"),
				   "topo.conf", err, sizeof(err)) == 0);
	CHECK(cfg.topo_successors == 1 && cfg.topo_long_links == 32);
	CHECK(cfg.topo_max_incoming == 64 && cfg.topo_n_static == 1);
	CHECK(strcmp(cfg.topo_static[0], "gw-1@example.net") == 0);
	ipop_cfg_free(&cfg);
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG
				   TOPO("successors = 8; long_links = 0; max_incoming = 1; "
					"static = [ ];"), "topo.conf", err, sizeof(err)) == 0);
	CHECK(cfg.topo_successors == 8 && cfg.topo_max_incoming == 1 && cfg.topo_n_static == 0);
	ipop_cfg_free(&cfg);
	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG TOPO("long_links = 4; max_incoming = 4;"),
				   "topo.conf", err, sizeof(err)) == 0);
	ipop_cfg_free(&cfg);

	CHECK(ipop_cfg_load_string(&cfg, NODE WAN SIG TOPO("policy = \"all-to-all\";"),
				   "topo.conf", err, sizeof(err)) == 0);
	CHECK(cfg.topo_policy == IPOP_TOPO_POLICY_ALLTOALL && cfg.topo_n_static == 0);
	ipop_cfg_free(&cfg);
}

/* A topology group with N static JIDs gw-0@example.org .. */
static char *statics_text(unsigned n)
{
	size_t len = 512 + (size_t)n * 32, off;
	char *t = malloc(len);
	unsigned i;

	if (t == NULL)
		return NULL;
	off = (size_t)snprintf(t, len, NODE WAN SIG "topology = {\n static = [");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(t + off, len - off, "%s \"gw-%u@example.org\"",
					i ? "," : "", i + 2);
	snprintf(t + off, len - off, " ];\n};\n");
	return t;
}

static void test_static_limit(void)
{
	char err[IPOP_CFG_ERR_LEN] = "";
	char *t = statics_text(IPOP_CFG_MAX_STATIC);

	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(ipop_cfg_load_string(&cfg, t, "many.conf", err, sizeof(err)) == 0);
	CHECK(cfg.topo_n_static == IPOP_CFG_MAX_STATIC);
	CHECK(strcmp(cfg.topo_static[IPOP_CFG_MAX_STATIC - 1], "gw-33@example.org") == 0);
	ipop_cfg_free(&cfg);
	free(t);

	t = statics_text(IPOP_CFG_MAX_STATIC + 1);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(ipop_cfg_load_string(&cfg, t, "many.conf", err, sizeof(err)) == -EINVAL);
	CHECK(strcmp(err, "many.conf:5: topology.static: too many entries (33, at most 32)") == 0);
	if (strcmp(err, "many.conf:5: topology.static: too many entries (33, at most 32)") != 0)
		fprintf(stderr, "  static limit: %s\n", err);
	free(t);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Real files: ipop_cfg_load, @include next to the main file, and errors that
 * name the included file where the problem is. */
static void test_files(void)
{
	char main_path[128], err[IPOP_CFG_ERR_LEN] = "", want[256];
	char *big;
	size_t off;
	int i;

	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	/* 40 KB of comments first: the reader's buffer has to grow */
	big = malloc(48 * 1024);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	off = (size_t)snprintf(big, 1024, NODE WAN);
	for (i = 0; i < 1000; i++)
		off += (size_t)snprintf(big + off, 48 * 1024 - off, "# padding %30d\n", i);
	snprintf(big + off, 48 * 1024 - off, "dpdk = { workers = 0; };\n");
	write_file("main.conf", big);
	CHECK(ipop_cfg_load(&cfg, main_path, err, sizeof(err)) == -EINVAL);
	snprintf(want, sizeof(want), "%s:1003: dpdk.workers: ", main_path);
	CHECK(starts_with(err, want));
	snprintf(big + off, 48 * 1024 - off, "@include \"peers.conf\"\n");
	write_file("main.conf", big);
	free(big);
	write_file("peers.conf", "peers = (\n { name = \"b\"; public_key = \"" K2 "\";\n"
		   "   endpoint = \"192.0.2.9:5801\"; }\n);\n");
	CHECK(ipop_cfg_load(&cfg, main_path, err, sizeof(err)) == 0);
	CHECK(strcmp(cfg.path, main_path) == 0);
	CHECK(cfg.n_peers == 1 && strcmp(cfg.peers[0].name, "b") == 0);
	CHECK(memcmp(cfg.peers[0].public_key, k2_bytes, 32) == 0);
	CHECK(cfg.peers[0].endpoint_port == 5801);
	ipop_cfg_free(&cfg);
	write_file("main.conf", NODE WAN "@include \"peers.conf\"\n");

	write_file("peers.conf", "peers = (\n { public_key = \"" K2 "\";\n"
		   "   endpoint = \"192.0.2.9\"; }\n);\n");
	CHECK(ipop_cfg_load(&cfg, main_path, err, sizeof(err)) == -EINVAL);
	snprintf(want, sizeof(want), "%s/peers.conf:3: peers[0].endpoint: ", dir);
	CHECK(starts_with(err, want));

	write_file("peers.conf", "dpdk = {\n workers = 5000000000;\n};\n");
	CHECK(ipop_cfg_load(&cfg, main_path, err, sizeof(err)) == -EINVAL);
	snprintf(want, sizeof(want), "%s/peers.conf:2: dpdk.workers: integer 5000000000", dir);
	CHECK(starts_with(err, want));

	write_file("peers.conf", "peers = (\n { public_key = ; }\n);\n");
	CHECK(ipop_cfg_load(&cfg, main_path, err, sizeof(err)) == -EINVAL);
	snprintf(want, sizeof(want), "%s/peers.conf:2: ", dir);
	CHECK(starts_with(err, want) && strstr(err, "syntax error") != NULL);
	if (!starts_with(err, want))
		fprintf(stderr, "  include syntax error: %s\n", err);

	write_file("main.conf", NODE "wan = {\n");
	CHECK(ipop_cfg_load(&cfg, main_path, err, sizeof(err)) == -EINVAL);
	snprintf(want, sizeof(want), "%s:", main_path);
	CHECK(starts_with(err, want) && strstr(err, "syntax error") != NULL);

	snprintf(main_path, sizeof(main_path), "%s/none.conf", dir);
	CHECK(ipop_cfg_load(&cfg, main_path, err, sizeof(err)) == -ENOENT);
	CHECK(starts_with(err, main_path));

	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	CHECK(unlink(main_path) == 0);
	snprintf(main_path, sizeof(main_path), "%s/peers.conf", dir);
	CHECK(unlink(main_path) == 0);
}

/* The shipped examples (paths given by meson) must load, and keep DPDK off the
 * PCI bus as this project's machines require. */
static void test_examples(int argc, char **argv)
{
	char err[IPOP_CFG_ERR_LEN];
	bool no_pci;
	int i, k;

	for (i = 1; i < argc; i++) {
		err[0] = '\0';
		CHECK(ipop_cfg_load(&cfg, argv[i], err, sizeof(err)) == 0);
		if (err[0] != '\0')
			fprintf(stderr, "  %s\n", err);
		no_pci = false;
		for (k = 1; k < cfg.eal_argc; k++)
			no_pci = no_pci || strcmp(cfg.eal_argv[k], "--no-pci") == 0;
		CHECK(no_pci);
		CHECK(cfg.n_peers > 0);
		if (strstr(argv[i], "gateway") != NULL)
			CHECK(cfg.lan_enabled && !cfg.host_enabled);
		if (strstr(argv[i], "endpoint") != NULL)
			CHECK(!cfg.lan_enabled && cfg.host_enabled);
		ipop_cfg_free(&cfg);
	}
	printf("config: %d example file(s) loaded\n", argc - 1);
}

static void test_free_zeroed(void)
{
	struct ipop_cfg *z = calloc(1, sizeof(*z));

	CHECK(z != NULL);
	if (z == NULL)
		return;
	ipop_cfg_free(z);
	CHECK(z->eal_argc == 0);
	free(z);
}

int main(int argc, char **argv)
{
	snprintf(dir, sizeof(dir), "/tmp/ipop-test-config.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_full();
	test_defaults();
	test_idle_wait();
	test_broken();
	test_peer_limit();
	test_policy_names();
	test_ice();
	test_topology();
	test_static_limit();
	test_files();
	test_examples(argc, argv);
	test_free_zeroed();
	CHECK(rmdir(dir) == 0);
	return check_report("config");
}
