#include "test_util.h"
Suite *cli_suite(void) { return suite_create("cli"); }
