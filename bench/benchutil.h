/*
 * benchutil.h - what every benchmark program prints about the machine it ran on.
 * Thread-safety: call from the main thread.
 */
#ifndef MNEMO_BENCHUTIL_H
#define MNEMO_BENCHUTIL_H

/*
 * Prints "<title>, <date>" and the machine lines (cpu, ram, kernel, sqlite, compiler, build,
 * load average since load_start (-1: unknown)). The caller prints its own lines after these.
 */
void bench_print_machine(const char *title, const char *date, double load_start);

/* The file system type of dir ("ext4", "tmpfs", "xfs", "other" or "unknown"). */
const char *bench_fs_name(const char *dir);

#endif
