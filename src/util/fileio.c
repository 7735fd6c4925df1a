/* fileio.c - atomic replacement of files, and making folders. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_open(struct atomic_file *af, const char *path, char *err, size_t errlen)
{
    memset(af, 0, sizeof *af);
    /* A device or pipe (/dev/stdout, /dev/null, /dev/full) is written in
     * place: renaming a file over it would replace the device itself (as
     * root, /dev/full became a PNG). A folder is an error. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a folder; expected a file name", path);
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        af->f = fopen(path, "wb");
        af->path = strdup(path);
        if (!af->f || !af->path) {
            snprintf(err, errlen, "%s: cannot open: %s", path, af->f ? "out of memory" : strerror(errno));
            atomic_abort(af);
            return -1;
        }
        return 0;
    }
    size_t n = strlen(path) + 32;
    af->path = strdup(path);
    af->tmp_path = malloc(n);
    if (!af->path || !af->tmp_path) {
        snprintf(err, errlen, "%s: out of memory", path);
        atomic_abort(af);
        return -1;
    }
    snprintf(af->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp_path, "wb");
    if (!af->f) {
        snprintf(err, errlen, "%s: cannot create: %s", af->tmp_path, strerror(errno));
        atomic_abort(af);
        return -1;
    }
    return 0;
}

static void sync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int atomic_commit(struct atomic_file *af, char *err, size_t errlen)
{
    int failed = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int saved = errno;
    if (fclose(af->f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    af->f = NULL;
    if (failed && !(saved == EINVAL && !af->tmp_path)) {   /* fsync of a pipe or tty: EINVAL */
        snprintf(err, errlen, "%s: write failed: %s", af->path, strerror(saved ? saved : EIO));
        atomic_abort(af);
        return -1;
    }
    if (!af->tmp_path) {   /* written in place */
        free(af->path);
        memset(af, 0, sizeof *af);
        return 0;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        snprintf(err, errlen, "%s: cannot rename %s over it: %s", af->path, af->tmp_path, strerror(errno));
        atomic_abort(af);
        return -1;
    }
    sync_parent(af->path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
    return 0;
}

void atomic_abort(struct atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp_path)
        unlink(af->tmp_path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

int make_parent_dirs(const char *path, char *err, size_t errlen)
{
    /* dirname() may return a static "." or "/" (a path without a folder,
     * or one at the root): work on a copy of its answer, never in place */
    char *copy = strdup(path), *dir = NULL;
    if (copy)
        dir = strdup(dirname(copy));
    free(copy);
    if (!dir) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (char *p = dir + 1; *dir && p[-1]; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "%s: cannot create folder: %s", dir, strerror(errno));
                free(dir);
                return -1;
            }
            *p = saved;
        }
    }
    free(dir);
    return 0;
}
