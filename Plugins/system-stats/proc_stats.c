#include "proc_stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads a whole (small) file into `buffer` as a C string. /proc files report size 0, so read
   until end of file rather than trusting stat. */
static ferry_status read_text(const char *path, char *buffer, size_t size, char *error, size_t error_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int code = errno;
        snprintf(error, error_size, "cannot open %s: %s%s", path, strerror(code),
                 code == ENOENT ? " (is /proc mounted, or is proc_path right?)" : "");
        return FERRY_RETRY_LATER;
    }
    size_t used = 0;
    while (used < size - 1) {
        ssize_t got = read(fd, buffer + used, size - 1 - used);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            snprintf(error, error_size, "cannot read %s: %s", path, strerror(errno));
            close(fd);
            return FERRY_RETRY_LATER;
        }
        if (got == 0) break;
        used += (size_t)got;
    }
    close(fd);
    buffer[used] = '\0';
    return FERRY_OK;
}

static ferry_status unexpected(const char *path, char *error, size_t error_size) {
    snprintf(error, error_size, "unexpected contents in %s: not the Linux format this plugin reads", path);
    return FERRY_FATAL;
}

static ferry_status read_loadavg(const char *proc, system_sample *s, char *error, size_t error_size) {
    char path[512], text[256];
    snprintf(path, sizeof path, "%s/loadavg", proc);
    ferry_status status = read_text(path, text, sizeof text, error, error_size);
    if (status != FERRY_OK) return status;
    /* "0.52 0.58 0.59 2/1089 12345": three load averages, running/total tasks, last PID. The host
       never calls setlocale, so %lf reads '.' decimals as the kernel writes them. */
    long long running, total;
    if (sscanf(text, "%lf %lf %lf %lld/%lld", &s->load[0], &s->load[1], &s->load[2], &running, &total) != 5)
        return unexpected(path, error, error_size);
    s->processes_running = running;
    s->processes_total = total;
    return FERRY_OK;
}

static ferry_status read_meminfo(const char *proc, system_sample *s, char *error, size_t error_size) {
    char path[512], text[8192];
    snprintf(path, sizeof path, "%s/meminfo", proc);
    ferry_status status = read_text(path, text, sizeof text, error, error_size);
    if (status != FERRY_OK) return status;
    /* Lines like "MemAvailable:   24004236 kB". MemAvailable exists since Linux 3.14; before it,
       free memory is the closest honest figure. */
    s->mem_total_kb = s->mem_free_kb = s->mem_available_kb = s->swap_total_kb = s->swap_free_kb = -1;
    for (char *line = text, *next; line && *line; line = next) {
        char *newline = strchr(line, '\n');
        next = newline ? newline + 1 : NULL;
        char name[64];
        long long value;
        if (sscanf(line, "%63[^:]: %lld", name, &value) != 2) continue;
        if (strcmp(name, "MemTotal") == 0) s->mem_total_kb = value;
        else if (strcmp(name, "MemFree") == 0) s->mem_free_kb = value;
        else if (strcmp(name, "MemAvailable") == 0) s->mem_available_kb = value;
        else if (strcmp(name, "SwapTotal") == 0) s->swap_total_kb = value;
        else if (strcmp(name, "SwapFree") == 0) s->swap_free_kb = value;
    }
    if (s->mem_total_kb <= 0 || s->mem_free_kb < 0) return unexpected(path, error, error_size);
    if (s->mem_available_kb < 0) s->mem_available_kb = s->mem_free_kb;
    if (s->swap_total_kb < 0) s->swap_total_kb = 0;
    if (s->swap_free_kb < 0) s->swap_free_kb = 0;
    return FERRY_OK;
}

static ferry_status read_uptime(const char *proc, system_sample *s, char *error, size_t error_size) {
    char path[512], text[128];
    snprintf(path, sizeof path, "%s/uptime", proc);
    ferry_status status = read_text(path, text, sizeof text, error, error_size);
    if (status != FERRY_OK) return status;
    if (sscanf(text, "%lf", &s->uptime_s) != 1) return unexpected(path, error, error_size);
    return FERRY_OK;
}

static ferry_status read_cpu_ticks(const char *proc, system_sample *s, char *error, size_t error_size) {
    char path[512], text[1024];
    snprintf(path, sizeof path, "%s/stat", proc);
    /* Only the first line matters ("cpu  user nice system idle iowait irq softirq steal ..."); the
       buffer holds it even when the file, with one line per CPU, is longer. */
    ferry_status status = read_text(path, text, sizeof text, error, error_size);
    if (status != FERRY_OK) return status;
    unsigned long long t[8] = {0};
    int fields = sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3], &t[4],
                        &t[5], &t[6], &t[7]);
    if (fields < 4) return unexpected(path, error, error_size);
    /* guest and guest_nice (fields 9 and 10) are already counted in user and nice. */
    s->cpu_total_ticks = t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
    s->cpu_idle_ticks = t[3] + t[4];
    return FERRY_OK;
}

/* How likely a thermal zone is to be the CPU: the name varies by SoC and driver. */
static int cpu_likeness(const char *type) {
    static const char *const cpu_names[] = {"x86_pkg_temp", "cpu", "coretemp", "k10temp", "soc", "tcpu", NULL};
    for (int i = 0; cpu_names[i]; i++)
        if (strstr(type, cpu_names[i])) return 2;
    return 1;
}

static void read_temperature(const char *sys, system_sample *s) {
    char directory[512];
    snprintf(directory, sizeof directory, "%s/class/thermal", sys);
    DIR *dir = opendir(directory);
    if (!dir) return; /* no thermal zones on this machine (VMs, containers): not an error */
    int best_likeness = 0, best_zone = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        int zone;
        if (sscanf(entry->d_name, "thermal_zone%d", &zone) != 1) continue;
        char path[1024], type[64] = "", text[64];
        char error[256];
        snprintf(path, sizeof path, "%s/%s/temp", directory, entry->d_name);
        /* Some zones exist but fail to read (EIO, ENODATA) while their sensor sleeps: skip them. */
        if (read_text(path, text, sizeof text, error, sizeof error) != FERRY_OK) continue;
        char *end;
        long millidegrees = strtol(text, &end, 10);
        if (end == text) continue;
        snprintf(path, sizeof path, "%s/%s/type", directory, entry->d_name);
        if (read_text(path, type, sizeof type, error, sizeof error) == FERRY_OK) type[strcspn(type, "\n")] = '\0';
        int likeness = cpu_likeness(type);
        /* The most CPU-like zone wins; among equals the lowest-numbered, as readdir's order is arbitrary. */
        if (likeness > best_likeness || (likeness == best_likeness && zone < best_zone)) {
            best_likeness = likeness;
            best_zone = zone;
            s->has_temperature = 1;
            s->temperature_c = (double)millidegrees / 1000.0;
            snprintf(s->temperature_sensor, sizeof s->temperature_sensor, "%s", type[0] ? type : "unknown");
        }
    }
    closedir(dir);
}

ferry_status system_sample_read(const char *proc_root, const char *sys_root, system_sample *sample, char *error,
                                size_t error_size) {
    memset(sample, 0, sizeof *sample);
    ferry_status status;
    if ((status = read_loadavg(proc_root, sample, error, error_size)) != FERRY_OK) return status;
    if ((status = read_meminfo(proc_root, sample, error, error_size)) != FERRY_OK) return status;
    if ((status = read_uptime(proc_root, sample, error, error_size)) != FERRY_OK) return status;
    if ((status = read_cpu_ticks(proc_root, sample, error, error_size)) != FERRY_OK) return status;
    read_temperature(sys_root, sample);
    return FERRY_OK;
}
