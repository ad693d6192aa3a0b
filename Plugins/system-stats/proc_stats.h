/*
 * Reads the Linux kernel's own accounting: /proc/loadavg, /proc/meminfo, /proc/uptime, /proc/stat
 * and the thermal zones under /sys/class/thermal. The roots are parameters so the same code reads
 * a host's /proc mounted elsewhere (a container's /host/proc) or a test's fake tree.
 */
#ifndef FERRY_SYSTEM_STATS_PROC_STATS_H
#define FERRY_SYSTEM_STATS_PROC_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "bson_writer.h" /* FERRY_INTERNAL */
#include "ferry/plugin.h"

typedef struct system_sample {
    double load[3]; /* 1, 5 and 15 minutes */
    int64_t processes_running;
    int64_t processes_total;
    int64_t mem_total_kb;
    int64_t mem_free_kb;
    int64_t mem_available_kb;
    int64_t swap_total_kb;
    int64_t swap_free_kb;
    double uptime_s;
    uint64_t cpu_total_ticks; /* all CPUs, since boot */
    uint64_t cpu_idle_ticks;  /* idle + iowait */
    int has_temperature;
    double temperature_c;
    char temperature_sensor[64]; /* the thermal zone's type, e.g. "x86_pkg_temp" */
} system_sample;

/* Fills `sample` from the files under `proc_root` and `sys_root`. On failure returns the status
   and writes a one-line message into `error`: FERRY_RETRY_LATER when a file cannot be read (not
   mounted, not permitted), FERRY_FATAL when its contents are not in the kernel's format. A missing
   thermal zone is not an error: has_temperature stays 0. */
FERRY_INTERNAL ferry_status system_sample_read(const char *proc_root, const char *sys_root, system_sample *sample,
                                               char *error, size_t error_size);

#endif
