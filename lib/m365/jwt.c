#include "jwt.h"
#include "vault.h"

#include <stdio.h>
#include <string.h>

#include "secmem.h"
#include "text.h"
#include <cjson/cJSON.h>

/* Larger payloads are not access tokens we understand. */
#define JWT_PAYLOAD_MAX (16 * 1024)

static void copy_claim(char *dst, size_t dstsz, const cJSON *it)
{
	if (cJSON_IsArray(it))
		it = cJSON_GetArrayItem(it, 0);
	if (!cJSON_IsString(it))
		return;
	text_copy(dst, dstsz, it->valuestring, strlen(it->valuestring), '?');
}

static void str_claim(char *dst, size_t dstsz, const cJSON *obj,
		      const char *key)
{
	copy_claim(dst, dstsz, cJSON_GetObjectItemCaseSensitive(obj, key));
}

static int64_t num_claim(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!cJSON_IsNumber(it))
		return 0;
	d = cJSON_GetNumberValue(it);
	if (!(d >= 0 && d < 9.2e18))
		return 0;
	return (int64_t)d;
}

/* The payload of a JWT (the part between its dots), base64url-decoded
 * into secure memory *ret_bin of capacity *ret_cap + 1, NUL-terminated.
 * Returns its length, or -1 with e. */
static long decode_payload(const char *token, size_t len,
			   unsigned char **ret_bin, size_t *ret_cap,
			   struct err *e)
{
	const char *dot1, *dot2, *p;
	size_t plen, binlen = 0;

	if (token == NULL || len == 0) {
		err_set(e, "empty access token");
		return -1;
	}
	dot1 = memchr(token, '.', len);
	if (dot1 == NULL) {
		err_set(e, "the access token is not a JWT (no '.')");
		return -1;
	}
	p = dot1 + 1;
	dot2 = memchr(p, '.', len - (size_t)(p - token));
	if (dot2 == NULL) {
		err_set(e, "the access token is not a JWT (one '.')");
		return -1;
	}
	plen = (size_t)(dot2 - p);
	while (plen > 0 && p[plen - 1] == '=')
		plen--;
	if (plen == 0 || plen > JWT_PAYLOAD_MAX * 4 / 3 + 4) {
		err_set(e, "the access token's payload is empty or too large");
		return -1;
	}
	*ret_cap = plen * 3 / 4 + 3;
	if ((*ret_bin = secmem_alloc(*ret_cap + 1)) == NULL) {
		err_set(e, "out of secure memory decoding the access token");
		return -1;
	}
	if (secmem_base64url_decode(*ret_bin, *ret_cap, p, plen, &binlen) !=
	    0) {
		err_set(e, "the access token's payload is not base64url");
		return -1;
	}
	(*ret_bin)[binlen] = '\0';
	return (long)binlen;
}

/* The roles claim: an array of strings, or one string. */
static void parse_roles(const cJSON *root, struct jwt_claims *ret)
{
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(root, "roles");
	const cJSON *r;

	if (cJSON_IsArray(roles)) {
		ret->has_roles = true;
		cJSON_ArrayForEach(r, roles)
		{
			if (ret->n_roles >= JWT_ROLES_MAX)
				break;
			if (!cJSON_IsString(r) ||
			    strlen(r->valuestring) >= JWT_ROLE_MAX)
				continue;
			copy_claim(ret->roles[ret->n_roles],
				   sizeof(ret->roles[0]), r);
			ret->n_roles++;
		}
	} else if (cJSON_IsString(roles)) {
		/* Not how Entra sends it, but unambiguous. */
		ret->has_roles = true;
		if (strlen(roles->valuestring) < JWT_ROLE_MAX) {
			copy_claim(ret->roles[0], sizeof(ret->roles[0]), roles);
			ret->n_roles = 1;
		}
	}
}

static void parse_claims(const cJSON *root, struct jwt_claims *ret)
{
	str_claim(ret->aud, sizeof(ret->aud), root, "aud");
	str_claim(ret->iss, sizeof(ret->iss), root, "iss");
	str_claim(ret->appid, sizeof(ret->appid), root, "appid");
	if (ret->appid[0] == '\0')
		str_claim(ret->appid, sizeof(ret->appid), root, "azp");
	str_claim(ret->tid, sizeof(ret->tid), root, "tid");
	str_claim(ret->oid, sizeof(ret->oid), root, "oid");
	str_claim(ret->idtyp, sizeof(ret->idtyp), root, "idtyp");
	str_claim(ret->ver, sizeof(ret->ver), root, "ver");
	ret->exp = num_claim(root, "exp");
	ret->iat = num_claim(root, "iat");
	ret->nbf = num_claim(root, "nbf");
	parse_roles(root, ret);
}

int jwt_decode(const char *token, size_t len, struct jwt_claims *ret,
	       struct err *e)
{
	unsigned char *bin = NULL;
	size_t cap = 0;
	cJSON *root = NULL;
	long binlen;
	int rv = -1;

	memset(ret, 0, sizeof(*ret));
	if ((binlen = decode_payload(token, len, &bin, &cap, e)) < 0)
		goto out;
	root = cJSON_ParseWithLength((const char *)bin, (size_t)binlen);
	if (!cJSON_IsObject(root)) {
		err_set(e, "the access token's payload is not a JSON object");
		goto out;
	}
	parse_claims(root, ret);
	rv = 0;
out:
	if (root != NULL) {
		vault_json_wipe(root);
		cJSON_Delete(root);
	}
	if (bin != NULL) {
		secmem_wipe(bin, cap + 1);
		secmem_free(bin);
	}
	if (rv != 0)
		memset(ret, 0, sizeof(*ret));
	return rv;
}

bool jwt_has_role(const struct jwt_claims *c, const char *role)
{
	if (c == NULL || role == NULL)
		return false;
	for (size_t i = 0; i < c->n_roles; i++)
		if (strcmp(c->roles[i], role) == 0)
			return true;
	return false;
}

void jwt_roles_str(const struct jwt_claims *c, char *out, size_t outsz)
{
	size_t n = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; c != NULL && i < c->n_roles; i++) {
		int w = snprintf(out + n, outsz - n, "%s%s", i ? "," : "",
				 c->roles[i]);

		if (w < 0 || (size_t)w >= outsz - n) {
			out[n] = '\0';
			break;
		}
		n += (size_t)w;
	}
}
