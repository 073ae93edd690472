/*
 * benchutil.c - see benchutil.h.
 */
#include "benchutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <sqlite3.h>

static void cpu_model(char *buf, size_t size)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(buf, size, "unknown");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon)
            continue;
        colon += strspn(colon + 1, " \t") + 1;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, size, "%s", colon);
        break;
    }
    if (f)
        fclose(f);
}

const char *bench_fs_name(const char *dir)
{
    struct statfs sf;
    if (statfs(dir, &sf) != 0)
        return "unknown";
    unsigned long m = (unsigned long)sf.f_type;
    return m == 0xEF53UL       ? "ext4"
           : m == 0x01021994UL ? "tmpfs"
           : m == 0x58465342UL ? "xfs"
                               : "other";
}

void bench_print_machine(const char *title, const char *date, double load_start)
{
    double load_end;
    char cpu[160];
    struct utsname u;
    struct sysinfo si;
    cpu_model(cpu, sizeof cpu);
    printf("%s, %s\n", title, date);
    printf("  cpu:      %s, %ld online cores\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    if (sysinfo(&si) == 0)
        printf("  ram:      %.1f GiB\n",
               (double)si.totalram * si.mem_unit / (1024.0 * 1024.0 * 1024.0));
    if (uname(&u) == 0)
        printf("  kernel:   %s %s %s\n", u.sysname, u.release, u.machine);
    printf("  sqlite:   %s (threadsafe=%d)\n", sqlite3_libversion(), sqlite3_threadsafe());
#if defined(__clang__)
    printf("  compiler: clang %s\n", __clang_version__);
#else
    printf("  compiler: gcc %s\n", __VERSION__);
#endif
#if defined(__OPTIMIZE__) && !defined(NDEBUG)
    printf("  build:    optimized (__OPTIMIZE__), assertions on\n");
#elif defined(__OPTIMIZE__)
    printf("  build:    optimized (__OPTIMIZE__), assertions off\n");
#else
    printf("  build:    unoptimized (-O0)\n");
#endif
    if (getloadavg(&load_end, 1) == 1 && load_start >= 0)
        printf("  load:     1-min load average %.2f at start, %.2f at end\n", load_start, load_end);
}
