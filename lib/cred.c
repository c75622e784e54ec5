#include "cred.h"

#include <string.h>

static const char *const state_names[] = {
	[SECRET_PENDING] = "pending",   [SECRET_ACTIVE] = "active",
	[SECRET_PREVIOUS] = "previous", [SECRET_RETIRED] = "retired",
	[SECRET_FAILED] = "failed",
};

const char *secret_state_name(enum secret_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
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
