/* check_main.c - the one test runner: every suite, Check's summary line. */
#include "test_util.h"

#include <stdlib.h>

int main(void)
{
    SRunner *sr = srunner_create(gemm_suite());
    srunner_add_suite(sr, conv_suite());
    srunner_add_suite(sr, gradient_suite());
    srunner_add_suite(sr, metrics_suite());
    srunner_add_suite(sr, optim_suite());
    srunner_add_suite(sr, augment_suite());
    srunner_add_suite(sr, config_suite());
    srunner_add_suite(sr, idx_suite());
    srunner_add_suite(sr, source_suite());
    srunner_add_suite(sr, colour_suite());
    srunner_add_suite(sr, segment_suite());
    srunner_add_suite(sr, detect_suite());
    srunner_add_suite(sr, export_suite());
    srunner_add_suite(sr, ckpt_suite());
    srunner_add_suite(sr, cli_suite());
    srunner_add_suite(sr, tools_suite());
    srunner_add_suite(sr, mpi_suite());
    srunner_add_suite(sr, resume_suite());
    srunner_add_suite(sr, corpus_suite());
    srunner_add_suite(sr, surface_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
