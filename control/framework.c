/* framework.c - see framework.h. Thread: control (everything runs from the one
 * GMainContext the framework was given; nothing here is thread-safe by design).
 *
 * The broker never calls a module from inside ipop_task_submit() or
 * ipop_task_complete(): both only queue and wake an idle source, so a module
 * can submit or complete tasks from any of its callbacks without re-entering
 * another module halfway through its own work.
 */
#include "control/framework.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rounds of delivery per wake-up: a pair of modules that keep answering each
 * other at once must not starve the rest of the loop. */
#define DISPATCH_ROUNDS 64

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

const char *ipop_task_status_name(enum ipop_task_status s)
{
	switch (s) {
	case IPOP_TASK_QUEUED: return "queued";
	case IPOP_TASK_WAITING: return "waiting";
	case IPOP_TASK_RUNNING: return "running";
	case IPOP_TASK_OK: return "ok";
	case IPOP_TASK_FAILED: return "failed";
	case IPOP_TASK_NO_TARGET: return "no-target";
	case IPOP_TASK_DEP_FAILED: return "dependency-failed";
	}
	return "?";
}

static guint id_hash(gconstpointer k)
{
	uint64_t v = *(const uint64_t *)k;

	return (guint)(v ^ (v >> 32));
}

static gboolean id_equal(gconstpointer a, gconstpointer b)
{
	return *(const uint64_t *)a == *(const uint64_t *)b;
}

int ipop_fw_init(struct ipop_fw *fw, GMainContext *ctx)
{
	memset(fw, 0, sizeof(*fw));
	fw->ctx = ctx;
	fw->next_id = 1;
	fw->done = g_hash_table_new_full(id_hash, id_equal, g_free, NULL);
	fw->live = g_hash_table_new_full(id_hash, id_equal, g_free, NULL);
	return fw->done && fw->live ? 0 : -ENOMEM;
}

int ipop_fw_register(struct ipop_fw *fw, struct ipop_module *m)
{
	if (m == NULL || m->name == NULL || strlen(m->name) >= IPOP_FW_NAME_LEN)
		return -EINVAL;
	if (fw->started)
		return -EBUSY;
	if (ipop_fw_module(fw, m->name) != NULL)
		return -EEXIST;
	if (fw->n_mods == IPOP_FW_MAX_MODULES)
		return -ENOSPC;
	m->fw = fw;
	fw->mods[fw->n_mods++] = m;
	return 0;
}

struct ipop_module *ipop_fw_module(struct ipop_fw *fw, const char *name)
{
	for (unsigned i = 0; i < fw->n_mods; i++)
		if (strcmp(fw->mods[i]->name, name) == 0)
			return fw->mods[i];
	return NULL;
}

static void task_free(struct ipop_task *t)
{
	if (t->params)
		json_object_put(t->params);
	if (t->result)
		json_object_put(t->result);
	free(t);
}

static gboolean pump_cb(gpointer data);

static void wake(struct ipop_fw *fw)
{
	if (fw->pump != NULL || !fw->started)
		return;
	/* At the default priority, not the idle one: GLib runs a lower-priority
	 * source only in an iteration where no higher one is ready, and the
	 * sources of the loop (ticks, module timers, libnice's sockets and timers)
	 * were ready often enough for long enough to hold the tasks between
	 * modules back: a link request received by signalling reached the link
	 * manager 2 s late, and our candidates left as late (seen after a member
	 * restarted, control busy for seconds with libnice's sources). */
	fw->pump = g_idle_source_new();
	g_source_set_priority(fw->pump, G_PRIORITY_DEFAULT);
	g_source_set_callback(fw->pump, pump_cb, fw, NULL);
	g_source_attach(fw->pump, fw->ctx);
}

static void append(struct ipop_task **head, struct ipop_task **tail, struct ipop_task *t)
{
	t->next = NULL;
	if (*tail)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

struct ipop_task *ipop_task_new(const char *origin, const char *target, int op,
				json_object *params)
{
	struct ipop_task *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		if (params)
			json_object_put(params);
		return NULL;
	}
	snprintf(t->origin, sizeof(t->origin), "%s", origin ? origin : "");
	snprintf(t->target, sizeof(t->target), "%s", target ? target : "");
	t->op = op;
	t->params = params;
	return t;
}

int ipop_task_set_body(struct ipop_task *t, const void *body, size_t len)
{
	if (len > sizeof(t->body))
		return -EMSGSIZE;
	memcpy(t->body, body, len);
	t->body_len = len;
	return 0;
}

const void *ipop_task_body(const struct ipop_task *t, size_t len)
{
	return t->body_len == len && len > 0 ? t->body : NULL;
}

int ipop_task_depend(struct ipop_task *t, uint64_t id)
{
	if (t->n_deps == IPOP_TASK_MAX_DEPS)
		return -ENOSPC;
	t->deps[t->n_deps++] = id;
	return 0;
}

static void set_add(GHashTable *h, uint64_t id, gpointer val)
{
	uint64_t *k = g_new(uint64_t, 1);

	*k = id;
	g_hash_table_replace(h, k, val);
}

int64_t ipop_task_submit(struct ipop_fw *fw, struct ipop_task *t)
{
	if (t == NULL)
		return -EINVAL;
	if (fw->live == NULL) {
		task_free(t);   /* stopped: nobody would ever deliver it */
		return -ESHUTDOWN;
	}
	t->id = fw->next_id++;
	t->status = IPOP_TASK_QUEUED;
	t->submitted_ms = now_ms();
	set_add(fw->live, t->id, GINT_TO_POINTER(1));
	fw->st.submitted++;
	append(&fw->queue, &fw->queue_tail, t);
	wake(fw);
	return (int64_t)t->id;
}

static void remember_done(struct ipop_fw *fw, uint64_t id, enum ipop_task_status s)
{
	uint64_t old = fw->done_order[fw->done_head];

	if (old != 0)
		g_hash_table_remove(fw->done, &old);
	fw->done_order[fw->done_head] = id;
	fw->done_head = (fw->done_head + 1) % IPOP_FW_DONE_KEEP;
	set_add(fw->done, id, GINT_TO_POINTER((int)s));
}

/* Finished (by its target or by the broker): back to the origin. */
static void finish(struct ipop_fw *fw, struct ipop_task *t, enum ipop_task_status s, int err,
		   json_object *result)
{
	t->status = s;
	t->err = err;
	if (result != NULL) {
		if (t->result)
			json_object_put(t->result);
		t->result = result;
	}
	t->done_ms = now_ms();
	g_hash_table_remove(fw->live, &t->id);
	remember_done(fw, t->id, s);
	fw->st.completed++;
	append(&fw->returning, &fw->returning_tail, t);
	wake(fw);
}

int ipop_task_complete(struct ipop_fw *fw, struct ipop_task *t, enum ipop_task_status status,
		       int err, json_object *result)
{
	if (t == NULL || t->status != IPOP_TASK_RUNNING) {
		if (result)
			json_object_put(result);
		return -EINVAL;
	}
	if (status < IPOP_TASK_OK)
		status = IPOP_TASK_FAILED;   /* a task only completes with a final status */
	if (fw->running > 0)
		fw->running--;
	if (!fw->started) {
		/* Shutting down: nobody is left to hand it back to. */
		if (result)
			json_object_put(result);
		if (fw->live)
			g_hash_table_remove(fw->live, &t->id);
		task_free(t);
		return 0;
	}
	finish(fw, t, status, err, result);
	return 0;
}

enum dep_state { DEPS_READY, DEPS_WAIT, DEPS_FAILED };

static enum dep_state deps_state(struct ipop_fw *fw, const struct ipop_task *t)
{
	enum dep_state st = DEPS_READY;

	for (unsigned i = 0; i < t->n_deps; i++) {
		gpointer v;
		if (g_hash_table_lookup_extended(fw->done, &t->deps[i], NULL, &v)) {
			if (GPOINTER_TO_INT(v) != IPOP_TASK_OK)
				return DEPS_FAILED;
		} else if (g_hash_table_contains(fw->live, &t->deps[i])) {
			st = DEPS_WAIT;
		} else {
			return DEPS_FAILED;   /* never submitted, or forgotten long ago */
		}
	}
	return st;
}

static void deliver(struct ipop_fw *fw, struct ipop_task *t)
{
	struct ipop_module *m = ipop_fw_module(fw, t->target);

	if (m == NULL || m->handle_task == NULL) {
		fw->st.no_target++;
		finish(fw, t, IPOP_TASK_NO_TARGET, -ENOENT, NULL);
		return;
	}
	t->status = IPOP_TASK_RUNNING;
	fw->running++;
	fw->st.delivered++;
	m->tasks_handled++;
	m->handle_task(m, t);
}

static void route(struct ipop_fw *fw, struct ipop_task *t)
{
	switch (deps_state(fw, t)) {
	case DEPS_FAILED:
		fw->st.dep_failed++;
		finish(fw, t, IPOP_TASK_DEP_FAILED, -ECANCELED, NULL);
		return;
	case DEPS_WAIT:
		t->status = IPOP_TASK_WAITING;
		t->next = fw->waiting;
		fw->waiting = t;
		fw->st.waiting++;
		return;
	case DEPS_READY:
		deliver(fw, t);
		return;
	}
}

static void hand_back(struct ipop_fw *fw, struct ipop_task *t)
{
	struct ipop_module *m = ipop_fw_module(fw, t->origin);

	fw->st.returned++;
	if (m != NULL && m->task_done != NULL) {
		m->tasks_done++;
		m->task_done(m, t);
	}
	task_free(t);
}

/* Waiting tasks whose dependencies have settled go back to the queue. */
static void requeue_waiting(struct ipop_fw *fw)
{
	struct ipop_task **pp = &fw->waiting;

	while (*pp != NULL) {
		struct ipop_task *t = *pp;
		if (deps_state(fw, t) == DEPS_WAIT) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		t->status = IPOP_TASK_QUEUED;
		append(&fw->queue, &fw->queue_tail, t);
	}
}

unsigned ipop_fw_dispatch(struct ipop_fw *fw)
{
	unsigned n = 0;

	for (int round = 0; round < DISPATCH_ROUNDS; round++) {
		struct ipop_task *q = fw->queue, *r = fw->returning;
		if (q == NULL && r == NULL)
			break;
		/* Take this round's lists whole: what they add goes to the next round. */
		fw->queue = fw->queue_tail = NULL;
		fw->returning = fw->returning_tail = NULL;
		while (r != NULL) {
			struct ipop_task *next = r->next;
			hand_back(fw, r);
			r = next;
			n++;
		}
		while (q != NULL) {
			struct ipop_task *next = q->next;
			route(fw, q);
			q = next;
			n++;
		}
		requeue_waiting(fw);
	}
	return n;
}

static gboolean pump_cb(gpointer data)
{
	struct ipop_fw *fw = data;
	GSource *s = fw->pump;

	fw->pump = NULL;
	g_source_unref(s);
	ipop_fw_dispatch(fw);
	if (fw->queue != NULL || fw->returning != NULL)
		wake(fw);
	return G_SOURCE_REMOVE;
}

static gboolean timer_cb(gpointer data)
{
	struct ipop_module *m = data;

	m->timer(m, now_ms());
	return G_SOURCE_CONTINUE;
}

int ipop_fw_start(struct ipop_fw *fw, char *err, size_t errlen)
{
	int r;

	for (unsigned i = 0; i < fw->n_mods; i++) {
		struct ipop_module *m = fw->mods[i];
		if (m->init && (r = m->init(m, fw)) != 0) {
			snprintf(err, errlen, "module %s: init: %s", m->name, strerror(-r));
			return r;
		}
	}
	fw->started = true;
	for (unsigned i = 0; i < fw->n_mods; i++) {
		struct ipop_module *m = fw->mods[i];
		if (m->start && (r = m->start(m)) != 0) {
			snprintf(err, errlen, "module %s: start: %s", m->name, strerror(-r));
			return r;
		}
		if (m->timer && m->timer_ms > 0) {
			m->timer_src = g_timeout_source_new(m->timer_ms);
			g_source_set_callback(m->timer_src, timer_cb, m, NULL);
			g_source_attach(m->timer_src, fw->ctx);
		}
	}
	if (fw->queue != NULL)
		wake(fw);
	return 0;
}

static void free_list(struct ipop_task *t)
{
	while (t != NULL) {
		struct ipop_task *next = t->next;
		task_free(t);
		t = next;
	}
}

void ipop_fw_stop(struct ipop_fw *fw)
{
	bool was = fw->started;

	for (unsigned i = fw->n_mods; i-- > 0;) {
		struct ipop_module *m = fw->mods[i];
		if (m->timer_src) {
			g_source_destroy(m->timer_src);
			g_source_unref(m->timer_src);
			m->timer_src = NULL;
		}
	}
	fw->started = false;   /* tasks completed by stop() are freed, not returned */
	for (unsigned i = fw->n_mods; was && i-- > 0;)
		if (fw->mods[i]->stop)
			fw->mods[i]->stop(fw->mods[i]);
	if (fw->pump) {
		g_source_destroy(fw->pump);
		g_source_unref(fw->pump);
		fw->pump = NULL;
	}
	free_list(fw->queue);
	free_list(fw->waiting);
	free_list(fw->returning);
	fw->queue = fw->queue_tail = fw->waiting = fw->returning = fw->returning_tail = NULL;
	if (fw->done)
		g_hash_table_destroy(fw->done);
	if (fw->live)
		g_hash_table_destroy(fw->live);
	fw->done = fw->live = NULL;
}

const char *ipop_task_str(const struct ipop_task *t, const char *key)
{
	json_object *v;

	if (t->params == NULL || !json_object_object_get_ex(t->params, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t ipop_task_int(const struct ipop_task *t, const char *key, int64_t dflt)
{
	json_object *v;

	if (t->params == NULL || !json_object_object_get_ex(t->params, key, &v))
		return dflt;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);   /* a flag: 1 or 0 */
	if (!json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}
