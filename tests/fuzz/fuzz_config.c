/*
 * The configuration file: any JSON text on top of the defaults, then the
 * rooms it names as the hub would use them (listen forms, room lookups).
 */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct rs_config cfg;
	char err[256];
	config_default(&cfg);
	if (config_parse(&cfg, text, err, sizeof err) == 0) {
		for (size_t i = 0; i < cfg.n_rooms; i++)
			if (config_room(&cfg, cfg.rooms[i].id) != &cfg.rooms[i])
				abort(); /* config_parse refuses duplicate ids */
	} else if (!err[0]) {
		abort(); /* every refusal names its reason */
	}
	config_free(&cfg);
	/* The --listen form of the same text. */
	config_default(&cfg);
	(void)!config_set_listen(&cfg, text);
	config_free(&cfg);
	free(text);
	return 0;
}
