#include "test_util.h"
Suite *config_suite(void) { return suite_create("config"); }
Suite *idx_suite(void) { return suite_create("idx"); }
Suite *ckpt_suite(void) { return suite_create("ckpt"); }
Suite *cli_suite(void) { return suite_create("cli"); }
