/* trust_store.c - see trust_store.h. Thread: control. */
#include "control/signal/trust_store.h"
#include "control/config/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#define LINE_MAX_LEN (IPOP_JID_LEN + IPOP_KEY_B64_LEN + 32)

/* One line's fields into r. 0; 1 for a line with nothing on it; -EINVAL
 * with what names the problem. */
static int parse_line(char *line, struct ipop_trust_rec *r, const char **what)
{
	char *save = NULL, *jid, *key, *flag;

	line[strcspn(line, "#\r\n")] = '\0';
	if ((jid = strtok_r(line, " \t", &save)) == NULL)
		return 1;
	key = strtok_r(NULL, " \t", &save);
	flag = strtok_r(NULL, " \t", &save);
	if (key == NULL || flag == NULL || strtok_r(NULL, " \t", &save) != NULL) {
		*what = "expected three fields: JID KEY proven|accepted";
		return -EINVAL;
	}
	if (strlen(jid) >= sizeof(r->jid) || strchr(jid, '@') == NULL || strchr(jid, '/') != NULL) {
		*what = "not a bare JID (user@domain)";
		return -EINVAL;
	}
	if (strlen(key) != IPOP_KEY_B64_LEN - 1 || ipop_key_from_base64(key, r->key) != 0) {
		*what = "not a public key (44 base64 characters)";
		return -EINVAL;
	}
	if (strcmp(flag, "proven") != 0 && strcmp(flag, "accepted") != 0) {
		*what = "the third field must be proven or accepted";
		return -EINVAL;
	}
	snprintf(r->jid, sizeof(r->jid), "%s", jid);
	r->proven = flag[0] == 'p';
	return 0;
}

int ipop_trust_store_read(const char *path, int (*add)(void *ctx, const struct ipop_trust_rec *r),
			  void *ctx, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[LINE_MAX_LEN];
	unsigned lineno = 0, n = 0;
	int rc = 0;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		struct ipop_trust_rec r;
		const char *what = NULL;
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			rc = -EINVAL;
			break;
		}
		int p = parse_line(line, &r, &what);
		if (p < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, what);
			rc = p;
		} else if (p == 0 && ++n > IPOP_TRUST_STORE_MAX) {
			snprintf(err, errlen, "%s:%u: more than %d bindings", path, lineno,
				 IPOP_TRUST_STORE_MAX);
			rc = -E2BIG;
		} else if (p == 0 && (rc = add(ctx, &r)) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
				 rc == -EEXIST ? "a second binding for this JID or this key" :
				 rc == -EPERM ? "a static peer's key or this node's own key" :
				 strerror(-rc));
		}
		sodium_memzero(&r, sizeof(r));
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -EIO;
	}
	fclose(f);
	return rc;
}

static int write_all(FILE *f, const struct ipop_trust_rec *recs, size_t n)
{
	char b64[IPOP_KEY_B64_LEN];

	if (fprintf(f, "# ipopd trust bindings (signal.bindings_file): JID KEY proven|accepted\n"
		       "# written by ipopd; an operator may remove a line while ipopd is stopped\n") < 0)
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		if (ipop_key_to_base64(recs[i].key, b64) != 0 ||
		    fprintf(f, "%s %s %s\n", recs[i].jid, b64,
			    recs[i].proven ? "proven" : "accepted") < 0)
			return -EIO;
	}
	return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
}

int ipop_trust_store_write(const char *path, const struct ipop_trust_rec *recs, size_t n,
			   char *err, size_t errlen)
{
	char tmp[1024];
	int fd, rc;
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = write_all(f, recs, n);
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}
