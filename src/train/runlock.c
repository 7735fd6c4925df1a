/* runlock.c - see runlock.h. */
#include "runlock.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int run_lock_acquire(struct run_lock *lock, const char *path, char *err, size_t errlen)
{
    lock->fd = -1;
    size_t n = strlen(path) + 6;
    lock->path = malloc(n);
    if (!lock->path) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(lock->path, n, "%s.lock", path);
    if (make_parent_dirs(lock->path, err, errlen) < 0)
        goto fail;
    /* The holder unlinks the file before it lets go, so a lock won on a
     * file that is no longer at the path is no lock: try again. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(lock->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            snprintf(err, errlen, "%s: cannot create the lock file: %s", lock->path, strerror(errno));
            goto fail;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int saved = errno;
            char text[32] = "";
            ssize_t got = pread(fd, text, sizeof text - 1, 0);
            text[got > 0 ? got : 0] = 0;
            close(fd);
            long pid = atol(text);
            if (saved == EWOULDBLOCK && pid > 0)
                snprintf(err, errlen, "%s: in use by another cnnctl train (pid %ld); wait for it to end, or give "
                         "this run other files (--set train.log=... --set train.checkpoint=...)", path, pid);
            else if (saved == EWOULDBLOCK)
                snprintf(err, errlen, "%s: in use by another cnnctl train; wait for it to end, or give this run "
                         "other files (--set train.log=... --set train.checkpoint=...)", path);
            else
                snprintf(err, errlen, "%s: cannot lock: %s", lock->path, strerror(saved));
            goto fail;
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(lock->path, &now) == 0 && held.st_ino == now.st_ino &&
            held.st_dev == now.st_dev) {
            char text[32];
            int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
                snprintf(err, errlen, "%s: cannot write the lock file: %s", lock->path, strerror(errno));
                close(fd);
                goto fail;
            }
            lock->fd = fd;
            return 0;
        }
        close(fd);
    }
    snprintf(err, errlen, "%s: cannot lock: the lock file keeps being replaced", lock->path);
fail:
    free(lock->path);
    lock->path = NULL;
    return -1;
}

void run_lock_release(struct run_lock *lock)
{
    if (lock->fd >= 0) {
        unlink(lock->path);
        close(lock->fd);
    }
    free(lock->path);
    lock->path = NULL;
    lock->fd = -1;
}
