/* config.c - reads ipopd's libconfig file into struct ipop_cfg and validates it.
 *
 * Thread: control (start-up only). Every problem is reported as one line
 * "FILE:LINE: setting.path: problem" and stops the load: a gateway that starts
 * with a half-understood configuration is worse than one that refuses to start.
 * So unknown settings are errors (they are almost always typos), nothing is
 * truncated, and integers libconfig 1.5 would silently wrap are caught by a
 * small scan of the source text (see check_literals).
 */
#include "control/config/config.h"
#include "control/config/identity.h"
#include "dataplane/aead.h"
#include "dataplane/wire.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#define PATH_TEXT_LEN   192  /* longest setting path we print */
#define IFNAME_MAX      15   /* Linux IFNAMSIZ - 1 */
#define MAX_FILE_BYTES  (16u << 20)
#define SUN_PATH_MAX    (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
/* eal_argv keeps a NULL after the last argument, like a real argv. */
#define MAX_USER_EAL    (IPOP_CFG_MAX_EAL_ARGS - 2)

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct ctx {
	const char *name;      /* main source, for settings libconfig has no file for */
	const char *include_dir; /* where libconfig looks for @include files, or NULL */
	char *err;
	size_t errlen;
	config_t lc;
	struct ipop_cfg *cfg;
};

/* ---- error reporting ---- */

static const char *src_file(const struct ctx *c, const char *file)
{
	return file != NULL ? file : c->name;
}

/* "wan.address", "peers[3].endpoint", "dpdk.eal[0]" */
static void setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *p = config_setting_parent(s);
	size_t n;

	buf[0] = '\0';
	if (p == NULL)
		return;
	setting_path(p, buf, len);
	n = strlen(buf);
	if (config_setting_is_list(p) || config_setting_is_array(p))
		snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
	else
		snprintf(buf + n, len - n, "%s%s", n > 0 ? "." : "", config_setting_name(s));
}

static int vfail(struct ctx *c, const char *file, unsigned line, const char *path,
		 const char *fmt, va_list ap)
{
	char msg[IPOP_CFG_ERR_LEN];
	char where[32] = "";
	const char *dir = "";

	if (c->err == NULL || c->errlen == 0)
		return -EINVAL;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(where, sizeof(where), ":%u", line);
	/* libconfig names an included file as written; show where it really is. */
	if (file != NULL && file[0] != '/' && c->include_dir != NULL &&
	    strcmp(c->include_dir, ".") != 0)
		dir = c->include_dir;
	snprintf(c->err, c->errlen, "%s%s%s%s: %s%s%s", dir, dir[0] != '\0' ? "/" : "",
		 src_file(c, file), where, path, path[0] != '\0' ? ": " : "", msg);
	return -EINVAL;
}

static int fail_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char path[PATH_TEXT_LEN];
	va_list ap;
	int rc;

	setting_path(s, path, sizeof(path));
	va_start(ap, fmt);
	rc = vfail(c, config_setting_source_file(s), config_setting_source_line(s),
		   path, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_line(struct ctx *c, const char *file, unsigned line, const char *path,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail_line(struct ctx *c, const char *file, unsigned line, const char *path,
		     const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, file, line, path, fmt, ap);
	va_end(ap);
	return rc;
}

/* A required NAME is absent from PARENT: point at the parent's line, or at no
 * line when the parent is the file itself. */
static int fail_missing(struct ctx *c, const config_setting_t *parent, const char *name,
			const char *what)
{
	char path[PATH_TEXT_LEN];
	size_t n;

	setting_path(parent, path, sizeof(path));
	n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "%s%s", n > 0 ? "." : "", name);
	return fail_line(c, config_setting_source_file(parent),
			 config_setting_source_line(parent), path, "missing required %s", what);
}

static int fail_oom(struct ctx *c)
{
	fail_line(c, NULL, 0, "", "out of memory");
	return -ENOMEM;
}

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group { }";
	case CONFIG_TYPE_INT: return "an integer";
	case CONFIG_TYPE_INT64: return "a 64-bit integer";
	case CONFIG_TYPE_FLOAT: return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ]";
	case CONFIG_TYPE_LIST: return "a list ( )";
	default: return "nothing";
	}
}

/* ---- structure: groups and their known members ---- */

static config_setting_t *member(const config_setting_t *grp, const char *name)
{
	return grp != NULL ? config_setting_get_member(grp, name) : NULL;
}

static int check_known(struct ctx *c, const config_setting_t *grp,
		       const char *const *known, size_t n_known)
{
	char list[256] = "";
	config_setting_t *m;
	size_t i, k, len;
	bool ok;

	for (i = 0; (m = config_setting_get_elem(grp, (unsigned)i)) != NULL; i++) {
		ok = false;
		for (k = 0; k < n_known && !ok; k++)
			ok = strcmp(config_setting_name(m), known[k]) == 0;
		if (ok)
			continue;
		for (k = 0; k < n_known; k++) {
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s", k ? ", " : "", known[k]);
		}
		return fail_at(c, m, "unknown setting (known here: %s)", list);
	}
	return 0;
}

/* *out = the group NAME of ROOT, or NULL if absent; an error if not a group. */
static int get_group(struct ctx *c, const config_setting_t *root, const char *name,
		     const char *const *known, size_t n_known, config_setting_t **out)
{
	config_setting_t *g = member(root, name);

	*out = NULL;
	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return fail_at(c, g, "expected a group { ... }, got %s", type_name(g));
	*out = g;
	return check_known(c, g, known, n_known);
}

/* ---- scalar conversions: each is a no-op when the setting is absent ---- */

static int conv_int(struct ctx *c, const config_setting_t *s, long long min,
		    long long max, long long *out)
{
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail_at(c, s, "expected an integer, got %s", type_name(s));
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return fail_at(c, s, "must be between %lld and %lld (got %lld)", min, max, v);
	*out = v;
	return 0;
}

static int conv_uint(struct ctx *c, const config_setting_t *s, unsigned min,
		     unsigned max, unsigned *out)
{
	long long v = *out;
	int rc = conv_int(c, s, min, max, &v);

	*out = (unsigned)v;
	return rc;
}

static int conv_u16(struct ctx *c, const config_setting_t *s, unsigned min,
		    unsigned max, uint16_t *out)
{
	long long v = *out;
	int rc = conv_int(c, s, min, max, &v);

	*out = (uint16_t)v;
	return rc;
}

static int conv_bool(struct ctx *c, const config_setting_t *s, bool *out)
{
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail_at(c, s, "expected true or false, got %s", type_name(s));
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* A non-empty string that fits BUF whole. */
static int conv_str(struct ctx *c, const config_setting_t *s, char *buf, size_t size)
{
	const char *v;
	size_t n;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	v = config_setting_get_string(s);
	n = strlen(v);
	if (n == 0)
		return fail_at(c, s, "must not be empty");
	if (n >= size)
		return fail_at(c, s, "too long (%zu characters, at most %zu)", n, size - 1);
	memcpy(buf, v, n + 1);
	return 0;
}

static bool label_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v) && *v != '.' && *v != '_' && *v != '-')
			return false;
	return true;
}

/* Names that end up in paths, logs and signalling: letters, digits, . _ - */
static int conv_label(struct ctx *c, const config_setting_t *s, char *buf, size_t size)
{
	int rc = conv_str(c, s, buf, size);

	if (rc == 0 && s != NULL && !label_ok(buf))
		return fail_at(c, s, "\"%s\": use only letters, digits, '.', '_' and '-'", buf);
	return rc;
}

static int conv_ifname(struct ctx *c, const config_setting_t *s, char *buf, size_t size)
{
	int rc = conv_str(c, s, buf, size);

	if (rc != 0 || s == NULL)
		return rc;
	if (strlen(buf) > IFNAME_MAX)
		return fail_at(c, s, "\"%s\": an interface name has at most %d characters",
			       buf, IFNAME_MAX);
	if (!label_ok(buf))
		return fail_at(c, s, "\"%s\": use only letters, digits, '.', '_' and '-'", buf);
	return 0;
}

static bool has_space(const char *v)
{
	for (; *v != '\0'; v++)
		if (isspace((unsigned char)*v))
			return true;
	return false;
}

static bool is_vdev(const char *dev)
{
	return strncmp(dev, "net_", 4) == 0;
}

/* Same DPDK device: for vdevs the name before the first ',' decides. */
static bool same_device(const char *a, const char *b)
{
	size_t la = strcspn(a, ","), lb = strcspn(b, ",");

	if (!is_vdev(a) || !is_vdev(b))
		return strcmp(a, b) == 0;
	return la == lb && strncmp(a, b, la) == 0;
}

static bool reserved_vdev(const char *spec)
{
	return same_device(spec, IPOP_CFG_WAN_TAP_VDEV) ||
	       same_device(spec, IPOP_CFG_HOST_TAP_VDEV);
}

static int conv_device(struct ctx *c, const config_setting_t *s, char *buf, size_t size)
{
	int rc = conv_str(c, s, buf, size);

	if (rc != 0 || s == NULL)
		return rc;
	if (has_space(buf))
		return fail_at(c, s, "\"%s\": a device spec has no spaces", buf);
	if (reserved_vdev(buf))
		return fail_at(c, s, "\"%.64s\": this vdev name is reserved for ipopd's own "
			       "TAP ports", buf);
	return 0;
}

/* ---- addresses ---- */

/* Decimal digits only, at most max. */
static int parse_dec(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (!isdigit((unsigned char)s[n]) || n >= 10)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Copies the part of v before sep into an IPv4 address; *rest points after sep. */
static int parse_ip_until(const char *v, char sep, struct in_addr *a, const char **rest)
{
	char ip[INET_ADDRSTRLEN];
	const char *p = strchr(v, sep);

	if (p == NULL || (size_t)(p - v) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, v, (size_t)(p - v));
	ip[p - v] = '\0';
	*rest = p + 1;
	return inet_pton(AF_INET, ip, a) == 1 ? 0 : -EINVAL;
}

static uint32_t prefix_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* Why A cannot be a unicast address of a host in A/PREFIX, or NULL if it can.
 * prefix 0 means "no prefix known". */
static const char *unicast_problem(struct in_addr a, unsigned prefix)
{
	uint32_t h = ntohl(a.s_addr), m = prefix_mask(prefix);

	if (h == 0)
		return "is the unspecified address";
	if (h >= 0xe0000000u)
		return "is a multicast, reserved or broadcast address";
	/* /31 and /32 have no network or broadcast address (RFC 3021). */
	if (prefix != 0 && prefix <= 30 && (h & ~m) == 0)
		return "is the network address of its prefix";
	if (prefix != 0 && prefix <= 30 && (h & ~m) == ~m)
		return "is the broadcast address of its prefix";
	return NULL;
}

/* The two "address and number" forms: A.B.C.D/N and A.B.C.D:PORT. */
struct addr_form {
	char sep;
	unsigned long max;
	const char *syntax;            /* shown when the whole value does not parse */
	const char *number;            /* what the number is, for its range error */
};

static const struct addr_form CIDR = { '/', 32, "A.B.C.D/N", "prefix length" };
static const struct addr_form ENDPOINT = { ':', 65535, "A.B.C.D:PORT", "port" };

/* Setting s in form f: the address and the number (1..f->max); the address
 * must be usable unicast (for a CIDR, within its prefix). */
static int conv_addr_num(struct ctx *c, const config_setting_t *s, const struct addr_form *f,
			 struct in_addr *a, unsigned long *num)
{
	char v[IPOP_CFG_NAME_LEN];
	const char *rest, *why;
	int rc = conv_str(c, s, v, sizeof(v));

	if (rc != 0 || s == NULL)
		return rc;
	if (parse_ip_until(v, f->sep, a, &rest) != 0)
		return fail_at(c, s, "expected %s, got \"%s\"", f->syntax, v);
	if (parse_dec(rest, f->max, num) != 0 || *num < 1)
		return fail_at(c, s, "%s must be between 1 and %lu (got \"%s%s\")", f->number,
			       f->max, f == &CIDR ? "/" : "", rest);
	why = unicast_problem(*a, f == &CIDR ? (uint8_t)*num : 0);
	if (why != NULL)
		return fail_at(c, s, "%s %s", v, why);
	return 0;
}

static int conv_cidr(struct ctx *c, const config_setting_t *s, struct in_addr *a,
		     uint8_t *prefix)
{
	unsigned long n = 0;
	int rc = conv_addr_num(c, s, &CIDR, a, &n);

	if (rc == 0 && s != NULL)
		*prefix = (uint8_t)n;
	return rc;
}

static int conv_endpoint(struct ctx *c, const config_setting_t *s, struct in_addr *a,
			 uint16_t *port)
{
	unsigned long n = 0;
	int rc = conv_addr_num(c, s, &ENDPOINT, a, &n);

	if (rc == 0 && s != NULL)
		*port = (uint16_t)n;
	return rc;
}

static int conv_key(struct ctx *c, const config_setting_t *s, uint8_t key[32])
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	v = config_setting_get_string(s);
	if (strlen(v) != IPOP_KEY_B64_LEN - 1)
		return fail_at(c, s, "expected %d base64 characters (a 32-byte key), got %zu",
			       IPOP_KEY_B64_LEN - 1, strlen(v));
	if (ipop_key_from_base64(v, key) != 0)
		return fail_at(c, s, "not valid base64 of a 32-byte key");
	if (ipop_key_check_public(key) != 0)
		return fail_at(c, s, "not a usable X25519 public key (small-order point)");
	return 0;
}

/* ---- node { } ---- */

static int default_node_name(struct ctx *c, const config_setting_t *g)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (host[0] == '\0' || !label_ok(host) || strlen(host) >= IPOP_CFG_NAME_LEN)
		return fail_line(c, config_setting_source_file(g), config_setting_source_line(g),
				 "node.name", "not set, and the host name \"%s\" cannot serve "
				 "as one (at most %d letters, digits, '.', '_', '-')",
				 host, IPOP_CFG_NAME_LEN - 1);
	memcpy(c->cfg->node_name, host, strlen(host) + 1);
	return 0;
}

static int conv_cipher(struct ctx *c, const config_setting_t *s, int *cipher)
{
	int id;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	id = ipop_cipher_parse(config_setting_get_string(s));
	if (id < 0)
		return fail_at(c, s, "unknown cipher \"%.40s\" (known: aes-256-gcm, "
			       "chacha20-poly1305)", config_setting_get_string(s));
	*cipher = id;
	return 0;
}

static int parse_node(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "name", "overlay", "key_file", "cipher" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g;
	int rc;

	if ((rc = get_group(c, root, "node", known, N_ELEMS(known), &g)) < 0)
		return rc;
	if (g == NULL)
		return fail_missing(c, root, "node", "group (it holds overlay and key_file)");
	if (member(g, "overlay") == NULL)
		return fail_missing(c, g, "overlay", "setting");
	if (member(g, "key_file") == NULL)
		return fail_missing(c, g, "key_file", "setting");
	if ((rc = conv_label(c, member(g, "name"), cfg->node_name, sizeof(cfg->node_name))) < 0)
		return rc;
	if (cfg->node_name[0] == '\0' && (rc = default_node_name(c, g)) < 0)
		return rc;
	if ((rc = conv_label(c, member(g, "overlay"), cfg->overlay, sizeof(cfg->overlay))) < 0)
		return rc;
	if ((rc = conv_str(c, member(g, "key_file"), cfg->key_file, sizeof(cfg->key_file))) < 0)
		return rc;
	return conv_cipher(c, member(g, "cipher"), &cfg->cipher);
}

/* ---- lan { } and wan { } ---- */

static int parse_lan(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "device" };
	config_setting_t *g;
	int rc;

	if ((rc = get_group(c, root, "lan", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	if (member(g, "device") == NULL)
		return fail_missing(c, g, "device", "setting (or remove lan { } for no LAN)");
	c->cfg->lan_enabled = true;
	return conv_device(c, member(g, "device"), c->cfg->lan.device,
			   sizeof(c->cfg->lan.device));
}

static int conv_gateway(struct ctx *c, const config_setting_t *s)
{
	struct ipop_cfg *cfg = c->cfg;
	char v[IPOP_CFG_NAME_LEN];
	uint32_t m = prefix_mask(cfg->wan_prefix);
	const char *why;
	int rc = conv_str(c, s, v, sizeof(v));

	if (rc != 0 || s == NULL)
		return rc;
	if (inet_pton(AF_INET, v, &cfg->wan_gateway) != 1)
		return fail_at(c, s, "expected A.B.C.D, got \"%s\"", v);
	if ((ntohl(cfg->wan_gateway.s_addr) & m) != (ntohl(cfg->wan_addr.s_addr) & m))
		return fail_at(c, s, "%s is not inside wan.address's prefix /%u", v,
			       cfg->wan_prefix);
	if (cfg->wan_gateway.s_addr == cfg->wan_addr.s_addr)
		return fail_at(c, s, "%s is wan.address itself", v);
	why = unicast_problem(cfg->wan_gateway, cfg->wan_prefix);
	if (why != NULL)
		return fail_at(c, s, "%s %s", v, why);
	return 0;
}

static int parse_wan(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "device", "address", "gateway", "port", "mtu",
					     "tap" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g;
	int rc;

	if ((rc = get_group(c, root, "wan", known, N_ELEMS(known), &g)) < 0)
		return rc;
	if (g == NULL)
		return fail_missing(c, root, "wan", "group (it holds device and address)");
	if (member(g, "device") == NULL)
		return fail_missing(c, g, "device", "setting");
	if (member(g, "address") == NULL)
		return fail_missing(c, g, "address", "setting");
	if ((rc = conv_device(c, member(g, "device"), cfg->wan.device,
			      sizeof(cfg->wan.device))) < 0)
		return rc;
	if (cfg->lan_enabled && same_device(cfg->lan.device, cfg->wan.device))
		return fail_at(c, config_lookup(&c->lc, "lan.device"),
			       "same device as wan.device");
	if ((rc = conv_cidr(c, member(g, "address"), &cfg->wan_addr, &cfg->wan_prefix)) < 0)
		return rc;
	if ((rc = conv_gateway(c, member(g, "gateway"))) < 0)
		return rc;
	if ((rc = conv_u16(c, member(g, "port"), 1, 65535, &cfg->wan_port)) < 0)
		return rc;
	if ((rc = conv_u16(c, member(g, "mtu"), 1280, 9000, &cfg->wan_mtu)) < 0)
		return rc;
	return conv_ifname(c, member(g, "tap"), cfg->wan_tap, sizeof(cfg->wan_tap));
}

/* ---- dpdk { } ---- */

/* The vdev spec an EAL argument carries: "--vdev=SPEC", or SPEC after "--vdev". */
static const char *vdev_arg(const config_setting_t *eal, unsigned i)
{
	const char *a = config_setting_get_string_elem(eal, (int)i);

	if (strncmp(a, "--vdev=", 7) == 0)
		return a + 7;
	if (i > 0 && strcmp(config_setting_get_string_elem(eal, (int)i - 1), "--vdev") == 0)
		return a;
	return NULL;
}

static int check_eal_arg(struct ctx *c, const config_setting_t *eal, unsigned i)
{
	const config_setting_t *s = config_setting_get_elem(eal, i);
	const struct ipop_cfg *cfg = c->cfg;
	const char *spec;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	if (config_setting_get_string(s)[0] == '\0')
		return fail_at(c, s, "an EAL argument must not be empty");
	if (strcmp(config_setting_get_string(s), "--vdev") == 0 &&
	    i + 1 == (unsigned)config_setting_length(eal))
		return fail_at(c, s, "--vdev needs a device spec after it");
	spec = vdev_arg(eal, i);
	if (spec == NULL)
		return 0;
	/* ipopd passes --vdev for its own ports; a second one would make the EAL
	 * fail with "device already exists" long after the config looked fine. */
	if (cfg->lan_enabled && is_vdev(cfg->lan.device) && same_device(spec, cfg->lan.device))
		return fail_at(c, s, "\"%.64s\": ipopd adds --vdev for lan.device itself; "
			       "remove it here", spec);
	if (is_vdev(cfg->wan.device) && same_device(spec, cfg->wan.device))
		return fail_at(c, s, "\"%.64s\": ipopd adds --vdev for wan.device itself; "
			       "remove it here", spec);
	if (reserved_vdev(spec))
		return fail_at(c, s, "\"%.64s\": this vdev name is reserved for ipopd's own "
			       "TAP ports", spec);
	return 0;
}

/* A list ([ ] or ( )) of at most max entries: its length, or the error
 * ("expected a list of WHAT, got ...", "too many NOUN (n, at most max)"). */
static int list_length(struct ctx *c, const config_setting_t *s, const char *what,
		       const char *noun, unsigned max)
{
	unsigned n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return fail_at(c, s, "expected a list of %s, got %s", what, type_name(s));
	n = (unsigned)config_setting_length(s);
	if (n > max)
		return fail_at(c, s, "too many %s (%u, at most %u)", noun, n, max);
	return (int)n;
}

static int parse_eal(struct ctx *c, const config_setting_t *eal)
{
	struct ipop_cfg *cfg = c->cfg;
	unsigned i, n;
	int rc;

	if (eal == NULL)
		return 0;
	if ((rc = list_length(c, eal, "strings [ \"--no-pci\", ... ]", "EAL arguments",
			      MAX_USER_EAL)) < 0)
		return rc;
	n = (unsigned)rc;
	for (i = 0; i < n; i++) {
		if ((rc = check_eal_arg(c, eal, i)) < 0)
			return rc;
		cfg->eal_argv[cfg->eal_argc] = strdup(config_setting_get_string_elem(eal, (int)i));
		if (cfg->eal_argv[cfg->eal_argc] == NULL)
			return fail_oom(c);
		cfg->eal_argc++;
	}
	return 0;
}

/* Whether this CPU runs the path is for start-up to say (ipopd names the
 * CPU's lack); the file can only be wrong about the name. The name is checked
 * before it is copied so that any wrong one, empty or too long for buf
 * included, gets the list of the right ones. */
static int conv_aead_path(struct ctx *c, const config_setting_t *s, char *buf, size_t size)
{
	const char *v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	v = config_setting_get_string(s);
	if (!ipop_aead_path_known(v))
		return fail_at(c, s, "unknown IPsec-MB code path \"%.40s\" (known: auto, compact, "
			       "sse, avx, avx2, avx512)", v);
	snprintf(buf, size, "%s", v);
	return 0;
}

/* true, false or "auto" */
static int conv_idle_wait(struct ctx *c, const config_setting_t *s, int *out)
{
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		*out = config_setting_get_bool(s) ? IPOP_IDLE_WAIT_ON : IPOP_IDLE_WAIT_OFF;
		return 0;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    strcmp(config_setting_get_string(s), "auto") == 0) {
		*out = IPOP_IDLE_WAIT_AUTO;
		return 0;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected true, false or \"auto\", got \"%.40s\"",
			       config_setting_get_string(s));
	return fail_at(c, s, "expected true, false or \"auto\", got %s", type_name(s));
}

bool ipop_cfg_idle_wait(const struct ipop_cfg *cfg)
{
	if (cfg->idle_wait != IPOP_IDLE_WAIT_AUTO)
		return cfg->idle_wait == IPOP_IDLE_WAIT_ON;
	if (cfg->host_enabled)
		return true;
	for (int i = 1; i < cfg->eal_argc; i++)
		if (cfg->eal_argv[i] != NULL && strcmp(cfg->eal_argv[i], "--no-huge") == 0)
			return true;
	return false;
}

static int parse_dpdk(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "eal", "workers", "mbufs", "idle_sleep_max_us",
					     "idle_sleep_recent_us", "idle_wait", "aead_code_path" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g;
	int rc;

	cfg->eal_argv[0] = strdup("ipopd");
	if (cfg->eal_argv[0] == NULL)
		return fail_oom(c);
	cfg->eal_argc = 1;
	if ((rc = get_group(c, root, "dpdk", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	if ((rc = conv_uint(c, member(g, "workers"), 1, 16, &cfg->workers)) < 0)
		return rc;
	if ((rc = conv_uint(c, member(g, "mbufs"), 1023, 16777215, &cfg->mbufs)) < 0)
		return rc;
	if ((rc = conv_uint(c, member(g, "idle_sleep_max_us"), 0, 1000000,
			    &cfg->idle_sleep_max_us)) < 0)
		return rc;
	if ((rc = conv_uint(c, member(g, "idle_sleep_recent_us"), 0, 1000000,
			    &cfg->idle_sleep_recent_us)) < 0)
		return rc;
	if ((rc = conv_idle_wait(c, member(g, "idle_wait"), &cfg->idle_wait)) < 0)
		return rc;
	if ((rc = conv_aead_path(c, member(g, "aead_code_path"), cfg->aead_code_path,
				 sizeof(cfg->aead_code_path))) < 0)
		return rc;
	return parse_eal(c, member(g, "eal"));
}

/* ---- host { } ---- */

static int parse_host(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "enabled", "tap", "address", "offload" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g;
	int rc;

	if ((rc = get_group(c, root, "host", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	if ((rc = conv_bool(c, member(g, "enabled"), &cfg->host_enabled)) < 0)
		return rc;
	if ((rc = conv_ifname(c, member(g, "tap"), cfg->host_tap, sizeof(cfg->host_tap))) < 0)
		return rc;
	if ((rc = conv_bool(c, member(g, "offload"), &cfg->host_offload)) < 0)
		return rc;
	/* Both are kernel interfaces; one name cannot be two of them. */
	if (cfg->host_enabled && strcmp(cfg->host_tap, cfg->wan_tap) == 0)
		return member(g, "tap") != NULL ?
		       fail_at(c, member(g, "tap"), "\"%s\" is also wan.tap", cfg->host_tap) :
		       fail_at(c, config_lookup(&c->lc, "wan.tap"),
			       "\"%s\" is also host.tap's default", cfg->wan_tap);
	return conv_cidr(c, member(g, "address"), &cfg->host_addr, &cfg->host_prefix);
}

/* ---- timers { } ---- */

/* Timer LO must stay below timer HI. The defaults are in order, so when they
 * are not, the file set at least one: blame the later of the two it set. */
static int check_order(struct ctx *c, const config_setting_t *g, const char *lo_name,
		       const char *hi_name, unsigned lo, unsigned hi)
{
	const config_setting_t *s_lo = member(g, lo_name), *s_hi = member(g, hi_name);

	if (lo < hi || (s_lo == NULL && s_hi == NULL))
		return 0;
	if (s_hi != NULL && (s_lo == NULL || config_setting_source_line(s_hi) >=
			     config_setting_source_line(s_lo)))
		return fail_at(c, s_hi, "must be greater than timers.%s (%u)", lo_name, lo);
	return fail_at(c, s_lo, "must be less than timers.%s (%u)", hi_name, hi);
}

static int parse_timers(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "keepalive", "dead_after", "rekey_after",
					     "rekey_after_packets", "reject_after",
					     "handshake_retry_ms" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g;
	long long pk = (long long)cfg->rekey_after_packets;
	int rc;

	if ((rc = get_group(c, root, "timers", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	if ((rc = conv_uint(c, member(g, "keepalive"), 1, 86400, &cfg->keepalive_s)) < 0 ||
	    (rc = conv_uint(c, member(g, "dead_after"), 1, 86400, &cfg->dead_after_s)) < 0 ||
	    (rc = conv_uint(c, member(g, "rekey_after"), 1, 86400, &cfg->rekey_after_s)) < 0 ||
	    (rc = conv_uint(c, member(g, "reject_after"), 1, 86400, &cfg->reject_after_s)) < 0 ||
	    (rc = conv_uint(c, member(g, "handshake_retry_ms"), 1, 60000,
			    &cfg->handshake_retry_ms)) < 0 ||
	    (rc = conv_int(c, member(g, "rekey_after_packets"), 1, LLONG_MAX, &pk)) < 0)
		return rc;
	cfg->rekey_after_packets = (uint64_t)pk;
	if ((rc = check_order(c, g, "keepalive", "dead_after", cfg->keepalive_s,
			      cfg->dead_after_s)) < 0)
		return rc;
	return check_order(c, g, "rekey_after", "reject_after", cfg->rekey_after_s,
			   cfg->reject_after_s);
}

/* ---- control { } ---- */

static int conv_log_level(struct ctx *c, const config_setting_t *s)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	char *out = c->cfg->log_level;
	size_t i;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	for (i = 0; i < N_ELEMS(levels); i++)
		if (strcmp(config_setting_get_string(s), levels[i]) == 0) {
			snprintf(out, sizeof(c->cfg->log_level), "%s", levels[i]);
			return 0;
		}
	return fail_at(c, s, "unknown level \"%.40s\" (known: error, warn, info, debug)",
		       config_setting_get_string(s));
}

static int parse_control(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "api_socket", "log_level" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g, *s;
	int rc;

	snprintf(cfg->api_socket, sizeof(cfg->api_socket), "/run/ipop/%s.sock",
		 cfg->node_name);
	if ((rc = get_group(c, root, "control", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	s = member(g, "api_socket");
	if ((rc = conv_str(c, s, cfg->api_socket, sizeof(cfg->api_socket))) < 0)
		return rc;
	if (s != NULL && cfg->api_socket[0] != '/')
		return fail_at(c, s, "must be an absolute path");
	if (s != NULL && strlen(cfg->api_socket) > SUN_PATH_MAX)
		return fail_at(c, s, "too long for a unix socket (%zu characters, at most %zu)",
			       strlen(cfg->api_socket), SUN_PATH_MAX);
	return conv_log_level(c, member(g, "log_level"));
}

/* ---- signal { } ---- */

/* user@domain or user@domain/resource: no spaces or control characters, one
 * '@', non-empty parts. */
static bool jid_ok(const char *v)
{
	const char *at = strchr(v, '@'), *slash = strchr(v, '/');

	if (at == NULL || at == v || strchr(at + 1, '@') != NULL)
		return false;
	if (slash != NULL && (slash < at || slash == at + 1 || slash[1] == '\0'))
		return false;
	if (slash == NULL && at[1] == '\0')
		return false;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= ' ' || *v == 0x7f || *v == '<' || *v == '>' ||
		    *v == '"' || *v == '\'' || *v == '&')
			return false;
	return true;
}

/* ca: an Ed25519 public key (any 32 bytes decode; a bad one verifies
 * nothing, and our own certificate, checked at start-up, proves it). */
static int conv_ca(struct ctx *c, const config_setting_t *s, uint8_t key[32])
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	v = config_setting_get_string(s);
	if (strlen(v) != IPOP_KEY_B64_LEN - 1 || ipop_key_from_base64(v, key) != 0)
		return fail_at(c, s, "expected the overlay CA's public key: %d base64 characters "
			       "(ipopctl ca-keygen prints it)", IPOP_KEY_B64_LEN - 1);
	return 0;
}

static int parse_trust(struct ctx *c, config_setting_t *g)
{
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *ca = member(g, "ca"), *cert = member(g, "certificate");
	config_setting_t *rev = member(g, "revocations"), *bf = member(g, "bindings_file");
	int rc;

	if (ca == NULL) {
		if (cert != NULL || rev != NULL)
			return fail_at(c, cert != NULL ? cert : rev, "has no meaning without ca");
		return conv_str(c, bf, cfg->sig_bindings_file, sizeof(cfg->sig_bindings_file));
	}
	if (bf != NULL)
		return fail_at(c, bf, "has no meaning with ca (certificates decide which key a "
			       "member holds)");
	if ((rc = conv_ca(c, ca, cfg->sig_ca)) < 0)
		return rc;
	cfg->sig_has_ca = true;
	if (cert == NULL)
		return fail_missing(c, g, "certificate", "setting (with ca, this node's certificate: "
				    "ipopctl ca-sign)");
	if ((rc = conv_str(c, cert, cfg->sig_certificate, sizeof(cfg->sig_certificate))) < 0 ||
	    (rc = conv_str(c, rev, cfg->sig_revocations, sizeof(cfg->sig_revocations))) < 0)
		return rc;
	return 0;
}

static int parse_signal(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "jid", "password", "server", "port", "tls",
					     "tls_trust", "offline_grace", "link_timeout", "ca",
					     "certificate", "revocations", "bindings_file" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g, *s;
	int rc;

	if ((rc = get_group(c, root, "signal", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	cfg->signal_enabled = true;
	if ((s = member(g, "jid")) == NULL)
		return fail_missing(c, g, "jid", "setting");
	if ((rc = conv_str(c, s, cfg->sig_jid, sizeof(cfg->sig_jid))) < 0)
		return rc;
	if (!jid_ok(cfg->sig_jid))
		return fail_at(c, s, "\"%.80s\": expected user@domain[/resource]", cfg->sig_jid);
	if (member(g, "password") == NULL)
		return fail_missing(c, g, "password", "setting");
	if ((rc = conv_str(c, member(g, "password"), cfg->sig_password,
			   sizeof(cfg->sig_password))) < 0)
		return rc;
	snprintf(cfg->sig_server, sizeof(cfg->sig_server), "%.*s",
		 (int)strcspn(strchr(cfg->sig_jid, '@') + 1, "/"), strchr(cfg->sig_jid, '@') + 1);
	s = member(g, "server");
	if ((rc = conv_str(c, s, cfg->sig_server, sizeof(cfg->sig_server))) < 0)
		return rc;
	if (s != NULL && !label_ok(cfg->sig_server))
		return fail_at(c, s, "\"%.80s\": expected an address or a host name", cfg->sig_server);
	if ((rc = conv_u16(c, member(g, "port"), 1, 65535, &cfg->sig_port)) < 0 ||
	    (rc = conv_bool(c, member(g, "tls"), &cfg->sig_tls)) < 0 ||
	    (rc = conv_bool(c, member(g, "tls_trust"), &cfg->sig_tls_trust)) < 0 ||
	    (rc = conv_uint(c, member(g, "offline_grace"), 0, 3600, &cfg->sig_offline_grace_s)) < 0 ||
	    (rc = conv_uint(c, member(g, "link_timeout"), 2, 600, &cfg->sig_link_timeout_s)) < 0)
		return rc;
	if (!cfg->sig_tls && cfg->sig_tls_trust)
		return fail_at(c, member(g, "tls_trust"), "has no meaning with tls = false");
	return parse_trust(c, g);
}

/* ---- ice { } ---- */

/* STUN and TURN servers for the ICE agents of signalled links. Addresses, not
 * host names: the control thread never blocks on a resolver. */
static int parse_ice(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "stun", "turn", "turn_user", "turn_password" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g, *turn, *user, *pw;
	int rc;

	if ((rc = get_group(c, root, "ice", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	if (!cfg->signal_enabled)
		return fail_at(c, g, "needs a signal { } group: candidates travel in the link "
			       "stanzas (static peers use their configured endpoint)");
	cfg->ice_enabled = true;
	if (cfg->wan_port > 65535 - IPOP_CFG_ICE_PORTS)
		return fail_at(c, g, "wan.port %u leaves no room for the ICE agents' ports "
			       "(wan.port + 1 .. + %u): wan.port must be at most %u", cfg->wan_port,
			       IPOP_CFG_ICE_PORTS, 65535 - IPOP_CFG_ICE_PORTS);
	turn = member(g, "turn");
	user = member(g, "turn_user");
	pw = member(g, "turn_password");
	if ((rc = conv_endpoint(c, member(g, "stun"), &cfg->ice_stun_ip, &cfg->ice_stun_port)) < 0 ||
	    (rc = conv_endpoint(c, turn, &cfg->ice_turn_ip, &cfg->ice_turn_port)) < 0 ||
	    (rc = conv_str(c, user, cfg->ice_turn_user, sizeof(cfg->ice_turn_user))) < 0 ||
	    (rc = conv_str(c, pw, cfg->ice_turn_password, sizeof(cfg->ice_turn_password))) < 0)
		return rc;
	if (turn != NULL && user == NULL)
		return fail_missing(c, g, "turn_user", "setting (turn needs credentials)");
	if (turn != NULL && pw == NULL)
		return fail_missing(c, g, "turn_password", "setting (turn needs credentials)");
	if (turn == NULL && (user != NULL || pw != NULL))
		return fail_at(c, user != NULL ? user : pw, "has no meaning without turn");
	return 0;
}

/* ---- topology { } ---- */

static const char *const policy_names[IPOP_TOPO_NPOLICIES] = {
	[IPOP_TOPO_POLICY_SYMPHONY] = "symphony",
	[IPOP_TOPO_POLICY_ALLTOALL] = "all-to-all",
};

const char *ipop_topo_policy_name(unsigned policy)
{
	return policy < IPOP_TOPO_NPOLICIES ? policy_names[policy] : "?";
}

int ipop_topo_policy_parse(const char *name)
{
	unsigned i;

	for (i = 0; i < IPOP_TOPO_NPOLICIES; i++)
		if (strcmp(name, policy_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

static int conv_policy(struct ctx *c, const config_setting_t *s, int *policy)
{
	char list[128] = "";
	size_t i, n;
	int id;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(c, s, "expected a string, got %s", type_name(s));
	id = ipop_topo_policy_parse(config_setting_get_string(s));
	if (id >= 0) {
		*policy = id;
		return 0;
	}
	for (i = 0; i < IPOP_TOPO_NPOLICIES; i++) {
		n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", policy_names[i]);
	}
	return fail_at(c, s, "unknown policy \"%.40s\" (known: %s)",
		       config_setting_get_string(s), list);
}

/* The bare JID (no /resource) of a full or bare one equals BARE. JIDs compare
 * without regard to ASCII case: XMPP servers fold the case of the user and
 * domain parts, so "Gw-7@Example.org" and "gw-7@example.org" are one member. */
static bool same_bare_jid(const char *jid, const char *bare)
{
	size_t n = strcspn(jid, "/");

	return strlen(bare) == n && strncasecmp(jid, bare, n) == 0;
}

/* static[i]: a bare JID, not this node's own, not listed before. */
static int conv_static(struct ctx *c, const config_setting_t *list, unsigned i)
{
	const config_setting_t *s = config_setting_get_elem(list, i);
	struct ipop_cfg *cfg = c->cfg;
	char *v = cfg->topo_static[i];
	unsigned j;
	int rc;

	if ((rc = conv_str(c, s, v, IPOP_CFG_JID_LEN)) < 0)
		return rc;
	if (jid_ok(v) && strchr(v, '/') != NULL)
		return fail_at(c, s, "\"%.80s\": a member is named by its bare JID "
			       "user@domain, without a /resource", v);
	if (!jid_ok(v))
		return fail_at(c, s, "\"%.80s\": expected a bare JID user@domain", v);
	if (same_bare_jid(cfg->sig_jid, v))
		return fail_at(c, s, "\"%.80s\" is this node's own signal.jid", v);
	for (j = 0; j < i; j++)
		if (strcasecmp(v, cfg->topo_static[j]) == 0)
			return fail_at(c, s, "same JID as topology.static[%u] (line %u)", j,
				       config_setting_source_line(config_setting_get_elem(list, j)));
	return 0;
}

static int parse_statics(struct ctx *c, const config_setting_t *list)
{
	unsigned i, n;
	int rc;

	if (list == NULL)
		return 0;
	if ((rc = list_length(c, list, "JIDs [ \"user@domain\", ... ]", "entries",
			      IPOP_CFG_MAX_STATIC)) < 0)
		return rc;
	n = (unsigned)rc;
	for (i = 0; i < n; i++) {
		if ((rc = conv_static(c, list, i)) < 0)
			return rc;
		c->cfg->topo_n_static = i + 1;
	}
	return 0;
}

/* all-to-all links to every member: the settings that choose links for
 * symphony would be silently ignored, so they are refused, like tls_trust
 * without tls. */
static int check_alltoall(struct ctx *c, const config_setting_t *g)
{
	static const char *const symphony_only[] = { "successors", "long_links",
						     "max_incoming", "static", "ondemand_kib",
						     "ondemand_window", "ondemand_idle",
						     "ondemand_max" };
	const config_setting_t *s;
	size_t i;

	if (c->cfg->topo_policy != IPOP_TOPO_POLICY_ALLTOALL)
		return 0;
	for (i = 0; i < N_ELEMS(symphony_only); i++)
		if ((s = member(g, symphony_only[i])) != NULL)
			return fail_at(c, s, "has no meaning with policy = \"%s\" (it links to "
				       "every member)", ipop_topo_policy_name(IPOP_TOPO_POLICY_ALLTOALL));
	return 0;
}

/* Every long link is some node's incoming one: with a cap below k on every
 * node, the overlay cannot hold the long links its nodes want. With k = 0
 * (automatic) the comparison can only be made at run time. */
static int check_incoming(struct ctx *c, const config_setting_t *g)
{
	const struct ipop_cfg *cfg = c->cfg;

	if (cfg->topo_max_incoming == 0 || cfg->topo_long_links == 0 ||
	    cfg->topo_max_incoming >= cfg->topo_long_links)
		return 0;
	return fail_at(c, member(g, "max_incoming"), "must be 0 or at least "
		       "topology.long_links (%u)", cfg->topo_long_links);
}

static int parse_topology(struct ctx *c, const config_setting_t *root)
{
	static const char *const known[] = { "policy", "successors", "long_links",
					     "max_incoming", "static", "ondemand_kib",
					     "ondemand_window", "ondemand_idle", "ondemand_max" };
	struct ipop_cfg *cfg = c->cfg;
	config_setting_t *g;
	int rc;

	if ((rc = get_group(c, root, "topology", known, N_ELEMS(known), &g)) < 0 || g == NULL)
		return rc;
	/* Links are chosen among the members signalling finds; static peers
	 * alone make no ring. */
	if (!cfg->signal_enabled)
		return fail_at(c, g, "needs a signal { } group: links are chosen among the "
			       "members signalling finds (static peers go in peers)");
	if ((rc = conv_policy(c, member(g, "policy"), &cfg->topo_policy)) < 0 ||
	    (rc = check_alltoall(c, g)) < 0 ||
	    (rc = conv_uint(c, member(g, "successors"), 1, 8, &cfg->topo_successors)) < 0 ||
	    (rc = conv_uint(c, member(g, "long_links"), 0, 32, &cfg->topo_long_links)) < 0 ||
	    (rc = conv_uint(c, member(g, "max_incoming"), 0, 64, &cfg->topo_max_incoming)) < 0 ||
	    (rc = check_incoming(c, g)) < 0 ||
	    (rc = conv_uint(c, member(g, "ondemand_kib"), 0, 4194304, &cfg->topo_ondemand_kib)) < 0 ||
	    (rc = conv_uint(c, member(g, "ondemand_window"), 1, 3600,
			    &cfg->topo_ondemand_window_s)) < 0 ||
	    (rc = conv_uint(c, member(g, "ondemand_idle"), 1, 86400, &cfg->topo_ondemand_idle_s)) < 0 ||
	    (rc = conv_uint(c, member(g, "ondemand_max"), 0, 16, &cfg->topo_ondemand_max)) < 0)
		return rc;
	return parse_statics(c, member(g, "static"));
}

/* ---- peers = ( ... ) ---- */

static int parse_peer(struct ctx *c, const config_setting_t *s, struct ipop_cfg_peer *p)
{
	static const char *const known[] = { "name", "public_key", "endpoint" };
	int rc;

	if (!config_setting_is_group(s))
		return fail_at(c, s, "expected a group { public_key = \"...\"; }, got %s",
			       type_name(s));
	if ((rc = check_known(c, s, known, N_ELEMS(known))) < 0)
		return rc;
	if (member(s, "public_key") == NULL)
		return fail_missing(c, s, "public_key", "setting");
	if ((rc = conv_label(c, member(s, "name"), p->name, sizeof(p->name))) < 0)
		return rc;
	if ((rc = conv_key(c, member(s, "public_key"), p->public_key)) < 0)
		return rc;
	return conv_endpoint(c, member(s, "endpoint"), &p->endpoint_ip, &p->endpoint_port);
}

/* Peer i against the ones before it: keys identify peers, names label them. */
static int check_peer_unique(struct ctx *c, const config_setting_t *list, unsigned i)
{
	const struct ipop_cfg_peer *p = &c->cfg->peers[i], *q;
	const config_setting_t *s = config_setting_get_elem(list, i);
	unsigned j;

	for (j = 0; j < i; j++) {
		q = &c->cfg->peers[j];
		if (memcmp(p->public_key, q->public_key, 32) == 0)
			return fail_at(c, member(s, "public_key"), "same key as peers[%u] (line %u)",
				       j, config_setting_source_line(config_setting_get_elem(list, j)));
		if (p->name[0] != '\0' && strcmp(p->name, q->name) == 0)
			return fail_at(c, member(s, "name"), "same name as peers[%u] (line %u)",
				       j, config_setting_source_line(config_setting_get_elem(list, j)));
	}
	return 0;
}

static int parse_peers(struct ctx *c, const config_setting_t *root)
{
	config_setting_t *list = member(root, "peers");
	unsigned i, n;
	int rc;

	if (list == NULL)
		return 0;
	n = (unsigned)config_setting_length(list);
	/* An empty [ ] is an array to libconfig; accept it as "no peers". */
	if (!config_setting_is_list(list) && !(config_setting_is_array(list) && n == 0))
		return fail_at(c, list, "expected a list ( { ... }, ... ), got %s",
			       type_name(list));
	if (n > IPOP_CFG_MAX_PEERS)
		return fail_at(c, list, "too many peers (%u, at most %u)", n, IPOP_CFG_MAX_PEERS);
	for (i = 0; i < n; i++) {
		if ((rc = parse_peer(c, config_setting_get_elem(list, i), &c->cfg->peers[i])) < 0)
			return rc;
		if ((rc = check_peer_unique(c, list, i)) < 0)
			return rc;
		c->cfg->n_peers = i + 1;
	}
	return 0;
}

/* ---- integer literals libconfig 1.5 truncates ---- */

/* libconfig 1.5 stores an integer written without an L suffix as (int) of its
 * value: 5000000000 becomes 705032704, 1152921504606846976 becomes 0, without
 * any error; with the suffix, values beyond 64 bits saturate. Its API cannot
 * tell, so scan the text for such literals. */
enum lit_kind { LIT_OK, LIT_WRAPS_32, LIT_TOO_BIG };

struct lit_hit {
	enum lit_kind kind;
	unsigned line;                   /* line of the literal */
	unsigned name_line;              /* line of the last name before it */
	char name[IPOP_CFG_NAME_LEN];
	char text[32];
};

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*';
}

static const char *number_end(const char *p, bool hex)
{
	const char *q = p + (*p == '-' || *p == '+');

	while (isalnum((unsigned char)*q) || *q == '.' ||
	       (!hex && (*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')))
		q++;
	return q;
}

/* Would libconfig store the literal [p, p+len) as something else? */
static enum lit_kind literal_kind(const char *p, size_t len, bool hex)
{
	bool is64 = p[len - 1] == 'L';
	unsigned long long u;
	char buf[32];
	long long v;
	char *end;

	if (memchr(p, '.', len) != NULL)
		return LIT_OK;                 /* a float */
	if (!hex && (memchr(p, 'e', len) != NULL || memchr(p, 'E', len) != NULL))
		return LIT_OK;
	while (len > 0 && p[len - 1] == 'L')
		len--;
	if (len >= sizeof(buf))
		return LIT_TOO_BIG;
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	if (hex) {
		u = strtoull(buf, &end, 16);
		if (*end != '\0')
			return LIT_OK;         /* not a number libconfig accepted */
		if (errno == ERANGE || u > LLONG_MAX)
			return LIT_TOO_BIG;
		return !is64 && u > INT_MAX ? LIT_WRAPS_32 : LIT_OK;
	}
	v = strtoll(buf, &end, 10);
	if (*end != '\0')
		return LIT_OK;
	if (errno == ERANGE)
		return LIT_TOO_BIG;
	return !is64 && (v > INT_MAX || v < INT_MIN) ? LIT_WRAPS_32 : LIT_OK;
}

static const char *skip_comment_or_string(const char *p, unsigned *line)
{
	if (*p == '#' || *p == '@' || (p[0] == '/' && p[1] == '/'))
		return p + strcspn(p, "\n");
	if (p[0] == '/' && p[1] == '*') {
		for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
			*line += *p == '\n';
		return *p != '\0' ? p + 2 : p;
	}
	/* a string: runs to the next unescaped quote */
	for (p++; *p != '\0' && *p != '"'; p++) {
		*line += *p == '\n';
		if (*p == '\\' && p[1] != '\0')
			p++;
	}
	return *p != '\0' ? p + 1 : p;
}

static bool starts_number(const char *p)
{
	if (*p == '-' || *p == '+' || *p == '.')
		p++;
	return isdigit((unsigned char)*p);
}

static bool scan_literals(const char *p, struct lit_hit *hit)
{
	unsigned line = 1;
	const char *q;
	bool hex;

	memset(hit, 0, sizeof(*hit));
	while (*p != '\0') {
		if (*p == '#' || *p == '@' || *p == '"' ||
		    (p[0] == '/' && (p[1] == '/' || p[1] == '*'))) {
			p = skip_comment_or_string(p, &line);
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			for (q = p; is_name_char(*q); q++)
				;
			snprintf(hit->name, sizeof(hit->name), "%.*s", (int)(q - p), p);
			hit->name_line = line;
			p = q;
		} else if (starts_number(p)) {
			hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
			q = number_end(p, hex);
			hit->kind = literal_kind(p, (size_t)(q - p), hex);
			if (hit->kind != LIT_OK) {
				hit->line = line;
				snprintf(hit->text, sizeof(hit->text), "%.*s", (int)(q - p), p);
				return true;
			}
			p = q;
		} else {
			line += *p == '\n';
			p++;
		}
	}
	return false;
}

static bool same_file(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* The integer setting the literal belongs to: named settings carry the line of
 * their name, list elements the line of their value. */
static const config_setting_t *literal_owner(const config_setting_t *s, const char *file,
					     const struct lit_hit *h)
{
	const config_setting_t *r;
	const char *name = config_setting_name(s);
	unsigned i;

	if ((config_setting_type(s) == CONFIG_TYPE_INT ||
	     config_setting_type(s) == CONFIG_TYPE_INT64) &&
	    same_file(config_setting_source_file(s), file) &&
	    (name != NULL ? config_setting_source_line(s) == h->name_line &&
			    strcmp(name, h->name) == 0
			  : config_setting_source_line(s) == h->line))
		return s;
	if (!config_setting_is_aggregate(s))
		return NULL;
	for (i = 0; i < (unsigned)config_setting_length(s); i++) {
		r = literal_owner(config_setting_get_elem(s, i), file, h);
		if (r != NULL)
			return r;
	}
	return NULL;
}

static int report_literal(struct ctx *c, const char *file, const struct lit_hit *h)
{
	const config_setting_t *s = literal_owner(config_root_setting(&c->lc), file, h);
	static const char wraps[] = "integer %s does not fit in 32 bits and libconfig "
				    "would silently truncate it; write %sL for a 64-bit integer";
	static const char too_big[] = "integer %s does not fit in 64 bits%s";
	const char *fmt = h->kind == LIT_WRAPS_32 ? wraps : too_big;
	const char *arg2 = h->kind == LIT_WRAPS_32 ? h->text : "";

	if (s != NULL)
		return fail_at(c, s, fmt, h->text, arg2);
	return fail_line(c, file, h->line, "", fmt, h->text, arg2);
}

/* The whole file, NUL-terminated, in a buffer that grows as needed (the file
 * may be a pipe, so its size is not known in advance). */
static int read_text(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	size_t cap = 16384, len = 0;
	char *buf = NULL, *grown;
	int rc = 0;

	if (f == NULL)
		return -errno;
	for (;;) {
		grown = realloc(buf, cap + 1);
		if (grown == NULL) {
			rc = -ENOMEM;
			break;
		}
		buf = grown;
		len += fread(buf + len, 1, cap - len, f);
		if (ferror(f) || len < cap)
			break;
		if (cap >= MAX_FILE_BYTES) {
			rc = -EFBIG;
			break;
		}
		cap *= 2;
	}
	if (rc == 0 && ferror(f))
		rc = -EIO;
	fclose(f);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Scan the main text, then every file it @included (libconfig records them,
 * named relative to include_dir as they were written). */
static int check_literals(struct ctx *c, const char *text, const char *include_dir)
{
	char path[PATH_MAX];
	struct lit_hit h;
	const char *f;
	char *inc;
	unsigned i;
	int rc;

	if (scan_literals(text, &h))
		return report_literal(c, NULL, &h);
	for (i = 0; i < c->lc.num_filenames; i++) {
		f = c->lc.filenames[i];
		if (f[0] != '/' && include_dir != NULL)
			snprintf(path, sizeof(path), "%s/%s", include_dir, f);
		else
			snprintf(path, sizeof(path), "%s", f);
		if ((rc = read_text(path, &inc)) < 0) {
			fail_line(c, f, 0, "", "cannot read: %s", strerror(-rc));
			return rc;
		}
		rc = scan_literals(inc, &h) ? report_literal(c, f, &h) : 0;
		free(inc);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- loading ---- */

static void set_defaults(struct ipop_cfg *cfg)
{
	cfg->cipher = IPOP_CIPHER_AES256GCM;
	cfg->workers = 1;
	cfg->mbufs = 8191;
	cfg->idle_sleep_max_us = 1000;
	cfg->idle_sleep_recent_us = 100;
	cfg->idle_wait = IPOP_IDLE_WAIT_AUTO;
	snprintf(cfg->aead_code_path, sizeof(cfg->aead_code_path), "auto");
	cfg->wan_port = 5800;
	cfg->wan_mtu = 1500;
	snprintf(cfg->wan_tap, sizeof(cfg->wan_tap), "ipop-wan");
	snprintf(cfg->host_tap, sizeof(cfg->host_tap), "ipop0");
	cfg->host_offload = true;
	cfg->keepalive_s = 10;
	cfg->dead_after_s = 30;
	cfg->rekey_after_s = 120;
	cfg->rekey_after_packets = 1ull << 60;
	cfg->reject_after_s = 180;
	cfg->handshake_retry_ms = 1000;
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
	cfg->sig_port = 5222;
	cfg->sig_tls = true;
	cfg->sig_offline_grace_s = 10;
	cfg->sig_link_timeout_s = 20;
	cfg->topo_policy = IPOP_TOPO_POLICY_SYMPHONY;
	cfg->topo_successors = 2;
	cfg->topo_ondemand_kib = 10240;
	cfg->topo_ondemand_window_s = 30;
	cfg->topo_ondemand_idle_s = 60;
	cfg->topo_ondemand_max = 4;
}

static int parse_all(struct ctx *c)
{
	static const char *const known[] = { "node", "dpdk", "lan", "wan", "host", "timers",
					     "control", "signal", "ice", "topology", "peers" };
	const config_setting_t *root = config_root_setting(&c->lc);
	int rc;

	if ((rc = check_known(c, root, known, N_ELEMS(known))) < 0 ||
	    (rc = parse_node(c, root)) < 0 ||
	    (rc = parse_lan(c, root)) < 0 ||
	    (rc = parse_wan(c, root)) < 0 ||
	    (rc = parse_dpdk(c, root)) < 0 ||
	    (rc = parse_host(c, root)) < 0 ||
	    (rc = parse_timers(c, root)) < 0 ||
	    (rc = parse_control(c, root)) < 0 ||
	    (rc = parse_signal(c, root)) < 0 ||
	    (rc = parse_ice(c, root)) < 0 ||
	    (rc = parse_topology(c, root)) < 0)
		return rc;
	return parse_peers(c, root);
}

static int load_text(struct ipop_cfg *cfg, const char *text, const char *name,
		     const char *include_dir, char *err, size_t errlen)
{
	struct ctx c = { .name = name, .include_dir = include_dir, .err = err,
			 .errlen = errlen, .cfg = cfg };
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	set_defaults(cfg);
	if (strlen(name) >= sizeof(cfg->path))
		return fail_line(&c, NULL, 0, "", "file name too long (at most %zu characters)",
				 sizeof(cfg->path) - 1);
	memcpy(cfg->path, name, strlen(name) + 1);
	config_init(&c.lc);
	if (include_dir != NULL)
		config_set_include_dir(&c.lc, include_dir);
	if (config_read_string(&c.lc, text) != CONFIG_TRUE)
		rc = fail_line(&c, config_error_file(&c.lc), (unsigned)config_error_line(&c.lc),
			       "", "%s", config_error_text(&c.lc));
	else
		rc = check_literals(&c, text, include_dir);
	if (rc == 0)
		rc = parse_all(&c);
	config_destroy(&c.lc);
	if (rc != 0)
		ipop_cfg_free(cfg);
	return rc;
}

int ipop_cfg_load_string(struct ipop_cfg *cfg, const char *text, const char *name,
			 char *err, size_t errlen)
{
	return load_text(cfg, text, name, NULL, err, errlen);
}

int ipop_cfg_load(struct ipop_cfg *cfg, const char *file, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	char *text;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = read_text(file, &text);
	if (rc < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", file, strerror(-rc));
		return rc;
	}
	/* @include "peers.conf" means next to this file, not in the cwd. */
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file) + (slash == file), file);
	rc = load_text(cfg, text, file, dir, err, errlen);
	free(text);
	return rc;
}

void ipop_cfg_free(struct ipop_cfg *cfg)
{
	int i;

	for (i = 0; i < cfg->eal_argc && i < IPOP_CFG_MAX_EAL_ARGS; i++) {
		free(cfg->eal_argv[i]);
		cfg->eal_argv[i] = NULL;
	}
	cfg->eal_argc = 0;
}
