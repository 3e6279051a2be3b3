/* fuzz_config.c - libFuzzer target: the configuration parser
 * (ipop_cfg_load_string, control/config/config.c: libconfig's grammar, then
 * ipop's checks of every group and value), the one parser of operator input
 * that runs before anything else and must turn any text into either a
 * configuration or an error with a file:line message.
 *
 * Input: the text of a configuration file. Contract checked: 0 comes with no
 * error text; a negative return comes with a non-empty NUL-terminated error
 * that names the file; nothing else is returned. @include is resolved against
 * no directory, so a fuzzed include names a file that does not exist (an
 * error like any other). Thread: one. */
#include "control/config/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipop_cfg cfg;
	char err[512];
	char *text = malloc(size + 1);   /* exactly sized, NUL-terminated */

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(err, 0x5a, sizeof(err));
	err[0] = '\0';
	int rc = ipop_cfg_load_string(&cfg, text, "fuzz.conf", err, sizeof(err));
	if (rc == 0) {
		ipop_cfg_free(&cfg);
	} else if (rc > 0 || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0' ||
		   strstr(err, "fuzz.conf") == NULL) {
		abort();
	}
	free(text);
	return 0;
}
