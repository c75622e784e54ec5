/* fill_store DB KEY N - make a store with N credentials of two secrets
 * each (one active, one pending), encrypted as the CLI would, in one
 * transaction. For the benchmarks only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "store.h"
#include "timefmt.h"

static int add_secret(struct store *s, struct vault *v, int64_t cred_id,
		      int64_t i, int k, int64_t now, struct err *e)
{
	struct secret_info si = {.credential_id = cred_id,
				 .created_at = now + k,
				 .expires_at = now + (10 + (i + k * 37) % 700) * 86400};
	char value[80];

	snprintf(value, sizeof(value), "b%02d~bench-secret-%lld-%d", k,
		 (long long)i, k);
	memcpy(si.hint, value, 3);
	if (store_secret_add(s, v, &si, value, strlen(value), e))
		return -1;
	return k == 0 ? store_secret_activate(s, cred_id, si.id, now, e) : 0;
}

int main(int argc, char **argv)
{
	struct store *s;
	struct vault *v;
	struct err e;
	int64_t n, now = timefmt_now();
	int created, written;

	if (argc != 4 || num_parse_i64(argv[3], 1, 10000000, &n)) {
		fprintf(stderr, "usage: fill_store DB KEY N\n");
		return 1;
	}
	if (vault_process_init(&e) || vault_key_create(argv[2], &created, &e) ||
	    store_open(argv[1], STORE_CREATE, &s, &e) ||
	    vault_open(argv[2], &v, &e) || store_key_init(s, v, &written, &e) ||
	    store_begin(s, &e))
		goto fail;
	for (int64_t i = 0; i < n; i++) {
		struct cred c = {.created_at = now};
		snprintf(c.name, sizeof(c.name), "cred-%06lld", (long long)i);
		snprintf(c.tenant, sizeof(c.tenant), "t%lld.onmicrosoft.com",
			 (long long)i % 100);
		snprintf(c.client_id, sizeof(c.client_id),
			 "11111111-2222-3333-4444-%012lld",
			 (long long)(i % 1000000000000LL));
		snprintf(c.sender, sizeof(c.sender), "alerts%lld@contoso.com",
			 (long long)i);
		strcpy(c.cloud, "global");
		if (store_cred_add(s, &c, &e) ||
		    add_secret(s, v, c.id, i, 0, now, &e) ||
		    add_secret(s, v, c.id, i, 1, now, &e))
			goto fail;
	}
	if (store_commit(s, &e))
		goto fail;
	store_close(s);
	vault_free(v);
	return 0;
fail:
	fprintf(stderr, "fill_store: %s\n", e.msg);
	return 1;
}
