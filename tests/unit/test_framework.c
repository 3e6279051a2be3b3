/* test_framework.c - the controller framework (control/framework.c): delivery to
 * the target, return to the origin with status and result, dependency ordering
 * and dependency failure, unknown targets, deferred completion, per-module timers
 * on a private GMainContext, and stopping with tasks in flight. */
#include "control/framework.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rec {
	char log[64][48];      /* "target:op" on delivery, "done:op:status" on return */
	unsigned n;
	unsigned timer_calls;
	struct ipop_task *held; /* a task the target completes later */
	bool hold_next;
};

static struct rec R;

/* The test's own operations (the broker never interprets op), one name each. */
enum test_op { OP_PING, OP_LOST, OP_FIRST, OP_SECOND, OP_FAIL, OP_AFTER_FAIL, OP_ORPHAN, OP_TWICE, OP_HELD, OP_QUEUED, OP_LATE, OP_BODY, OP__MAX };

static const char *const op_names[OP__MAX] = {
	[OP_PING] = "ping",
	[OP_LOST] = "lost",
	[OP_FIRST] = "first",
	[OP_SECOND] = "second",
	[OP_FAIL] = "fail",
	[OP_AFTER_FAIL] = "after-fail",
	[OP_ORPHAN] = "orphan",
	[OP_TWICE] = "twice",
	[OP_HELD] = "held",
	[OP_QUEUED] = "queued",
	[OP_LATE] = "late",
	[OP_BODY] = "body",
};

static const char *op_name(int op)
{
	return op >= 0 && op < OP__MAX ? op_names[op] : "?";
}

static void note(const char *a, const char *b, const char *c)
{
	if (R.n < 64)
		snprintf(R.log[R.n++], sizeof(R.log[0]), "%s:%s%s%s", a, b, c ? ":" : "", c ? c : "");
}

static int find(const char *s)
{
	for (unsigned i = 0; i < R.n; i++)
		if (strcmp(R.log[i], s) == 0)
			return (int)i;
	return -1;
}

static void handle(struct ipop_module *m, struct ipop_task *t)
{
	note(m->name, op_name(t->op), NULL);
	if (R.hold_next) {
		R.hold_next = false;
		R.held = t;
		return;
	}
	if (t->op == OP_FAIL) {
		ipop_task_complete(m->fw, t, IPOP_TASK_FAILED, -EIO, NULL);
		return;
	}
	json_object *res = json_object_new_object();
	json_object_object_add(res, "echo", json_object_new_int64(ipop_task_int(t, "v", -1) * 2));
	ipop_task_complete(m->fw, t, IPOP_TASK_OK, 0, res);
}

static int64_t last_echo;

static void done(struct ipop_module *m, struct ipop_task *t)
{
	json_object *v;

	note("done", op_name(t->op), ipop_task_status_name(t->status));
	if (t->result && json_object_object_get_ex(t->result, "echo", &v))
		last_echo = json_object_get_int64(v);
	CHECK(strcmp(t->origin, m->name) == 0);
}

static void tick(struct ipop_module *m, uint64_t now)
{
	R.timer_calls++;
}

static unsigned busy_calls;

static gboolean always_ready(gpointer data)
{
	busy_calls++;
	return G_SOURCE_CONTINUE;
}

static void run(GMainContext *ctx, int iters)
{
	for (int i = 0; i < iters; i++)
		g_main_context_iteration(ctx, FALSE);
}

static json_object *param(int64_t v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "v", json_object_new_int64(v));
	return o;
}

/* A task's binary body: copied in whole, read back only at its exact size,
 * refused when larger than the task holds. */
static void test_body(void)
{
	struct { uint64_t a; uint8_t b[40]; } x = { .a = 0x1122334455667788ull },
		big[IPOP_TASK_BODY_MAX / 48 + 1];
	struct ipop_task *t = ipop_task_new("a", "b", OP_BODY, NULL);

	memset(x.b, 0xab, sizeof(x.b));
	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(ipop_task_body(t, sizeof(x)) == NULL);          /* no body yet */
	CHECK(ipop_task_set_body(t, &x, sizeof(x)) == 0);
	const typeof(x) *got = ipop_task_body(t, sizeof(x));
	CHECK(got != NULL && got->a == x.a && memcmp(got->b, x.b, sizeof(x.b)) == 0);
	CHECK(ipop_task_body(t, sizeof(x) - 1) == NULL);      /* wrong size: not this type */
	CHECK(ipop_task_set_body(t, big, sizeof(big)) == -EMSGSIZE);
	CHECK(ipop_task_body(t, sizeof(x)) != NULL);          /* the refused copy left it */
	free(t);
}

/* Integer parameters, and flags: a JSON boolean reads as 1 or 0 (the link
 * manager once missed a departed member's "left": true, read as the default). */
static void test_params(void)
{
	json_object *p = json_object_new_object();
	struct ipop_task *t;

	json_object_object_add(p, "n", json_object_new_int64(42));
	json_object_object_add(p, "yes", json_object_new_boolean(true));
	json_object_object_add(p, "no", json_object_new_boolean(false));
	json_object_object_add(p, "s", json_object_new_string("7"));
	t = ipop_task_new("a", "b", OP_BODY, p);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(ipop_task_int(t, "n", -1) == 42);
	CHECK(ipop_task_int(t, "yes", 0) == 1 && ipop_task_int(t, "no", 1) == 0);
	CHECK(ipop_task_int(t, "s", -1) == -1 && ipop_task_int(t, "absent", -2) == -2);
	CHECK(ipop_task_str(t, "s") != NULL && ipop_task_str(t, "n") == NULL);
	json_object_put(t->params);
	free(t);
}

int main(void)
{
	GMainContext *ctx = g_main_context_new();
	struct ipop_fw fw;
	struct ipop_module a = { .name = "a", .handle_task = handle, .task_done = done };
	struct ipop_module b = { .name = "b", .handle_task = handle, .task_done = done,
				 .timer = tick, .timer_ms = 20 };
	struct ipop_module dup = { .name = "a" };
	char err[128];

	test_body();
	test_params();
	CHECK(ipop_fw_init(&fw, ctx) == 0);
	CHECK(ipop_fw_register(&fw, &a) == 0);
	CHECK(ipop_fw_register(&fw, &b) == 0);
	CHECK(ipop_fw_register(&fw, &dup) == -EEXIST);
	CHECK(ipop_fw_start(&fw, err, sizeof(err)) == 0);

	/* Delivery and return to the origin, asynchronously. */
	int64_t id1 = ipop_task_submit(&fw, ipop_task_new("a", "b", OP_PING, param(21)));
	CHECK(id1 > 0);
	CHECK(R.n == 0);   /* nothing happens inside submit */
	run(ctx, 5);
	CHECK(find("b:ping") == 0);
	CHECK(find("done:ping:ok") == 1);
	CHECK(last_echo == 42);

	/* Unknown target: back to the origin with no-target, never delivered. */
	R.n = 0;
	ipop_task_submit(&fw, ipop_task_new("a", "nobody", OP_LOST, NULL));
	run(ctx, 5);
	CHECK(R.n == 1 && find("done:lost:no-target") == 0);
	CHECK(fw.st.no_target == 1);

	/* Dependencies: 'second' depends on 'first', which the target holds. */
	R.n = 0;
	R.hold_next = true;
	int64_t first = ipop_task_submit(&fw, ipop_task_new("a", "b", OP_FIRST, NULL));
	struct ipop_task *t2 = ipop_task_new("b", "a", OP_SECOND, NULL);
	CHECK(ipop_task_depend(t2, (uint64_t)first) == 0);
	ipop_task_submit(&fw, t2);
	run(ctx, 10);
	CHECK(find("b:first") == 0);
	CHECK(find("a:second") < 0);   /* waits */
	CHECK(R.held != NULL);
	CHECK(ipop_task_complete(&fw, R.held, IPOP_TASK_OK, 0, NULL) == 0);
	R.held = NULL;
	run(ctx, 10);
	CHECK(find("done:first:ok") >= 0);
	CHECK(find("a:second") > find("b:first"));
	CHECK(find("done:second:ok") > find("a:second"));

	/* A failed dependency fails the dependent without delivering it. */
	R.n = 0;
	int64_t f = ipop_task_submit(&fw, ipop_task_new("a", "b", OP_FAIL, NULL));
	struct ipop_task *t3 = ipop_task_new("a", "b", OP_AFTER_FAIL, NULL);
	ipop_task_depend(t3, (uint64_t)f);
	ipop_task_submit(&fw, t3);
	run(ctx, 10);
	CHECK(find("done:fail:failed") >= 0);
	CHECK(find("b:after-fail") < 0);
	CHECK(find("done:after-fail:dependency-failed") >= 0);

	/* A dependency on an id that never existed cannot be met. */
	R.n = 0;
	struct ipop_task *t4 = ipop_task_new("a", "b", OP_ORPHAN, NULL);
	ipop_task_depend(t4, 999999);
	ipop_task_submit(&fw, t4);
	run(ctx, 5);
	CHECK(find("done:orphan:dependency-failed") == 0);

	/* Completing twice is refused. */
	R.hold_next = true;
	ipop_task_submit(&fw, ipop_task_new("a", "b", OP_TWICE, NULL));
	run(ctx, 5);
	struct ipop_task *h = R.held;
	CHECK(h != NULL && ipop_task_complete(&fw, h, IPOP_TASK_OK, 0, NULL) == 0);
	CHECK(ipop_task_complete(&fw, h, IPOP_TASK_OK, 0, NULL) == -EINVAL);
	run(ctx, 5);

	/* Tasks go on while another source of the loop is ready all the time
	 * (at GLib's idle priority, the pump never ran: a link request waited
	 * 2 s between signalling and the link manager). */
	GSource *busy = g_idle_source_new();
	g_source_set_priority(busy, G_PRIORITY_DEFAULT);
	g_source_set_callback(busy, always_ready, NULL, NULL);
	g_source_attach(busy, ctx);
	R.n = 0;
	last_echo = 0;
	ipop_task_submit(&fw, ipop_task_new("a", "b", OP_PING, param(7)));
	run(ctx, 20);
	CHECK(find("b:ping") == 0 && find("done:ping:ok") == 1 && last_echo == 14);
	CHECK(busy_calls >= 20);
	g_source_destroy(busy);
	g_source_unref(busy);

	/* Timers: module b ticks every 20 ms on this context. */
	R.timer_calls = 0;
	gint64 end = g_get_monotonic_time() + 150000;
	while (g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	CHECK(R.timer_calls >= 4 && R.timer_calls <= 9);

	/* Stop with a task held by a module and one queued: nothing leaks (ASan). */
	R.hold_next = true;
	ipop_task_submit(&fw, ipop_task_new("a", "b", OP_HELD, NULL));
	run(ctx, 5);
	ipop_task_submit(&fw, ipop_task_new("a", "b", OP_QUEUED, NULL));
	struct ipop_task *held = R.held;
	ipop_fw_stop(&fw);
	CHECK(held != NULL && ipop_task_complete(&fw, held, IPOP_TASK_OK, 0, NULL) == 0);
	CHECK(ipop_task_submit(&fw, ipop_task_new("a", "b", OP_LATE, NULL)) == -ESHUTDOWN);
	g_main_context_unref(ctx);
	return check_report("framework");
}
