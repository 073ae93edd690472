/*
 * cmd_doctor.c - `mnemo doctor`: a checklist of what mnemo needs, with the fix for each
 * problem.
 *
 * Doctor only looks: it never creates the home or the database (a missing one is a FAIL that
 * says to run `mnemo init`). It opens an existing store like any one-shot command, without the
 * checkpointer or pool warm-up, so its own footprint does not skew what it reports.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "service/worker.h"
#include "util/config.h"
#include "util/fs.h"

#define HOME_MODE 0700

/* Free space below either bound gets a warning: SQLite needs room to grow the WAL. */
#define DISK_LOW_BYTES   (INT64_C(1) << 30)
#define DISK_LOW_PERCENT 5.0

/* The oldest SQLite mnemo is built and tested against. */
#define SQLITE_MIN_VERSION 3040000

enum check_level {
    CHECK_OK,
    CHECK_WARN,
    CHECK_FAIL,
};

/* Tally of one doctor run; lives on cmd_doctor's stack. */
struct doctor {
    int warnings;
    int failures;
};

/* Prints one checklist line ("ok    ...", "warn  ...", "FAIL  ...") and counts it. */
static void report(struct doctor *d, enum check_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct doctor *d, enum check_level level, const char *fmt, ...)
{
    static const char *const marks[] = {"ok", "warn", "FAIL"};
    va_list ap;

    if (level == CHECK_WARN)
        d->warnings++;
    else if (level == CHECK_FAIL)
        d->failures++;
    printf("%-6s", marks[level]);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* The home directory: present, a directory, the user's, mode 0700. Returns 1 when usable. */
static int check_home(const struct mnemo_cli *cli, struct doctor *d)
{
    struct stat sb;

    if (stat(cli->home, &sb) != 0) {
        int e = errno;
        if (e == ENOENT)
            report(d, CHECK_FAIL, "home %s does not exist (run `mnemo init`)", cli->home);
        else
            report(d, CHECK_FAIL, "home %s: %s", cli->home, strerror(e));
        return 0;
    }
    if (!S_ISDIR(sb.st_mode)) {
        report(d, CHECK_FAIL, "home %s is not a directory (move it away, then run `mnemo init`)",
               cli->home);
        return 0;
    }

    unsigned mode = (unsigned)(sb.st_mode & 07777);
    int problems = 0;
    if (sb.st_uid != geteuid()) {
        report(d, CHECK_WARN,
               "home %s belongs to uid %u, not to you (uid %u) (fix: chown -R %u '%s')", cli->home,
               (unsigned)sb.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), cli->home);
        problems++;
    }
    if (mode != HOME_MODE) {
        report(d, CHECK_WARN, "home %s has mode %04o, expected 0700 (fix: chmod 700 '%s')",
               cli->home, mode, cli->home);
        problems++;
    }
    if (problems == 0)
        report(d, CHECK_OK, "home %s (mode %04o)", cli->home, mode);
    return 1;
}

/* The database file: present and a regular file. Returns 1 when it is worth opening. */
static int check_database(const struct mnemo_cli *cli, struct doctor *d)
{
    struct stat sb;
    char size[32];

    if (stat(cli->db_path, &sb) != 0) {
        int e = errno;
        if (e == ENOENT)
            report(d, CHECK_FAIL, "database %s is missing (run `mnemo init`)", cli->db_path);
        else
            report(d, CHECK_FAIL, "database %s: %s", cli->db_path, strerror(e));
        return 0;
    }
    if (!S_ISREG(sb.st_mode)) {
        report(d, CHECK_FAIL, "database %s is not a regular file", cli->db_path);
        return 0;
    }
    report(d, CHECK_OK, "database %s (%s)", cli->db_path,
           mnemo__cli_fmt_bytes((int64_t)sb.st_size, size, sizeof size));
    return 1;
}

/* The WAL against the checkpoint threshold and the slack the store promises to stay within. */
static void check_wal(struct mnemo_store *st, struct doctor *d)
{
    char wal[32], thr[32];
    int64_t bytes = mnemo_store_wal_size(st);
    int64_t threshold = mnemo_store_config(st)->checkpoint_threshold_bytes;

    mnemo__cli_fmt_bytes(bytes, wal, sizeof wal);
    mnemo__cli_fmt_bytes(threshold, thr, sizeof thr);
    if (bytes <= threshold)
        report(d, CHECK_OK, "wal %s (checkpoint threshold %s)", wal, thr);
    else if (bytes <= threshold + MNEMO_STORE_WAL_SLACK_BYTES)
        report(d, CHECK_WARN,
               "wal %s is over the checkpoint threshold %s (fix: mnemo db checkpoint)", wal, thr);
    else
        report(d, CHECK_FAIL, "wal %s: checkpoints are not keeping up (fix: mnemo db checkpoint)",
               wal);
}

/* Opens the store and reports schema, health and WAL. Never creates anything. */
static void check_store(struct mnemo_cli *cli, struct doctor *d)
{
    struct mnemo_store *st = NULL;
    struct mnemo_store_health h;
    struct mnemo_err err;
    char probe[32];

    mnemo_err_clear(&err);
    int rc = mnemo__cli_store_try_open(cli, MNEMO_STORE_NO_CHECKPOINTER | MNEMO_STORE_NO_WARMUP,
                                       &st, &err);
    if (rc != 0) {
        report(d, CHECK_FAIL, "store: %s", mnemo_err_text(&err, rc));
        return;
    }
    report(d, CHECK_OK, "store opens");
    report(d, CHECK_OK, "schema version %d", mnemo_store_schema_version(st));

    mnemo_store_health(st, 1, &h);
    mnemo__cli_fmt_ms(h.query_latency_ns, probe, sizeof probe);
    switch (h.status) {
    case MNEMO_STORE_HEALTHY:
        report(d, CHECK_OK, "health healthy (probe %s)", probe);
        break;
    case MNEMO_STORE_DEGRADED:
        report(d, CHECK_WARN, "health degraded: %s (probe %s)", h.warning, probe);
        break;
    case MNEMO_STORE_UNHEALTHY:
    default:
        report(d, CHECK_FAIL, "health %s: %s", mnemo_store_status_name(h.status), h.error);
        break;
    }

    check_wal(st, d);
    mnemo__cli_store_close(cli, st);
}

/* The free-space floor the worker enforces (store.min_free_bytes), or its default. */
static int64_t disk_floor(struct mnemo_cli *cli)
{
    struct mnemo_config *c = NULL;
    int64_t floor = 0;
    if (mnemo_config_load(cli->home, NULL, &c, NULL) == 0)
        floor = mnemo_config_int(c, "store.min_free_bytes");
    else if (mnemo_config_defaults(&c, NULL) == 0)
        floor = mnemo_config_int(c, "store.min_free_bytes");
    mnemo_config_free(c);
    return floor;
}

/*
 * The running worker's own view of its store, which doctor's fresh connection cannot see: a
 * database file deleted under it, a disk below the floor it enforces, a stopped process. No
 * line at all when no worker runs.
 */
static void check_worker(struct mnemo_cli *cli, struct doctor *d)
{
    pid_t pid = 0;
    long status = 0;
    json_t *j = NULL;
    struct mnemo_err err;

    if (mnemo_worker_running_pid(cli->home, &pid, NULL) != 0 || pid <= 0)
        return;
    mnemo_err_clear(&err);
    int rc = mnemo__cli_worker_call(cli, "GET", "/v1/health", NULL, &status, &j, NULL, NULL, &err);
    if (rc != 0) {
        report(d, CHECK_FAIL,
               "worker pid %ld holds the lock but its health did not answer: %s (stopped or "
               "wedged? fix: mnemo restart)",
               (long)pid, mnemo_err_text(&err, rc));
        return;
    }
    const char *ws = json_string_value(json_object_get(j, "status"));
    json_t *store = json_object_get(j, "store");
    const char *ss = json_string_value(json_object_get(store, "status"));
    const char *why = json_string_value(json_object_get(store, "error"));
    if (why == NULL || why[0] == '\0')
        why = json_string_value(json_object_get(store, "warning"));
    if (ws == NULL || strcmp(ws, "ready") != 0) {
        const char *e = json_string_value(json_object_get(j, "error"));
        report(d, CHECK_FAIL, "worker pid %ld is %s%s%s", (long)pid, ws != NULL ? ws : "unknown",
               e != NULL ? ": " : "", e != NULL ? e : "");
    } else if (ss != NULL && strcmp(ss, "unhealthy") == 0) {
        report(d, CHECK_FAIL, "worker pid %ld: store unhealthy: %s", (long)pid,
               why != NULL ? why : "");
    } else if (ss != NULL && strcmp(ss, "degraded") == 0) {
        report(d, CHECK_WARN, "worker pid %ld: store degraded: %s", (long)pid,
               why != NULL ? why : "");
    } else {
        report(d, CHECK_OK, "worker pid %ld ready", (long)pid);
    }
    json_decref(j);
}

/*
 * Free space on the home's file system. When the home does not exist yet, the nearest
 * existing parent tells where `mnemo init` would put it.
 */
static void check_disk(struct mnemo_cli *cli, struct doctor *d)
{
    char path[MNEMO_CLI_PATH_MAX];
    char parent[MNEMO_CLI_PATH_MAX];
    char avail_s[32], total_s[32];
    struct statvfs vfs;

    snprintf(path, sizeof path, "%s", cli->home);
    for (;;) {
        if (statvfs(path, &vfs) == 0)
            break;
        int e = errno;
        if (e != ENOENT || mnemo_fs_dirname(path, parent, sizeof parent) != 0 ||
            strcmp(parent, path) == 0) {
            report(d, CHECK_WARN, "disk: cannot read the free space of %s: %s", path, strerror(e));
            return;
        }
        memcpy(path, parent, strlen(parent) + 1);
    }

    int64_t avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    int64_t total = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    double percent = total > 0 ? 100.0 * (double)avail / (double)total : 0.0;
    mnemo__cli_fmt_bytes(avail, avail_s, sizeof avail_s);
    mnemo__cli_fmt_bytes(total, total_s, sizeof total_s);
    int64_t floor = disk_floor(cli);
    if (floor > 0 && avail < floor) {
        char floor_s[32];
        mnemo__cli_fmt_bytes(floor, floor_s, sizeof floor_s);
        report(d, CHECK_FAIL,
               "disk full: %s free on %s, below the floor of %s (store.min_free_bytes): the "
               "worker refuses writes (fix: free some space)",
               avail_s, path, floor_s);
    } else if (avail < DISK_LOW_BYTES || percent < DISK_LOW_PERCENT)
        report(d, CHECK_WARN, "disk %s free of %s (%.0f %%) on %s is low (fix: free some space)",
               avail_s, total_s, percent, path);
    else
        report(d, CHECK_OK, "disk %s free of %s (%.0f %%) on %s", avail_s, total_s, percent, path);
}

/* The SQLite library actually loaded, which may differ from the headers built against. */
static void check_sqlite(struct doctor *d)
{
    if (sqlite3_libversion_number() < SQLITE_MIN_VERSION)
        report(d, CHECK_FAIL,
               "sqlite %s is older than 3.40.0, which mnemo needs (fix: upgrade libsqlite3)",
               sqlite3_libversion());
    else
        report(d, CHECK_OK, "sqlite %s", sqlite3_libversion());
}

int cmd_doctor(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    struct doctor d = {0, 0};

    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;

    /* The store checks need the files; disk and SQLite say useful things regardless. */
    if (check_home(cli, &d) && check_database(cli, &d))
        check_store(cli, &d);
    check_worker(cli, &d);
    check_disk(cli, &d);
    check_sqlite(&d);

    if (d.failures > 0) {
        printf("mnemo doctor: %d problem%s\n", d.failures, d.failures == 1 ? "" : "s");
        return MNEMO_CLI_FAIL;
    }
    if (d.warnings > 0)
        printf("mnemo doctor: degraded (%d warning%s)\n", d.warnings, d.warnings == 1 ? "" : "s");
    else
        printf("mnemo doctor: healthy\n");
    return MNEMO_CLI_OK;
}
