/* store_hold.c - one evaluating process per store (see store.h): an
 * exclusive flock(2) on PATH.lock, a file beside the database (symlinks
 * resolved) that names the holder's pid. The kernel drops the lock when the
 * process ends, kill -9 included, so a stale file never blocks a restart.
 * SQLite's own locks (fcntl on the database and its -shm file) are left alone:
 * readers and the short writes of `silence` keep working beside the holder. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

int store_hold(const char *path, double wait, struct err *e)
{
    char lock[4096], pid[32] = "", *real;
    ssize_t n;
    int fd, rc;
    /* A holder that is stopping (SIGTERM gives deliveries a few seconds)
     * or was just killed releases it soon: look again every 50 ms. */
    long tries = wait > 0 ? (long)(wait * 20) : 0;

    if (path == NULL || strcmp(path, ":memory:") == 0)
        return STORE_HOLD_NONE;
    /* The lock beside the real file: a store reached through a symlink
     * is the same store. */
    real = realpath(path, NULL);
    rc = snprintf(lock, sizeof(lock), "%s.lock", real ? real : path);
    free(real);
    if (rc < 0 || (size_t)rc >= sizeof(lock)) {
        err_set(e, "store %s: path too long", path);
        return -1;
    }
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        err_set(e, "store %s: its folder does not exist", path);
        return -1;
    }
    if (fd < 0) {
        err_set(e, "store %s: cannot create %s: %s", path, lock,
                strerror(errno));
        return -1;
    }
    while ((rc = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK &&
           tries-- > 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        sigset_t pend;

        if (sigpending(&pend) == 0 && (sigismember(&pend, SIGTERM) == 1 ||
                                       sigismember(&pend, SIGINT) == 1)) {
            err_set(e,
                    "store %s is in use by another tocsin: stopped "
                    "waiting for it",
                    path);
            close(fd);
            return STORE_HOLD_STOPPED;
        }
        nanosleep(&ts, NULL);
    }
    if (rc < 0) {
        int busy = errno == EWOULDBLOCK;

        n = busy ? pread(fd, pid, sizeof(pid) - 1, 0) : -1;
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (busy)
            err_set(e,
                    "store %s is in use by another tocsin (pid %s, waited "
                    "%gs): one `tocsin run` or `tocsin eval --store` at a "
                    "time per store",
                    path, pid[0] ? pid : "unknown", wait > 0 ? wait : 0);
        else
            err_set(e, "store %s: cannot lock %s: %s", path, lock,
                    strerror(errno));
        close(fd);
        return busy ? STORE_HOLD_BUSY : -1;
    }
    /* The pid is for a second process's message only: the lock holds
     * without it. */
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0)
        (void)pwrite(fd, pid, strlen(pid), 0);
    return fd;
}

void store_unhold(int hold)
{
    if (hold >= 0)
        close(hold);
}
