/* watch_types.h - what the cycle and its steps share: the context
 * of a cycle, its report, and what a rotation is asked to make and says
 * it made, and where a context gets tokens from. Every step includes it,
 * none includes watch.h. */
#ifndef SW_WATCH_TYPES_H
#define SW_WATCH_TYPES_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "entra.h"
#include "log.h"
#include "store.h"
#include "token.h"

struct watch_ctx {
	struct store *store;
	const struct vault *vault;
	const struct config *cfg;
	int64_t now;
	bool dry_run; /* watch_cycle: plan and report, change and send
			 nothing */
	log_fn *log;  /* one line per step, never a secret; NULL: silent */
	void *log_arg;
	const struct entra_retry *retry; /* NULL: ENTRA_RETRY_DEFAULT */
	/* When set and it becomes non-zero, the cycle stops between steps. */
	volatile sig_atomic_t *stop;
	/* NULL, or the tick of the transfers of watch_test() (net.h): a
	 * front end's progress line while a test waits. */
	int (*tick)(void *arg, int proto);
	void *tick_arg;
};

struct watch_report {
	int credentials;
	int levels[5]; /* per enum level */
	int warnings;  /* alerts queued */
	int switches;
	int switch_retries;
	int switch_failures;
	int health_checks;
	int health_failures;
	int delivered;
	int delivery_failures; /* attempts that failed (retried later) */
	int deploy_failures;   /* of which deploy hook runs */
	int rotations;	       /* new secrets made through Graph */
	int revocations;       /* old secrets removed from Entra */
	int graph_failures;    /* Graph calls that failed */
	int64_t next_wake;     /* the earliest deadline found */
};

/* watch_switch_now and watch_rotate_switch: the material passed its test
 * but was retired or switched to by another process meanwhile. */
#define WATCH_SWITCH_LOST 2

/* What a rotation makes (watch_rotate.c): the kind follows the active
 * material's (watch_rotation_of), except for a move to a certificate. */
struct watch_rotation {
	enum secret_kind kind;
	int days;	  /* certificates: valid this long (0: [rotate]) */
	int bits;	  /* certificates: 2048 or 3072 (0: 2048) */
	const char *note; /* NULL: the rotation's display name only */
	/* A person's own (cert new --upload, migrate): a certificate made
	 * here stays pending when Graph refuses it (to be uploaded by hand),
	 * and what is made is not the watchdog's to remove from Entra when
	 * it fails or is superseded. Else the watchdog's (made_by_rotation). */
	bool manual;
	/* The watchdog's own, when the active one nears its expiry: what
	 * would expire before the active one is not made at all. */
	bool scheduled;
};

/* What watch_rotate_new did, or (dry run) would do. */
struct watch_new_report {
	enum secret_kind kind;
	char display_name[ROTATION_NAME_MAX + 1]; /* dry run: before " #N" */
	int64_t end;	      /* the endDateTime asked for */
	const char *add_call; /* dry run: "addPassword", "addKey", ... */
	bool recover;	      /* an interrupted rotation was (to be) found */
	bool reused;	   /* secret is one made earlier, still waiting for its
			      switch: none was made */
	bool in_flight;	   /* another process is rotating it */
	bool graph_failed; /* Graph refused: diag says why */
	struct diag diag;  /* when graph_failed */
	/* The new pending row, when made (or kept: manual). */
	struct secret_info secret;
};

/* Where w gets Outlook tokens from (lib/token), with net filled. */
void watch_token_src(const struct watch_ctx *w, struct net_opts *net,
		     struct token_src *ret);

#endif
