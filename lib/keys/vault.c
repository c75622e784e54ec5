#include "vault.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

#define BLOB_VERSION  1
#define NONCE_LEN     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN	      crypto_aead_xchacha20poly1305_ietf_ABYTES
#define BLOB_OVERHEAD (1 + NONCE_LEN + TAG_LEN)
#define KCV_TEXT      "secretwatch key check"
#define KCV_AD	      "secretwatch:kcv:v1"

struct vault {
	unsigned char *key; /* VAULT_KEY_LEN bytes of sodium memory */
};

int vault_process_init(struct err *e)
{
	struct rlimit none = {0, 0};

	if (sodium_init() < 0) {
		err_set(e, "libsodium failed to initialise");
		return -1;
	}
	/* Plaintext must never reach a core file or a debugger. */
	if (setrlimit(RLIMIT_CORE, &none) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		err_set(e, "cannot disable core dumps: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int vbuf_alloc(struct vbuf *b, size_t len)
{
	b->p = sodium_malloc(len + 1);
	if (b->p == NULL) {
		b->len = 0;
		return -1;
	}
	b->len = len;
	b->p[len] = '\0';
	return 0;
}

void vbuf_free(struct vbuf *b)
{
	if (b->p != NULL)
		sodium_free(b->p); /* wipes before freeing */
	b->p = NULL;
	b->len = 0;
}

const char *vault_key_path(const char *configured)
{
	static char path[PATH_MAX];
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (dir == NULL || dir[0] == '\0')
		return configured;
	if (snprintf(path, sizeof(path), "%s/master.key", dir) >=
	    (int)sizeof(path))
		return configured;
	return path;
}

static struct vault *vault_alloc(void)
{
	struct vault *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->key = sodium_malloc(VAULT_KEY_LEN);
	if (v->key == NULL) {
		free(v);
		return NULL;
	}
	return v;
}

void vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	sodium_free(v->key);
	free(v);
}

/* Create the last component of path's directory as 0700 if missing. */
static int ensure_parent_dir(const char *path, struct err *e)
{
	char dir[PATH_MAX];

	path_dir(path, dir, sizeof(dir));
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	err_set(e,
		"cannot create directory %s: %s; create it or fix the path "
		"in the config",
		dir, strerror(errno));
	return -1;
}

static int write_all_sync(int fd, const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return fsync(fd);
}

static void sync_parent_dir(const char *path)
{
	char buf[PATH_MAX];
	int fd;

	path_dir(path, buf, sizeof(buf));
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Write the key of v to a new file at path (must not exist). */
static int write_key_file(const struct vault *v, const char *path,
			  struct err *e)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		err_set(e, "cannot create key file %s: %s", path,
			strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) != 0 ||
	    write_all_sync(fd, v->key, VAULT_KEY_LEN) != 0) {
		err_set(e, "cannot write key file %s: %s", path,
			strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

int vault_generate(struct vault **ret, struct err *e)
{
	struct vault *v = vault_alloc();

	if (v == NULL) {
		err_set(e, "out of memory for the key");
		return -1;
	}
	randombytes_buf(v->key, VAULT_KEY_LEN);
	*ret = v;
	return 0;
}

int vault_key_create(const char *path, int *ret_created, struct err *e)
{
	struct vault *v;
	int rc;

	*ret_created = 0;
	if (access(path, F_OK) == 0)
		return 0;
	if (ensure_parent_dir(path, e) || vault_generate(&v, e))
		return -1;
	rc = write_key_file(v, path, e);
	vault_free(v);
	if (rc == 0) {
		sync_parent_dir(path);
		*ret_created = 1;
	}
	return rc;
}

int vault_staged_path(const char *path, char *out, size_t size)
{
	return snprintf(out, size, "%s.new", path) < (int)size ? 0 : -1;
}

int vault_stage(const struct vault *v, const char *path, struct err *e)
{
	char tmp[PATH_MAX];

	if (vault_staged_path(path, tmp, sizeof(tmp))) {
		err_set(e, "key file path too long");
		return -1;
	}
	unlink(tmp);
	return write_key_file(v, tmp, e);
}

int vault_install(const char *path, struct err *e)
{
	char tmp[PATH_MAX];

	if (vault_staged_path(path, tmp, sizeof(tmp)) ||
	    rename(tmp, path) != 0) {
		err_set(e, "cannot move %s.new over %s: %s; move it by hand",
			path, path, strerror(errno));
		return -1;
	}
	sync_parent_dir(path);
	return 0;
}

void vault_unstage(const char *path)
{
	char tmp[PATH_MAX];

	if (vault_staged_path(path, tmp, sizeof(tmp)) == 0)
		unlink(tmp);
}

/* Whether path is in the directory where systemd put the unit's
 * credentials (it owns and guards them). */
static bool from_systemd(const char *path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	size_t n = dir != NULL ? strlen(dir) : 0;

	return n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* The key file's type, mode and owner, checked on the open descriptor:
 * a regular file, no access for others, and unless shared on purpose
 * (VAULT_SHARED: [store] key_group_read) none for the group and owned by
 * this user (root may read any owner's key). */
static int check_key_file(int fd, const char *path, unsigned flags,
			  struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e, "key file %s is not a regular file", path);
		return -1;
	}
	if (st.st_mode & 0007) {
		err_set(e,
			"key file %s is accessible to all users (mode %04o): "
			"run chmod 600 %s",
			path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if ((flags & VAULT_SHARED) || from_systemd(path))
		return 0;
	if (st.st_mode & 0070) {
		err_set(e,
			"key file %s is accessible to its group (mode %04o): "
			"run chmod 600 %s, or set [store] key_group_read = "
			"yes if that group should read it",
			path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_uid != geteuid() && geteuid() != 0) {
		err_set(e,
			"key file %s belongs to user %u, not to this user: "
			"run as its owner, or set [store] key_group_read = "
			"yes if it is shared on purpose",
			path, (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

static int read_key(int fd, const char *path, unsigned flags,
		    unsigned char *key, struct err *e)
{
	struct stat st;
	size_t got = 0;

	if (check_key_file(fd, path, flags, e) || fstat(fd, &st) != 0)
		return -1;
	if (st.st_size != VAULT_KEY_LEN) {
		err_set(e,
			"key file %s is %lld bytes, not %d: restore the key "
			"file that belongs to this database",
			path, (long long)st.st_size, VAULT_KEY_LEN);
		return -1;
	}
	while (got < VAULT_KEY_LEN) {
		ssize_t n = read(fd, key + got, VAULT_KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(e, "cannot read key file %s", path);
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int vault_open(const char *path, unsigned flags, struct vault **ret,
	       struct err *e)
{
	struct vault *v;
	int fd, rc;

	/* O_NONBLOCK: a FIFO put in the key's place must not hang us. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err_set(e,
			"cannot open key file %s: %s; run 'secretwatch init' "
			"or set [store] key_file",
			path, strerror(errno));
		return -1;
	}
	v = vault_alloc();
	if (v == NULL) {
		close(fd);
		err_set(e, "out of memory for the key");
		return -1;
	}
	rc = read_key(fd, path, flags, v->key, e);
	close(fd);
	if (rc != 0) {
		vault_free(v);
		return -1;
	}
	*ret = v;
	return 0;
}

int vault_encrypt(const struct vault *v, const void *pt, size_t len,
		  const char *ad, uint8_t **ret_blob, size_t *ret_len,
		  struct err *e)
{
	uint8_t *blob = malloc(len + BLOB_OVERHEAD);
	unsigned long long clen;

	if (blob == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	blob[0] = BLOB_VERSION;
	randombytes_buf(blob + 1, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    blob + 1 + NONCE_LEN, &clen, pt, len, (const uint8_t *)ad,
	    strlen(ad), NULL, blob + 1, v->key);
	*ret_blob = blob;
	*ret_len = 1 + NONCE_LEN + (size_t)clen;
	return 0;
}

int vault_decrypt(const struct vault *v, const uint8_t *blob, size_t len,
		  const char *ad, struct vbuf *ret, struct err *e)
{
	struct vbuf out;
	unsigned long long plen;

	if (len < BLOB_OVERHEAD || blob[0] != BLOB_VERSION) {
		err_set(e, "stored ciphertext is damaged or of an unknown "
			   "version: register the secret again");
		return -1;
	}
	if (vbuf_alloc(&out, len - BLOB_OVERHEAD)) {
		err_set(e, "out of guarded memory");
		return -1;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		(unsigned char *)out.p, &plen, NULL, blob + 1 + NONCE_LEN,
		len - 1 - NONCE_LEN, (const uint8_t *)ad, strlen(ad), blob + 1,
		v->key) != 0) {
		vbuf_free(&out);
		err_set(e, "stored secret does not decrypt for its row: the "
			   "database was altered or copied between rows; "
			   "register the secret again");
		return -1;
	}
	out.len = (size_t)plen;
	out.p[plen] = '\0';
	*ret = out;
	return 0;
}

int vault_kcv_make(const struct vault *v, uint8_t **ret_blob, size_t *ret_len,
		   struct err *e)
{
	return vault_encrypt(v, KCV_TEXT, strlen(KCV_TEXT), KCV_AD, ret_blob,
			     ret_len, e);
}

int vault_kcv_check(const struct vault *v, const uint8_t *blob, size_t len)
{
	struct vbuf pt;
	int ok;

	if (vault_decrypt(v, blob, len, KCV_AD, &pt, NULL))
		return -1;
	ok = pt.len == strlen(KCV_TEXT) &&
	     sodium_memcmp(pt.p, KCV_TEXT, pt.len) == 0;
	vbuf_free(&pt);
	return ok ? 0 : -1;
}

void vault_ad_secret(char out[VAULT_AD_MAX], int64_t credential_id,
		     int64_t secret_id)
{
	snprintf(out, VAULT_AD_MAX, "secretwatch:secret:v1:%lld:%lld",
		 (long long)credential_id, (long long)secret_id);
}

void vault_ad_token(char out[VAULT_AD_MAX], int64_t secret_id,
		    const char *scope)
{
	snprintf(out, VAULT_AD_MAX, "secretwatch:token:v1:%lld:%.80s",
		 (long long)secret_id, scope);
}

int vault_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void vault_json_wipe(cJSON *j)
{
	for (; j != NULL; j = j->next) {
		if (j->valuestring != NULL)
			sodium_memzero(j->valuestring, strlen(j->valuestring));
		if (j->child != NULL)
			vault_json_wipe(j->child);
	}
}
