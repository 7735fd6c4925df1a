/* fileio.h - writing files so that a crash never leaves a half-written one.
 *
 * atomic_open() creates "PATH.tmp.PID" next to PATH; atomic_commit()
 * flushes it, fsyncs it, renames it over PATH and fsyncs the folder, so PATH
 * is at all times either the old file or the complete new one.
 * atomic_abort() removes the temporary file. A PATH that exists and is not
 * a regular file (a device, a pipe) is written in place instead. */
#ifndef CNNCTL_FILEIO_H
#define CNNCTL_FILEIO_H

#include <stddef.h>
#include <stdio.h>

struct atomic_file {
    FILE *f;
    char *path, *tmp_path;   /* tmp_path NULL: written in place */
};

int atomic_open(struct atomic_file *af, const char *path, char *err, size_t errlen);
int atomic_commit(struct atomic_file *af, char *err, size_t errlen);
void atomic_abort(struct atomic_file *af);

/* mkdir -p of the folder that holds path. 0 or -1 with err. */
int make_parent_dirs(const char *path, char *err, size_t errlen);

#endif
