/* runlock.h - one training run per set of output files.
 *
 * A run holds an exclusive lock on "PATH.lock" beside each file it writes
 * (log, checkpoint, best checkpoint) for as long as it trains; a second run
 * that would write one of them is refused with the first one's pid. The
 * lock is flock(2)'s, so it ends with the process however that ends; the
 * lock file names the holder and is removed when the run is done. */
#ifndef CNNCTL_RUNLOCK_H
#define CNNCTL_RUNLOCK_H

#include <stddef.h>

struct run_lock {
    int fd;          /* -1: not held */
    char *path;      /* "PATH.lock" */
};

/* Locks path's lock file, making its folder. 0; or -1 with err (held by
 * another process, whose pid it names, or cannot be created). */
int run_lock_acquire(struct run_lock *lock, const char *path, char *err, size_t errlen);
/* Removes the lock file and releases it; a lock not held is left alone. */
void run_lock_release(struct run_lock *lock);

#endif
