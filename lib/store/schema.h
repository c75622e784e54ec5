/* schema.h - the numbered migrations of schema/, compiled in. */
#ifndef SW_SCHEMA_H
#define SW_SCHEMA_H

struct schema_migration {
	int version;	  /* NNN of schema/NNN_name.sql */
	const char *name; /* the file name */
	const char *sql;  /* its statements */
};

extern const struct schema_migration schema_migrations[];
extern const int schema_migration_count;

#endif
