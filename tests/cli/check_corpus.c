/* check_corpus.c - every file of tests/corpus/ is refused with exit status 2
 * and exactly its .expected message (see tests/corpus/README). */
#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *replace_all(const char *text, const char *from, const char *to)
{
    size_t count = 0, nf = strlen(from), nt = strlen(to);
    for (const char *p = text; (p = strstr(p, from)) != NULL; p += nf)
        count++;
    char *out = malloc(strlen(text) + count * (nt > nf ? nt - nf : 0) + 1), *o = out;
    for (const char *p = text; *p;) {
        if (strncmp(p, from, nf) == 0) {
            memcpy(o, to, nt);
            o += nt;
            p += nf;
        } else
            *o++ = *p++;
    }
    *o = 0;
    return out;
}

static const char *kinds[] = {"config", "idx", "ckpt", "cifar", "images", "list", "boxes"};

START_TEST(test_corpus)
{
    const char *tests = getenv("TESTS_DIR");
    ck_assert_msg(tests != NULL, "TESTS_DIR must name the tests folder (make check sets it)");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/corpus/%s", tests, kinds[_i]);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int cases = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || strcmp(dot, ".expected") != 0)
            continue;
        char stem[512], input[4700], cmd[12000], expected_path[4700];
        snprintf(stem, sizeof stem, "%.*s", (int)(dot - e->d_name), e->d_name);
        snprintf(expected_path, sizeof expected_path, "%s/%s", dir, e->d_name);
        if (_i == 0) {
            snprintf(input, sizeof input, "%s/%s.ini", dir, stem);
            snprintf(cmd, sizeof cmd, "train '%s'", input);
        } else if (_i == 1) {
            snprintf(input, sizeof input, "%s/%s.idx", dir, stem);
            if (!file_exists(input))
                snprintf(input, sizeof input, "%s/%s.gz", dir, stem);
            snprintf(cmd, sizeof cmd, "train '%s/run.ini' --set data.%s='%s'", dir,
                     strncmp(stem, "labels-", 7) == 0 ? "train_labels" : "train_images", input);
        } else if (_i >= 3) {
            /* the one file of that name besides the .expected */
            static const char *const exts[] = {".bin", ".gz", ".png", ".jpg", ".txt"};
            for (int x = 0; x < 5; x++) {
                snprintf(input, sizeof input, "%s/%s%s", dir, stem, exts[x]);
                if (file_exists(input))
                    break;
            }
            if (_i == 3 || _i == 5)
                snprintf(cmd, sizeof cmd, "train '%s/run.ini' --set data.train_images='%s'", dir, input);
            else if (_i == 6)
                snprintf(cmd, sizeof cmd, "train '%s/run.ini' --set data.train_labels='%s'", dir, input);
            else
                snprintf(cmd, sizeof cmd, "filter --kernel identity '%s' -o /nonexistent/never-written.png", input);
        } else {
            snprintf(input, sizeof input, "%s/%s.ckpt", dir, stem);
            snprintf(cmd, sizeof cmd, "eval '%s' --images '%s/corpus/data/train-images-idx3-ubyte' "
                     "--labels '%s/corpus/data/train-labels-idx1-ubyte'", input, tests, tests);
        }
        ck_assert_msg(file_exists(input), "no input for %s", expected_path);
        char *raw = read_file(expected_path, NULL);
        char *want = replace_all(raw, "@DIR@", dir);
        char *out, *err;
        int rc = run_cnnctl(&out, &err, "%s", cmd);
        ck_assert_msg(rc == 2, "%s: exit %d, want 2", input, rc);
        ck_assert_msg(strcmp(err, want) == 0, "%s:\n want: %s got:  %s", input, want, err);
        ck_assert_str_eq(out, "");
        free(raw);
        free(want);
        free(out);
        free(err);
        cases++;
    }
    closedir(d);
    ck_assert_int_gt(cases, 5);
}
END_TEST

Suite *corpus_suite(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("malformed files");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_corpus, 0, sizeof kinds / sizeof kinds[0]);
    suite_add_tcase(s, tc);
    return s;
}
