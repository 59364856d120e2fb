/* lock.h - the lock file of a results file: "<results>.lock" beside it,
 * holding the writer's pid and host, so that a second writer is refused
 * whatever HDF5's own file locking is set to (HDF5_USE_FILE_LOCKING). */
#ifndef SB_LOCK_H
#define SB_LOCK_H

#include "sb.h"

struct sb_lock;

/* Takes the lock of `path` (creating "<path>.lock" exclusively). A lock
 * held by a live process, or by a process on another host, is an error
 * naming both; the lock of a dead process on this host is taken over. */
int sb_lock_take(struct sb_lock **out, const char *path,
		 struct sb_error *err);
/* Removes the lock file, if it is still ours, and frees the lock. */
void sb_lock_release(struct sb_lock *lock);

#endif
