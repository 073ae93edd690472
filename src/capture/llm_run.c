/*
 * llm_run.c - the LLM extractor's child process (see extract.h and llm_int.h): a shell-like
 * split of the command without a shell, posix_spawnp in a process group of its own, the
 * prompt on stdin, bounded stdout and stderr, and a hard deadline enforced with SIGKILL on
 * the whole group.
 *
 * stdin is one end of a socketpair rather than a pipe so that writing to a child that has
 * stopped reading gives EPIPE through send(MSG_NOSIGNAL) instead of a SIGPIPE that would hit
 * the whole worker whatever its signal setup.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/llm_int.h"
#include "util/clock.h"
#include "util/strbuf.h"

extern char **environ;

/* ---- splitting --------------------------------------------------------------------------- */

void mnemo__llm_argv_free(char **argv)
{
    for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
        free(argv[i]);
    free(argv);
}

static int push_word(char ***argv, size_t *n, struct mnemo_strbuf *w)
{
    char **grown = realloc(*argv, (*n + 2) * sizeof **argv);
    if (grown == NULL)
        return MNEMO_ENOMEM;
    *argv = grown;
    char *s = w->data != NULL ? mnemo_strbuf_detach(w) : strdup("");
    if (s == NULL)
        return MNEMO_ENOMEM;
    grown[(*n)++] = s;
    grown[*n] = NULL;
    mnemo_strbuf_init(w, 0);
    return 0;
}

int mnemo__llm_split(const char *cmd, char ***argv_out, struct mnemo_err *err)
{
    struct mnemo_strbuf w;
    char **argv = NULL;
    size_t n = 0;
    int in_word = 0, rc = 0;
    const char *p = cmd ? cmd : "";

    *argv_out = NULL;
    mnemo_strbuf_init(&w, 0);
    while (rc == 0 && *p != '\0') {
        char c = *p++;
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word)
                rc = push_word(&argv, &n, &w);
            in_word = 0;
            continue;
        }
        in_word = 1;
        if (c == '\'') {
            const char *end = strchr(p, '\'');
            if (end == NULL)
                goto unterminated;
            rc = mnemo_strbuf_append(&w, p, (size_t)(end - p));
            if (rc == 0)
                rc = mnemo_strbuf_puts(&w, ""); /* an empty '' is still a word */
            p = end + 1;
        } else if (c == '"') {
            rc = mnemo_strbuf_puts(&w, "");
            while (rc == 0 && *p != '"') {
                if (*p == '\0')
                    goto unterminated;
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                    p++;
                rc = mnemo_strbuf_append(&w, p++, 1);
            }
            p++;
        } else if (c == '\\') {
            if (*p == '\0')
                goto unterminated;
            rc = mnemo_strbuf_append(&w, p++, 1);
        } else {
            rc = mnemo_strbuf_append(&w, &c, 1);
        }
    }
    if (rc == 0 && in_word)
        rc = push_word(&argv, &n, &w);
    mnemo_strbuf_release(&w);
    if (rc != 0) {
        mnemo__llm_argv_free(argv);
        return mnemo_err_set(err, MNEMO_ENOMEM, "llm command: out of memory");
    }
    if (n == 0 || argv[0][0] == '\0') {
        mnemo__llm_argv_free(argv);
        return mnemo_err_set(err, MNEMO_EINVAL, "llm command: no program named");
    }
    *argv_out = argv;
    return 0;
unterminated:
    mnemo_strbuf_release(&w);
    mnemo__llm_argv_free(argv);
    return mnemo_err_set(err, MNEMO_EINVAL,
                         "llm command: unterminated quote or trailing backslash");
}

/* ---- the child --------------------------------------------------------------------------- */

void mnemo__llm_run_release(struct llm_run_result *res)
{
    if (res == NULL)
        return;
    free(res->out);
    free(res->errtext);
    memset(res, 0, sizeof *res);
}

/* environ without MNEMO_INTERNAL, plus MNEMO_INTERNAL=1 (the array is malloc'd; the strings
 * are borrowed from environ). */
static char **child_env(void)
{
    size_t n = 0;
    while (environ != NULL && environ[n] != NULL)
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "MNEMO_INTERNAL=", 15) != 0)
            env[k++] = environ[i];
    env[k++] = (char *)"MNEMO_INTERNAL=1";
    env[k] = NULL;
    return env;
}

/* Spawn attributes: own process group, empty signal mask, default dispositions for the
 * signals a worker blocks or ignores (both are inherited across exec otherwise). */
static int spawn_attr(posix_spawnattr_t *a)
{
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&def, sigs[i]);
    if (posix_spawnattr_init(a) != 0)
        return -1;
    if (posix_spawnattr_setflags(a, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF) != 0 ||
        posix_spawnattr_setpgroup(a, 0) != 0 || posix_spawnattr_setsigmask(a, &none) != 0 ||
        posix_spawnattr_setsigdefault(a, &def) != 0) {
        posix_spawnattr_destroy(a);
        return -1;
    }
    return 0;
}

/* fds 0, 1, 2 of the child from in, out, errfd; everything else closed. */
static int spawn_files(posix_spawn_file_actions_t *fa, int in, int out, int errfd)
{
    if (posix_spawn_file_actions_init(fa) != 0)
        return -1;
    if (posix_spawn_file_actions_adddup2(fa, in, 0) != 0 ||
        posix_spawn_file_actions_adddup2(fa, out, 1) != 0 ||
        posix_spawn_file_actions_adddup2(fa, errfd, 2) != 0 ||
        posix_spawn_file_actions_addclosefrom_np(fa, 3) != 0) {
        posix_spawn_file_actions_destroy(fa);
        return -1;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Reads what is available on *fd into sb (keeping at most max bytes, dropping the rest);
 * closes *fd at EOF or error. Returns 1 when more than max bytes came. */
static int drain(int *fd, struct mnemo_strbuf *sb, size_t max)
{
    char buf[16384];
    ssize_t r = read(*fd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r <= 0) {
        close_fd(fd);
        return 0;
    }
    size_t room = max > sb->len ? max - sb->len : 0;
    size_t take = (size_t)r < room ? (size_t)r : room;
    if (take > 0 && mnemo_strbuf_append(sb, buf, take) != 0)
        return 1; /* cannot keep it: treated as too much */
    return (size_t)r > take;
}

struct child {
    pid_t pid;
    int zombie;         /* exited, not reaped yet (status in the result) */
    int in, out, errfd; /* parent ends, -1 once closed */
};

/* Feeds stdin and collects stdout/stderr until both are closed, the reply is too big or the
 * deadline passes. */
static void pump(struct child *c, const char *input, size_t input_len, int64_t deadline,
                 size_t out_max, struct mnemo_strbuf *out, struct mnemo_strbuf *errb,
                 struct llm_run_result *res)
{
    size_t sent = 0;
    if (input_len == 0)
        close_fd(&c->in);
    while (c->out >= 0 || c->errfd >= 0) {
        int64_t left = deadline - mnemo_clock_mono_ms();
        if (left <= 0) {
            res->timed_out = 1;
            return;
        }
        struct pollfd pf[3];
        nfds_t n = 0;
        int idx_in = -1, idx_out = -1, idx_err = -1;
        if (c->in >= 0) {
            idx_in = (int)n;
            pf[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
        }
        if (c->out >= 0) {
            idx_out = (int)n;
            pf[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
        }
        if (c->errfd >= 0) {
            idx_err = (int)n;
            pf[n++] = (struct pollfd){.fd = c->errfd, .events = POLLIN};
        }
        int pr = poll(pf, n, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno != EINTR)
            return; /* cannot wait: the caller kills and reaps */
        if (pr <= 0)
            continue;
        if (idx_in >= 0 && pf[idx_in].revents != 0) {
            ssize_t w = send(c->in, input + sent, input_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            /* A child that stops reading (EPIPE) simply gets no more of the prompt. */
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == input_len)
                close_fd(&c->in);
        }
        if (idx_out >= 0 && pf[idx_out].revents != 0 && drain(&c->out, out, out_max)) {
            res->oversized = 1;
            return;
        }
        if (idx_err >= 0 && pf[idx_err].revents != 0)
            (void)drain(&c->errfd, errb, LLM_STDERR_MAX);
    }
    /*
     * Both output pipes are closed: wait for the exit itself, still under the deadline.
     * WNOWAIT leaves the child a zombie, so its pid (the group id) cannot be reused before
     * the caller has killed the rest of the group.
     */
    int64_t nap = 50000;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int w = waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if (w == 0 && si.si_pid == c->pid) {
            res->exited = si.si_code == CLD_EXITED;
            res->exit_code = res->exited ? si.si_status : 0;
            res->signal = res->exited ? 0 : si.si_status;
            c->zombie = 1;
            return;
        }
        if (w < 0 && errno != EINTR)
            return;
        if (mnemo_clock_mono_ms() >= deadline) {
            res->timed_out = 1;
            return;
        }
        /* the exit follows the pipes' close closely: start with short naps */
        mnemo_clock_sleep_ns(nap);
        nap = nap < 2000000 ? nap * 2 : nap;
    }
}

/*
 * Moves *fd above 2. A worker started with a closed stdin/stdout/stderr gets those numbers
 * back from pipe2/socketpair, and the child's dup2 onto 0, 1, 2 would then overwrite one
 * end with another.
 */
static int lift(int *fd)
{
    if (*fd > 2)
        return 0;
    int high = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (high < 0)
        return -1;
    close(*fd);
    *fd = high;
    return 0;
}

int mnemo__llm_run(char *const *argv, const char *input, size_t input_len, int timeout_ms,
                   size_t out_max, struct llm_run_result *res, struct mnemo_err *err)
{
    int sp[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    struct mnemo_strbuf out, errb;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    int rc = 0;

    memset(res, 0, sizeof *res);
    mnemo_strbuf_init(&out, out_max + 1);
    mnemo_strbuf_init(&errb, LLM_STDERR_MAX + 1);
    int64_t start = mnemo_clock_mono_ms();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 || pipe2(po, O_CLOEXEC) != 0 ||
        pipe2(pe, O_CLOEXEC) != 0 || lift(&sp[0]) != 0 || lift(&sp[1]) != 0 || lift(&po[0]) != 0 ||
        lift(&po[1]) != 0 || lift(&pe[0]) != 0 || lift(&pe[1]) != 0) {
        rc = mnemo_err_set(err, MNEMO_EIO, "llm command: cannot create pipes: %s", strerror(errno));
        goto out;
    }
    char **env = child_env();
    if (env == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "llm command: out of memory");
        goto out;
    }
    if (spawn_attr(&attr) != 0) {
        free(env);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "llm command: cannot set up the spawn");
        goto out;
    }
    if (spawn_files(&fa, sp[1], po[1], pe[1]) != 0) {
        posix_spawnattr_destroy(&attr);
        free(env);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "llm command: cannot set up the spawn");
        goto out;
    }
    struct child c = {.pid = 0, .zombie = 0, .in = sp[0], .out = po[0], .errfd = pe[0]};
    int src = posix_spawnp(&c.pid, argv[0], &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    close_fd(&sp[1]);
    close_fd(&po[1]);
    close_fd(&pe[1]);
    if (src != 0) {
        rc = mnemo_err_set(err, src == ENOENT ? MNEMO_ENOTFOUND : MNEMO_EIO,
                           "llm command: cannot run %s: %s", argv[0], strerror(src));
        goto out;
    }
    sp[0] = po[0] = pe[0] = -1; /* owned by c now */
    /* The spawn itself counts against the deadline. */
    pump(&c, input, input_len, start + timeout_ms, out_max, &out, &errb, res);
    close_fd(&c.in);
    close_fd(&c.out);
    close_fd(&c.errfd);
    /* Nothing the command started may outlive the call: the whole group goes. */
    (void)kill(-c.pid, SIGKILL);
    int status = 0;
    pid_t reaped;
    while ((reaped = waitpid(c.pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (!c.zombie && reaped == c.pid) {
        res->exited = WIFEXITED(status);
        res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    res->elapsed_ms = mnemo_clock_mono_ms() - start;
    res->out_len = out.len;
    res->out = out.data != NULL ? mnemo_strbuf_detach(&out) : strdup("");
    res->errtext = errb.data != NULL ? mnemo_strbuf_detach(&errb) : strdup("");
    if (res->out == NULL || res->errtext == NULL) {
        mnemo__llm_run_release(res);
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "llm command: out of memory");
        goto out;
    }
out:
    for (int i = 0; i < 2; i++) {
        close_fd(&sp[i]);
        close_fd(&po[i]);
        close_fd(&pe[i]);
    }
    mnemo_strbuf_release(&out);
    mnemo_strbuf_release(&errb);
    return rc;
}
