/* lock.c - a results file's lock of our own (lock.h). Exclusive creation
 * (O_EXCL) is the lock; the pid and host in it only tell whether a lock
 * left behind by a killed writer may be taken over. */
#define _POSIX_C_SOURCE 200809L
#include "io/lock.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct sb_lock {
	char *path;    /* "<results>.lock" */
	char text[320]; /* what we wrote into it: "<pid> <host>\n" */
};

static void own_text(char *buf, size_t size)
{
	char host[256] = "unknown";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	snprintf(buf, size, "%ld %s\n", (long)getpid(), host);
}

/* The content of the lock file into buf ("" when unreadable). */
static void read_text(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* A lock is stale when it names a process of this host that is gone. */
static bool is_stale(const char *text, const char *own, long *pid,
		     char *host, size_t host_size)
{
	char fmt[32];
	snprintf(fmt, sizeof fmt, "%%ld %%%zus", host_size - 1);
	*pid = 0;
	host[0] = '\0';
	if (sscanf(text, fmt, pid, host) != 2 || *pid <= 0)
		return false;
	char own_host[256];
	long own_pid;
	snprintf(fmt, sizeof fmt, "%%ld %%%zus", sizeof own_host - 1);
	if (sscanf(own, fmt, &own_pid, own_host) != 2 ||
	    strcmp(host, own_host))
		return false;
	return kill((pid_t)*pid, 0) < 0 && errno == ESRCH;
}

static int create(struct sb_lock *lock)
{
	int fd = open(lock->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(lock->text);
	int rc = write(fd, lock->text, n) == (ssize_t)n ? 0 : -1;
	if (close(fd) || rc) {
		int saved = errno;
		unlink(lock->path);
		errno = saved ? saved : EIO;
		return -1;
	}
	return 0;
}

/* Moves a stale lock aside and checks that what moved is the stale lock
 * itself, not one another writer took in the meantime (put back if so). */
static bool take_over(const struct sb_lock *lock, const char *stale)
{
	char *aside = sb_asprintf("%s.%ld.stale", lock->path, (long)getpid());
	bool ok = false;
	if (!rename(lock->path, aside)) {
		char moved[320];
		read_text(aside, moved, sizeof moved);
		ok = !strcmp(moved, stale);
		if (ok)
			unlink(aside);
		else
			rename(aside, lock->path);
	}
	free(aside);
	return ok;
}

int sb_lock_take(struct sb_lock **out, const char *path,
		 struct sb_error *err)
{
	*out = NULL;
	struct sb_lock *lock = sb_calloc(1, sizeof *lock);
	lock->path = sb_asprintf("%s.lock", path);
	own_text(lock->text, sizeof lock->text);
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!create(lock)) {
			*out = lock;
			return 0;
		}
		if (errno != EEXIST)
			break;
		char held[320], host[256];
		long pid;
		read_text(lock->path, held, sizeof held);
		if (!is_stale(held, lock->text, &pid, host, sizeof host)) {
			if (pid > 0)
				sb_error(err, "'%s' is being written by process "
					 "%ld on host '%s' (lock file '%s'); "
					 "wait for it to end, or remove the "
					 "lock file if that process is gone",
					 path, pid, host, lock->path);
			else
				sb_error(err, "'%s' is locked by '%s', which "
					 "names no process; remove it if no "
					 "sparsebench writes '%s'", path,
					 lock->path, path);
			goto fail;
		}
		if (!take_over(lock, held))
			continue;
	}
	sb_error(err, "cannot create the lock file '%s': %s", lock->path,
		 errno == EEXIST ? "another writer took it" : strerror(errno));
fail:
	free(lock->path);
	free(lock);
	return -1;
}

void sb_lock_release(struct sb_lock *lock)
{
	if (!lock)
		return;
	char held[320];
	read_text(lock->path, held, sizeof held);
	if (!strcmp(held, lock->text))
		unlink(lock->path);
	free(lock->path);
	free(lock);
}
