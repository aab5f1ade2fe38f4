/*
 * test_runtime.c - a stream stage's heap (chiso_runtime_stream_heap,
 * runtime.h): the process executes itself again with glibc's huge pages
 * added to GLIBC_TUNABLES, keeping an operator's other tunables and its own
 * name; a GLIBC_TUNABLES that names them is left as it is; and a thread's
 * allocations go to the one arena.
 *
 * Each case runs in a child started with the environment of the case
 * (`test_runtime --child EXPECTED`), which calls the function first, as a
 * stage's main does, and checks what it finds against EXPECTED.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "chiso/runtime.h"

static void *allocate(void *arg)
{
    (void)arg;
    void *p = malloc(64 << 10);
    memset(p, 1, 64 << 10);
    return p; /* freed by the joiner: the arena outlives the thread */
}

/* How many arenas glibc's malloc_info() reports. */
static int arenas(void)
{
    char *xml = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&xml, &len);
    if (!f)
        return -1;
    malloc_info(0, f);
    fclose(f);
    int n = 0;
    for (const char *p = xml; (p = strstr(p, "<heap nr=")) != NULL; p++)
        n++;
    free(xml);
    return n;
}

static int child(char **argv)
{
    chiso_runtime_stream_heap(argv);
    const char *expected = argv[2];
    CHECK_EQ_STR(getenv("GLIBC_TUNABLES"), expected, "GLIBC_TUNABLES");

    char comm[64] = "";
    FILE *f = fopen("/proc/self/comm", "r");
    if (f) {
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = '\0';
        fclose(f);
    }
    comm[strcspn(comm, "\n")] = '\0';
    CHECK_EQ_STR(comm, "test_runtime", "the process keeps its name");

    pthread_t t;
    void *p = NULL;
    CHECK(pthread_create(&t, NULL, allocate, NULL) == 0, "thread");
    pthread_join(t, &p);
    free(p);
    CHECK_EQ_INT(arenas(), 1, "a thread's allocations in the main arena");
    return CHECK_DONE();
}

/* Run this program as a child with GLIBC_TUNABLES = `tunables` (NULL:
 * unset); its exit status. */
static int run_case(const char *self, const char *tunables, const char *expected)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (tunables)
            setenv("GLIBC_TUNABLES", tunables, 1);
        else
            unsetenv("GLIBC_TUNABLES");
        execl(self, "test_runtime", "--child", expected, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child(argv);

    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(n > 0, "readlink /proc/self/exe");
    if (n <= 0)
        return CHECK_DONE();
    self[n] = '\0';

    CHECK_EQ_INT(run_case(self, NULL, "glibc.malloc.hugetlb=1"), 0, "no GLIBC_TUNABLES");
    CHECK_EQ_INT(run_case(self, "", "glibc.malloc.hugetlb=1"), 0, "an empty GLIBC_TUNABLES");
    CHECK_EQ_INT(run_case(self, "glibc.malloc.tcache_count=7",
                          "glibc.malloc.tcache_count=7:glibc.malloc.hugetlb=1"),
                 0, "an operator's tunable is kept");
    CHECK_EQ_INT(run_case(self, "glibc.malloc.hugetlb=0", "glibc.malloc.hugetlb=0"), 0,
                 "an operator's choice of huge pages is left as it is");
    return CHECK_DONE();
}
