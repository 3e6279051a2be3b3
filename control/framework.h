/* framework.h - the controller framework: modules with one job each, talking
 * through brokered asynchronous tasks (IPOP's CFx and CBTs), plus per-module
 * timers, all driven by one GLib main context. Thread: control.
 *
 * A task names its origin module, its target module, an operation (an enum
 * value; control/tasks.h lists the modules' operations), JSON parameters and
 * an optional binary body. ipop_task_submit() queues it; the broker (a one-shot source on the
 * framework's GMainContext) delivers it to the target's handle_task(); the
 * target finishes it, at once or later, with ipop_task_complete(), and the
 * broker hands it back to the origin's task_done() with a status and a JSON
 * result, then frees it. A task may depend on earlier tasks: it waits until
 * they are all complete and fails with IPOP_TASK_DEP_FAILED if one of them did
 * not succeed. A task for a module that is not registered comes back to its
 * origin with IPOP_TASK_NO_TARGET. docs/control-framework.md is the guide.
 */
#ifndef IPOP_CONTROL_FRAMEWORK_H
#define IPOP_CONTROL_FRAMEWORK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>

#include "dataplane/counters.h"

#define IPOP_FW_MAX_MODULES 16
#define IPOP_FW_NAME_LEN 24
#define IPOP_TASK_BODY_MAX 1024 /* bytes of binary body a task can carry (a link message) */
#define IPOP_TASK_MAX_DEPS 4
#define IPOP_FW_DONE_KEEP 4096   /* completed task ids remembered for dependencies */

enum ipop_task_status {
	IPOP_TASK_QUEUED,       /* submitted, not yet delivered */
	IPOP_TASK_WAITING,      /* waits for dependencies */
	IPOP_TASK_RUNNING,      /* delivered to the target */
	IPOP_TASK_OK,
	IPOP_TASK_FAILED,
	IPOP_TASK_NO_TARGET,
	IPOP_TASK_DEP_FAILED,
};

struct ipop_fw;
struct ipop_module;

struct ipop_task {
	uint64_t id;
	char origin[IPOP_FW_NAME_LEN];
	char target[IPOP_FW_NAME_LEN];
	int op;                        /* what to do: the modules' enum (control/tasks.h) */
	json_object *params;           /* owned by the task; may be NULL */
	size_t body_len;               /* 0: no body */
	_Alignas(8) uint8_t body[IPOP_TASK_BODY_MAX];   /* binary data, copied in */
	json_object *result;           /* set by the target; owned by the task */
	enum ipop_task_status status;
	int err;                       /* negative errno with IPOP_TASK_FAILED */
	uint64_t deps[IPOP_TASK_MAX_DEPS];
	unsigned n_deps;
	uint64_t submitted_ms, done_ms;
	struct ipop_task *next;        /* broker's queue link */
};

struct ipop_module {
	const char *name;
	void *state;                   /* the module's own */
	int (*init)(struct ipop_module *m, struct ipop_fw *fw);
	int (*start)(struct ipop_module *m);
	void (*stop)(struct ipop_module *m);
	/* As target: do t->op, then call ipop_task_complete() (now or later). */
	void (*handle_task)(struct ipop_module *m, struct ipop_task *t);
	/* As origin: t came back; the broker frees it after this returns. */
	void (*task_done)(struct ipop_module *m, struct ipop_task *t);
	void (*timer)(struct ipop_module *m, uint64_t now_ms);
	unsigned timer_ms;             /* 0: no timer */

	/* framework's */
	struct ipop_fw *fw;
	GSource *timer_src;
	uint64_t tasks_handled, tasks_done;
};

/* `show`: framework. X(name, meaning): dataplane/counters.h. */
#define IPOP_FW_COUNTERS(X) \
	X(submitted, "tasks submitted") \
	X(delivered, "tasks delivered to their target module") \
	X(completed, "tasks completed (by their target, or by the broker)") \
	X(returned, "completed tasks handed back to their origin module") \
	X(no_target, "tasks for a module that is not registered") \
	X(dep_failed, "tasks failed because a task they depended on did not succeed") \
	X(waiting, "tasks that had to wait for their dependencies")

struct ipop_fw_stats {
	IPOP_FW_COUNTERS(IPOP_COUNTER_FIELD)
};

struct ipop_fw {
	GMainContext *ctx;             /* NULL: the default context */
	struct ipop_module *mods[IPOP_FW_MAX_MODULES];
	unsigned n_mods;
	uint64_t next_id;
	struct ipop_task *queue, *queue_tail;   /* submitted, to deliver */
	struct ipop_task *waiting;              /* dependencies pending */
	struct ipop_task *returning, *returning_tail;   /* completed, to hand back */
	GSource *pump;
	GHashTable *done;              /* id -> status, for dependencies */
	uint64_t done_order[IPOP_FW_DONE_KEEP];
	unsigned done_head;
	unsigned running;              /* delivered, not yet completed */
	bool started;
	GHashTable *live;              /* ids submitted and not yet completed */
	struct ipop_fw_stats st;
};

int ipop_fw_init(struct ipop_fw *fw, GMainContext *ctx);
/* Register before ipop_fw_start; names are unique. */
int ipop_fw_register(struct ipop_fw *fw, struct ipop_module *m);
struct ipop_module *ipop_fw_module(struct ipop_fw *fw, const char *name);
/* init() then start() every module in registration order; timers begin. */
int ipop_fw_start(struct ipop_fw *fw, char *err, size_t errlen);
/* stop() in reverse order, timers removed, pending tasks dropped. */
void ipop_fw_stop(struct ipop_fw *fw);

/* A new task (params taken over, may be NULL); NULL on allocation failure.
 * The broker never looks at op: it is the two modules' business. */
struct ipop_task *ipop_task_new(const char *origin, const char *target, int op,
				json_object *params);
/* Copy len bytes into t's body: 0, or -EMSGSIZE over IPOP_TASK_BODY_MAX. */
int ipop_task_set_body(struct ipop_task *t, const void *body, size_t len);
/* t's body if it is exactly len bytes long, else NULL. */
const void *ipop_task_body(const struct ipop_task *t, size_t len);
int ipop_task_depend(struct ipop_task *t, uint64_t id);
/* Queue t (the broker owns it from now on); returns its id (> 0) or -errno. */
int64_t ipop_task_submit(struct ipop_fw *fw, struct ipop_task *t);
/* Finish a delivered task; result taken over (may be NULL). */
int ipop_task_complete(struct ipop_fw *fw, struct ipop_task *t, enum ipop_task_status status,
		       int err, json_object *result);
/* Deliver everything that is ready now (the idle source does this too). */
unsigned ipop_fw_dispatch(struct ipop_fw *fw);
const char *ipop_task_status_name(enum ipop_task_status s);
/* Parameter helpers: the string/integer member KEY of t->params or a default
 * (a boolean reads as 1 or 0). */
const char *ipop_task_str(const struct ipop_task *t, const char *key);
int64_t ipop_task_int(const struct ipop_task *t, const char *key, int64_t dflt);

#endif
