/*
 * conf_dump.c: prints the effective services in a canonical form, one
 * attribute per line in a fixed order, with every default already applied.
 * The output is itself a valid configuration that reads back to the same
 * services, which `porterd -T`, the tests and the fuzzer rely on. How each
 * value is written, and which are shown, is the attribute table's to say.
 */
#include <stdlib.h>

#include "conf.h"

void
conf_dump(const struct config *cf, FILE *fp)
{
	fputs("# porter: the effective services, with defaults applied\n", fp);
	for (size_t i = 0; i < cf->nsvc; i++) {
		const struct service_config *s = cf->svc[i];

		fprintf(fp, "\nservice %s\n{\n", s->name);
		for (int id = 0; id < A_MAX; id++) {
			const struct conf_attr *a = conf_attr_get((enum attr_id)id);

			if (a->dump == NULL ||
			    !(a->shown != NULL ? a->shown(s, a) :
			                         conf_service_has(s, (enum attr_id)id)))
				continue;
			char *val = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&val, &len);

			if (m == NULL)
				abort();
			a->dump(m, s, a);
			fclose(m);
			/* An empty list is a value too: "only_from =" denies all. */
			fprintf(fp, "\t%-18s=%s%s\n", a->name, len ? " " : "", val);
			free(val);
		}
		fputs("}\n", fp);
	}
}
