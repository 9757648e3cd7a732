/* The start-up every harness shares (see fuzz.h). */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rs_log_set_level(RS_LOG_ERR);
	if (fz_setup)
		fz_setup();
	return 0;
}
