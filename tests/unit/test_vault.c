#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vault.h"

static char dir[] = "/tmp/sw-vault-XXXXXX";

static void path_in(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void test_roundtrip_and_ad(void **state)
{
	struct vault *v;
	struct vbuf pt;
	struct err e;
	uint8_t *blob, *blob2;
	size_t len, len2;
	char ad[VAULT_AD_MAX], ad2[VAULT_AD_MAX];

	(void)state;
	assert_int_equal(vault_generate(&v, &e), 0);
	vault_ad_secret(ad, 1, 2);
	vault_ad_secret(ad2, 1, 3);
	assert_int_equal(vault_encrypt(v, "hello", 5, ad, &blob, &len, &e), 0);
	assert_int_equal(vault_encrypt(v, "hello", 5, ad, &blob2, &len2, &e),
			 0);
	/* Fresh nonce each time: same plaintext, different blobs. */
	assert_int_equal(len, len2);
	assert_memory_not_equal(blob, blob2, len);
	assert_null(memmem(blob, len, "hello", 5));
	assert_int_equal(vault_decrypt(v, blob, len, ad, &pt, &e), 0);
	assert_int_equal(pt.len, 5);
	assert_string_equal(pt.p, "hello");
	vbuf_free(&pt);
	/* Another row's associated data does not open it. */
	assert_int_equal(vault_decrypt(v, blob, len, ad2, &pt, &e), -1);
	assert_non_null(strstr(e.msg, "row"));
	/* A flipped bit is refused. */
	blob[len - 1] ^= 1;
	assert_int_equal(vault_decrypt(v, blob, len, ad, &pt, &e), -1);
	free(blob);
	free(blob2);
	vault_free(v);
}

static void test_kcv(void **state)
{
	struct vault *a, *b;
	struct err e;
	uint8_t *kcv;
	size_t len;

	(void)state;
	assert_int_equal(vault_generate(&a, &e), 0);
	assert_int_equal(vault_generate(&b, &e), 0);
	assert_int_equal(vault_kcv_make(a, &kcv, &len, &e), 0);
	assert_int_equal(vault_kcv_check(a, kcv, len), 0);
	assert_int_equal(vault_kcv_check(b, kcv, len), -1);
	free(kcv);
	vault_free(a);
	vault_free(b);
}

static void test_key_file(void **state)
{
	char path[256];
	struct vault *v;
	struct stat st;
	struct err e;
	int created;

	(void)state;
	path_in(path, sizeof(path), "sub/master.key");
	assert_int_equal(vault_key_create(path, &created, &e), 0);
	assert_int_equal(created, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, VAULT_KEY_LEN);
	path_in(path, sizeof(path), "sub");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	path_in(path, sizeof(path), "sub/master.key");
	assert_int_equal(vault_key_create(path, &created, &e), 0);
	assert_int_equal(created, 0);
	assert_int_equal(vault_open(path, 0, &v, &e), 0);
	vault_free(v);
	/* World-readable keys are refused. */
	chmod(path, 0644);
	assert_int_equal(vault_open(path, 0, &v, &e), -1);
	assert_non_null(strstr(e.msg, "chmod 600"));
	/* Group-readable ones only when shared on purpose. */
	chmod(path, 0640);
	assert_int_equal(vault_open(path, 0, &v, &e), -1);
	assert_non_null(strstr(e.msg, "key_group_read"));
	assert_int_equal(vault_open(path, VAULT_SHARED, &v, &e), 0);
	vault_free(v);
	chmod(path, 0600);
	/* A short key file is refused. */
	truncate(path, 16);
	assert_int_equal(vault_open(path, 0, &v, &e), -1);
	assert_non_null(strstr(e.msg, "16 bytes"));
	/* A FIFO in its place is refused at once, not waited on. */
	path_in(path, sizeof(path), "fifo.key");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(vault_open(path, 0, &v, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
	unlink(path);
	path_in(path, sizeof(path), "missing.key");
	assert_int_equal(vault_open(path, 0, &v, &e), -1);
	assert_non_null(strstr(e.msg, "secretwatch init"));
}

static void test_stage_install(void **state)
{
	char path[256], staged[300];
	struct vault *a, *b;
	struct err e;
	uint8_t *kcv;
	size_t len;
	int created;

	(void)state;
	path_in(path, sizeof(path), "rekey.key");
	assert_int_equal(vault_key_create(path, &created, &e), 0);
	assert_int_equal(vault_generate(&b, &e), 0);
	assert_int_equal(vault_stage(b, path, &e), 0);
	assert_int_equal(vault_staged_path(path, staged, sizeof(staged)), 0);
	assert_int_equal(access(staged, F_OK), 0);
	assert_int_equal(vault_install(path, &e), 0);
	assert_int_not_equal(access(staged, F_OK), 0);
	assert_int_equal(vault_open(path, 0, &a, &e), 0);
	assert_int_equal(vault_kcv_make(b, &kcv, &len, &e), 0);
	assert_int_equal(vault_kcv_check(a, kcv, len), 0);
	free(kcv);
	vault_free(a);
	vault_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_and_ad),
	    cmocka_unit_test(test_kcv),
	    cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_stage_install),
	};
	struct err e;
	int rc;

	if (mkdtemp(dir) == NULL || vault_process_init(&e) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
