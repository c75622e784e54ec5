/* graph_impl.h - shared by graph.c and graph_list.c only: reading the
 * JSON of Graph's replies. */
#ifndef SW_GRAPH_IMPL_H
#define SW_GRAPH_IMPL_H

#include <cjson/cJSON.h>

#include "graph.h"

/* The string member key of obj, or NULL. */
const char *graph_json_str(const cJSON *obj, const char *key);

/* src (NULL: "") on one line into dst of dstsz bytes. */
void graph_copy_str(char *dst, size_t dstsz, const char *src);

/* Whether s is a GUID, as key IDs and object IDs are. */
int graph_guid_ok(const char *s);

/* One passwordCredential or keyCredential object into *ret. Returns 0,
 * or -1 when it has no well-formed keyId. */
int graph_parse_password(const cJSON *o, struct graph_password *ret);
int graph_parse_key(const cJSON *o, struct graph_key *ret);

#endif
