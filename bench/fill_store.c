/* fill_store DB KEY N [--idle] [--health AUTHORITY TENANT CLIENT SECRETFILE]
 *
 * Make a store with N credentials for the benchmarks, encrypted as the
 * CLI would, in one transaction:
 *   default   each with an active and a pending secret (for status);
 *   --idle    each with one active secret, tested now, expiring in 60 to
 *             700 days: a cycle finds nothing due;
 *   --health  each with one active secret, never tested, whose value is
 *             read from SECRETFILE, against the token endpoint AUTHORITY:
 *             a cycle health-checks every credential. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "store.h"
#include "timefmt.h"

enum mode { MODE_STATUS, MODE_IDLE, MODE_HEALTH };

struct opts {
	const char *db, *key;
	int64_t n;
	enum mode mode;
	const char *authority, *tenant, *client;
	char secret[256];
};

static int add_secret(struct store *s, struct vault *v, const struct opts *o,
		      int64_t cred_id, int64_t i, int k, int64_t now,
		      struct err *e)
{
	int64_t days =
	    o->mode == MODE_STATUS ? 10 + (i + k * 37) % 700 : 60 + i % 640;
	struct secret_info si = {.credential_id = cred_id,
				 .created_at = now + k,
				 .expires_at = now + days * 86400};
	char value[300];

	if (o->mode == MODE_HEALTH)
		snprintf(value, sizeof(value), "%s", o->secret);
	else
		snprintf(value, sizeof(value), "b%02d~bench-secret-%lld-%d", k,
			 (long long)i, k);
	memcpy(si.hint, value, 3);
	if (store_secret_add(s, v, &si, value, strlen(value), e))
		return -1;
	if (k != 0)
		return 0;
	if (store_secret_activate(s, cred_id, si.id, now, e))
		return -1;
	return o->mode == MODE_IDLE
		   ? store_secret_record_test(s, si.id, now, 1, "ok", e)
		   : 0;
}

static int add_cred(struct store *s, struct vault *v, const struct opts *o,
		    int64_t i, int64_t now, struct err *e)
{
	struct cred c = {.created_at = now};

	snprintf(c.name, sizeof(c.name), "cred-%06lld", (long long)i);
	snprintf(c.tenant, sizeof(c.tenant), "%s",
		 o->tenant ? o->tenant : "contoso.onmicrosoft.com");
	if (o->client)
		snprintf(c.client_id, sizeof(c.client_id), "%s", o->client);
	else
		snprintf(c.client_id, sizeof(c.client_id),
			 "11111111-2222-3333-4444-%012llu",
			 (unsigned long long)i % 1000000000000ULL);
	snprintf(c.sender, sizeof(c.sender), "alerts%lld@contoso.com",
		 (long long)i);
	strcpy(c.cloud, "global");
	if (o->authority && strlen(o->authority) < sizeof(c.authority_url))
		memcpy(c.authority_url, o->authority, strlen(o->authority) + 1);
	if (store_cred_add(s, &c, e) || add_secret(s, v, o, c.id, i, 0, now, e))
		return -1;
	return o->mode == MODE_STATUS ? add_secret(s, v, o, c.id, i, 1, now, e)
				      : 0;
}

static int read_secret(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL || fgets(out, (int)size, f) == NULL) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int parse(int argc, char **argv, struct opts *o)
{
	if (argc < 4 || num_parse_i64(argv[3], 1, 10000000, &o->n))
		return -1;
	o->db = argv[1];
	o->key = argv[2];
	if (argc == 5 && strcmp(argv[4], "--idle") == 0) {
		o->mode = MODE_IDLE;
		return 0;
	}
	if (argc == 9 && strcmp(argv[4], "--health") == 0) {
		o->mode = MODE_HEALTH;
		o->authority = argv[5];
		o->tenant = argv[6];
		o->client = argv[7];
		return read_secret(argv[8], o->secret, sizeof(o->secret));
	}
	return argc == 4 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct store *s;
	struct vault *v;
	struct err e;
	int64_t now = timefmt_now();
	int created, written;

	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: fill_store DB KEY N [--idle | --health "
				"AUTHORITY TENANT CLIENT SECRETFILE]\n");
		return 1;
	}
	if (vault_process_init(&e) || vault_key_create(o.key, &created, &e) ||
	    store_open(o.db, STORE_CREATE, &s, &e) ||
	    vault_open(o.key, 0, &v, &e) ||
	    store_key_init(s, v, &written, &e) || store_begin(s, &e))
		goto fail;
	for (int64_t i = 0; i < o.n; i++)
		if (add_cred(s, v, &o, i, now, &e))
			goto fail;
	if (store_commit(s, &e))
		goto fail;
	store_close(s);
	vault_free(v);
	return 0;
fail:
	fprintf(stderr, "fill_store: %s\n", e.msg);
	return 1;
}
