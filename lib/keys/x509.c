#include "x509.h"

#include <string.h>

const char *x509_alg_name(enum x509_alg alg)
{
	return alg == X509_RS256 ? "RS256" : "PS256";
}

int x509_alg_parse(const char *name, enum x509_alg *ret)
{
	if (strcmp(name, "PS256") == 0)
		*ret = X509_PS256;
	else if (strcmp(name, "RS256") == 0)
		*ret = X509_RS256;
	else
		return -1;
	return 0;
}

void x509_key_free(struct x509_key *k)
{
	vbuf_free(&k->der);
}
