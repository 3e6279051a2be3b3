/* test_counters.c - the counter lists against docs/operations.md (its path is the
 * argument): every counter of the code has a row in its family's table with the
 * same meaning, every row is a counter of the code, and the "Counters" section is
 * exactly `ipopctl counters --markdown`. Also the lists' own rules: unique names,
 * descriptors that address their fields, drop and reject names that keep their
 * numbers. A failure names the counter. Thread: single.
 */
#include "tests/unit/check.h"
#include "control/counters.h"
#include "control/signal/linkmsg.h"
#include "control/signal/presence.h"
#include "dataplane/stats.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION "## Counters"
#define MAX_ROWS 512
#define MAX_HEADS 64

struct row {
	char family[64], name[64], doc[1024];
	int line;
	bool seen;
};

struct head {
	char name[64];
	int line;
	bool seen;
};

static const char *docs_path;
static struct row rows[MAX_ROWS];
static unsigned n_rows;
static struct head heads[MAX_HEADS];
static unsigned n_heads;
static char *section;     /* the section's text, from its heading to its end */
static int section_line;  /* its heading's line number */

/* Names the API has today, in enum order: new ones may only be appended. */
static const char *const drop_names[] = {
	"wan_short", "wan_bad_version", "wan_bad_type", "wan_bad_length", "wan_unknown_index",
	"wan_auth_failed", "wan_replay", "wan_too_old", "wan_session_expired", "inner_short",
	"inner_bad_src_mac", "inner_not_local", "lan_bad_src_mac", "lan_local_dst", "no_session",
	"no_nexthop", "too_big", "multiseg", "no_mbuf", "frag_failed", "reasm_failed",
	"ctrl_ring_full", "tx_full", "no_flood_target",
};
static const char *const reject_names[] = {
	"too_big", "not_member", "bad_structure", "bad_attribute", "bad_op", "bad_node_id",
	"bad_key", "node_key_mismatch", "bad_ip", "bad_port", "bad_overlay",
};
static const char *const presence_reject_names[] = {
	"too_big", "bad_structure", "bad_attribute", "bad_node_id", "bad_key",
	"node_key_mismatch", "weak_key", "duplicate", "own_node",
};

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL) {
		perror(path);
		return NULL;
	}
	FILE *m = open_memstream(&buf, &len);
	int c;
	while (m != NULL && (c = fgetc(f)) != EOF)
		fputc(c, m);
	if (m != NULL)
		fclose(m);
	fclose(f);
	return buf;
}

/* "| `name` | meaning |" into r; false if the line is not such a row. */
static bool parse_row(const char *line, struct row *r)
{
	size_t len = strlen(line);

	if (len < 4 || strncmp(line, "| `", 3) != 0)
		return false;
	const char *name = line + 3, *end = strchr(name, '`');
	if (end == NULL || strncmp(end, "` | ", 4) != 0)
		return false;
	const char *doc = end + 4, *last = strrchr(doc, '|');
	if (last == NULL || last == doc || last[-1] != ' ' || last[1] != '\0')
		return false;
	snprintf(r->name, sizeof(r->name), "%.*s", (int)(end - name), name);
	snprintf(r->doc, sizeof(r->doc), "%.*s", (int)(last - 1 - doc), doc);
	return true;
}

static void add_head(const char *name, int line)
{
	CHECK(n_heads < MAX_HEADS);
	if (n_heads < MAX_HEADS) {
		snprintf(heads[n_heads].name, sizeof(heads[0].name), "%s", name);
		heads[n_heads++].line = line;
	}
}

/* One line inside the section: a family heading, a table row, or prose. */
static void section_line_parse(const char *line, int no)
{
	struct row r = { .line = no };

	if (strncmp(line, "### ", 4) == 0) {
		add_head(line + 4, no);
		return;
	}
	if (strncmp(line, "| `", 3) != 0)
		return;   /* prose, table header, separator */
	if (!parse_row(line, &r) || n_heads == 0 || n_rows == MAX_ROWS) {
		fprintf(stderr, "%s:%d: counter row not understood (or outside a family): %s\n",
			docs_path, no, line);
		CHECK(!"every row is | `counter` | meaning | under a ### family heading");
		return;
	}
	snprintf(r.family, sizeof(r.family), "%s", heads[n_heads - 1].name);
	rows[n_rows++] = r;
}

/* Collect the section's headings and rows, and keep its text. */
static int parse_docs(char *text)
{
	int no = 0;
	bool in = false, fence = false;
	char *start = NULL;

	for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		no++;
		if (strncmp(line, "```", 3) == 0)
			fence = !fence;
		if (!fence && strcmp(line, SECTION) == 0) {
			in = true;
			start = line;
			section_line = no;
		} else if (!fence && in && strncmp(line, "## ", 3) == 0) {
			*line = '\0';   /* the next section ends this one (which should be last) */
			break;
		} else if (in && !fence) {
			section_line_parse(line, no);
		}
		if (in && next != NULL)
			next[-1] = '\n';   /* keep the section's text whole */
	}
	if (start == NULL) {
		fprintf(stderr, "%s: no \"%s\" section\n", docs_path, SECTION);
		return -1;
	}
	section = start;
	return 0;
}

static struct row *find_row(const char *family, const char *name)
{
	for (unsigned i = 0; i < n_rows; i++)
		if (!rows[i].seen && strcmp(rows[i].family, family) == 0 &&
		    strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

static struct head *find_head(const char *name)
{
	for (unsigned i = 0; i < n_heads; i++)
		if (strcmp(heads[i].name, name) == 0)
			return &heads[i];
	return NULL;
}

/* Each counter of f: documented, once, with the code's meaning. */
static void check_family_documented(const struct ipop_counter_family *f)
{
	struct head *h = find_head(f->name);

	CHECK(h != NULL);
	if (h == NULL) {
		fprintf(stderr, "%s: family %s (%s) has no table in \"%s\"\n",
			docs_path, f->name, f->where, SECTION);
		return;
	}
	h->seen = true;
	for (size_t i = 0; i < f->n; i++) {
		const struct ipop_counter_desc *d = &f->c[i];
		struct row *r = find_row(f->name, d->name);
		CHECK(r != NULL);
		if (r == NULL) {
			fprintf(stderr, "%s: counter %s.%s is not documented (code: \"%s\")\n",
				docs_path, f->name, d->name, d->doc);
			continue;
		}
		r->seen = true;
		CHECK(strcmp(r->doc, d->doc) == 0);
		if (strcmp(r->doc, d->doc) != 0)
			fprintf(stderr, "%s:%d: counter %s.%s: meaning differs\n  code: %s\n  docs: %s\n",
				docs_path, r->line, f->name, d->name, d->doc, r->doc);
	}
}

static bool in_code(const char *family, const char *name)
{
	const struct ipop_counter_family *f = ipop_counter_family_find(family);

	for (size_t i = 0; f != NULL && i < f->n; i++)
		if (strcmp(f->c[i].name, name) == 0)
			return true;
	return false;
}

/* What the docs have and the code does not. */
static void check_docs_in_code(void)
{
	for (unsigned i = 0; i < n_heads; i++) {
		CHECK(heads[i].seen);
		if (!heads[i].seen)
			fprintf(stderr, "%s:%d: family %s is documented but not in the code\n",
				docs_path, heads[i].line, heads[i].name);
	}
	for (unsigned i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		CHECK(r->seen);
		if (!r->seen && find_head(r->family)->seen)
			fprintf(stderr, "%s:%d: counter %s.%s is %s\n", docs_path, r->line, r->family,
				r->name, in_code(r->family, r->name) ? "documented twice" :
				"documented but not in the code");
	}
}

/* The whole section, byte for byte: order, headings and prose too. */
static void check_section_text(void)
{
	char *gen = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&gen, &len);

	CHECK(m != NULL && ipop_counters_print(m, NULL, true) == 0);
	if (m != NULL)
		fclose(m);
	if (gen == NULL)
		return;
	const char *a = gen, *b = section;
	int no = section_line;
	while (*a != '\0' && *b != '\0' && strcspn(a, "\n") == strcspn(b, "\n") &&
	       strncmp(a, b, strcspn(a, "\n")) == 0) {
		a += strcspn(a, "\n") + (a[strcspn(a, "\n")] == '\n');
		b += strcspn(b, "\n") + (b[strcspn(b, "\n")] == '\n');
		no++;
	}
	CHECK(*a == '\0' && *b == '\0');
	if (*a != '\0' || *b != '\0')
		fprintf(stderr, "%s:%d: \"%s\" differs from `ipopctl counters --markdown` "
			"(order, headings or prose; it must be the last section)\n  code: %.*s\n"
			"  docs: %.*s\n  regenerate it with the command at its head\n", docs_path, no,
			SECTION, *a ? (int)strcspn(a, "\n") : 5, *a ? a : "(end)",
			*b ? (int)strcspn(b, "\n") : 5, *b ? b : "(end)");
	free(gen);
}

/* Names unique, one-line meanings that fit a table cell, aligned offsets. */
static void check_family_rules(const struct ipop_counter_family *f)
{
	CHECK(f->n > 0 && f->where != NULL && f->about != NULL);
	for (size_t i = 0; i < f->n; i++) {
		const struct ipop_counter_desc *d = &f->c[i];
		CHECK(d->off % sizeof(uint64_t) == 0);
		CHECK(d->doc[0] != '\0' && strpbrk(d->doc, "|\n") == NULL);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(f->c[k].name, d->name) != 0);
	}
	CHECK(ipop_counter_family_find(f->name) == f);
}

/* Descriptors address the fields their names say: write through one, read
 * the field directly. */
static void check_offsets(void)
{
	static struct ipop_lcore_stats a, b;

	for (size_t i = 0; i < ipop_drop_family.n; i++)
		*(uint64_t *)((char *)&a + ipop_drop_family.c[i].off) = i + 1;
	for (unsigned i = 0; i < IPOP_DROP__MAX; i++)
		CHECK(a.drops[i] == i + 1);
	*(uint64_t *)((char *)&a + ipop_lcore_family.c[0].off) = 7;
	CHECK(a.lan_rx == 7 && strcmp(ipop_lcore_family.c[0].name, "lan_rx") == 0);
	a.total_tsc = 5;
	ipop_counters_add(&b, &a, &ipop_worker_family);
	ipop_counters_add(&b, &a, &ipop_drop_family);
	CHECK(b.lan_rx == 7 && b.total_tsc == 5 && b.drops[IPOP_DROP__MAX - 1] == IPOP_DROP__MAX);
	CHECK(offsetof(struct ipop_lcore_stats, peer) + sizeof(a.peer) <= sizeof(a));
	CHECK(_Alignof(struct ipop_lcore_stats) == 64);
}

/* Drop and reject names (link and presence) keep their numbers (prefix of
 * today's lists). */
static void check_api_names(void)
{
	CHECK(ipop_drop_family.n == IPOP_DROP__MAX);
	CHECK(IPOP_DROP__MAX >= IPOP_COUNTER_DIM(drop_names));
	for (unsigned i = 0; i < IPOP_DROP__MAX; i++)
		CHECK(strcmp(ipop_drop_name(i), ipop_drop_family.c[i].name) == 0);
	for (unsigned i = 0; i < IPOP_COUNTER_DIM(drop_names) && i < IPOP_DROP__MAX; i++)
		CHECK(strcmp(ipop_drop_name(i), drop_names[i]) == 0);
	CHECK(ipop_reject_family.n == IPOP_REJ_MAX - 1);
	CHECK(IPOP_REJ_MAX - 1 >= (int)IPOP_COUNTER_DIM(reject_names));
	for (int r = IPOP_REJ_NONE + 1; r < IPOP_REJ_MAX; r++)
		CHECK(strcmp(ipop_linkmsg_reject_name((enum ipop_linkmsg_reject)r),
			     ipop_reject_family.c[r - 1].name) == 0);
	for (unsigned i = 0; i < IPOP_COUNTER_DIM(reject_names) && i + 1 < IPOP_REJ_MAX; i++)
		CHECK(strcmp(ipop_linkmsg_reject_name((enum ipop_linkmsg_reject)(i + 1)),
			     reject_names[i]) == 0);
	CHECK(ipop_presence_reject_family.n == IPOP_PRES_REJ_MAX - 1);
	CHECK(IPOP_PRES_REJ_MAX - 1 >= (int)IPOP_COUNTER_DIM(presence_reject_names));
	for (int r = IPOP_PRES_REJ_NONE + 1; r < IPOP_PRES_REJ_MAX; r++)
		CHECK(strcmp(ipop_presence_reject_name((enum ipop_presence_reject)r),
			     ipop_presence_reject_family.c[r - 1].name) == 0);
	for (unsigned i = 0; i < IPOP_COUNTER_DIM(presence_reject_names) && i + 1 < IPOP_PRES_REJ_MAX;
	     i++)
		CHECK(strcmp(ipop_presence_reject_name((enum ipop_presence_reject)(i + 1)),
			     presence_reject_names[i]) == 0);
}

int main(int argc, char **argv)
{
	char *text;
	size_t nf = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: test_counters docs/operations.md\n");
		return 2;
	}
	docs_path = argv[1];
	check_offsets();
	check_api_names();
	for (; ipop_counter_family_at(nf) != NULL; nf++)
		check_family_rules(ipop_counter_family_at(nf));
	text = read_file(docs_path);
	CHECK(text != NULL && parse_docs(text) == 0);
	if (section != NULL) {
		for (size_t i = 0; i < nf; i++)
			check_family_documented(ipop_counter_family_at(i));
		check_docs_in_code();
		check_section_text();
	}
	printf("counters: %zu families, %u documented counters in %s\n", nf, n_rows, docs_path);
	free(text);
	return check_report("counters");
}
