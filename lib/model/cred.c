#include "cred.h"

#include <string.h>

static const char *const state_names[] = {
    [SECRET_PENDING] = "pending",   [SECRET_ACTIVE] = "active",
    [SECRET_PREVIOUS] = "previous", [SECRET_RETIRED] = "retired",
    [SECRET_FAILED] = "failed",	    [SECRET_REVOKED] = "revoked",
};

const char *secret_state_name(enum secret_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
}

const char *secret_kind_name(enum secret_kind k)
{
	return k == SECRET_KIND_CERTIFICATE ? "certificate" : "secret";
}

const char *secret_kind_noun(enum secret_kind k)
{
	return k == SECRET_KIND_CERTIFICATE ? "certificate" : "client secret";
}

bool cred_reads_only(const struct cred *c)
{
	return c->sweep && c->sender[0] == '\0';
}

enum secret_kind secret_kind_parse(const char *name)
{
	return strcmp(name, secret_kind_name(SECRET_KIND_CERTIFICATE)) == 0
		   ? SECRET_KIND_CERTIFICATE
		   : SECRET_KIND_SECRET;
}

int secret_state_parse(const char *name, enum secret_state *ret)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]);
	     i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*ret = (enum secret_state)i;
			return 0;
		}
	}
	return -1;
}

/* The length of the UTF-8 sequence that starts with byte c. */
static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
}

void secret_hint(const char *value, size_t len, char out[4])
{
	size_t n = 0, chars = 0;

	while (chars < 3 && n < len) {
		size_t step = utf8_len((unsigned char)value[n]);
		if (n + step > 3 || n + step > len)
			break;
		n += step;
		chars++;
	}
	memcpy(out, value, n);
	out[n] = '\0';
}
