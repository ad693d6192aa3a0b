/*
 * system-stats: a Ferry plugin in plain C, and the example to copy when writing your own.
 *
 * It registers one sensor model, `ferry:linux:system-stats` (API `rdk:component:sensor`), whose
 * Readings capture reports the machine's load, memory, uptime, CPU use and CPU temperature:
 *
 *     {"readings": {"load_1m": 0.52, "load_5m": 0.58, "load_15m": 0.59,
 *                   "processes_running": 2, "processes_total": 1089, "cpu_count": 4,
 *                   "cpu_usage_pct": 12.5, "mem_total_kb": ..., "mem_available_kb": ...,
 *                   "mem_free_kb": ..., "mem_used_pct": 23.1, "swap_total_kb": ...,
 *                   "swap_free_kb": ..., "uptime_s": 86400.5,
 *                   "cpu_temp_c": 48.0, "cpu_temp_sensor": "x86_pkg_temp"}}
 *
 * cpu_usage_pct is the busy share of all CPUs since the previous capture (since boot on the first);
 * cpu_temp_* appear only where a thermal zone exists. Attributes, both optional:
 *     proc_path  where procfs is mounted, default "/proc" (e.g. "/host/proc" in a container)
 *     sys_path   where sysfs is mounted, default "/sys"
 *
 * It needs only libc and ferry/plugin.h. Outside this repository, build it with
 *     cc -shared -fPIC -fvisibility=hidden -I<ferry>/SDK/include -o libsystem_stats.so *.c
 * and list the .so in the machine config's `modules` or in FERRY_PLUGIN_PATH.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bson_reader.h"
#include "bson_writer.h"
#include "ferry/plugin.h"
#include "proc_stats.h"

#define MODEL_API "rdk:component:sensor"
#define MODEL_NAME "ferry:linux:system-stats"

/* ABI rule: the host table handed to `init` stays valid for the life of the process and its `log`
   is thread-safe, so keeping the pointer in a static is allowed (and is how capture code logs). */
static const ferry_host_api *host_api;

static void log_message(ferry_log_level level, const char *message) {
    if (host_api) host_api->log(host_api->host_context, level, message);
}

/* ABI rule: every non-OK status comes with a one-line, human message through `set_error`. The
   result copies it, so a stack buffer is fine. */
static ferry_status fail(ferry_result *result, ferry_status status, const char *message) {
    result->set_error(result->context, message);
    return status;
}

/* One instance per configured component. Its CPU-use figure needs the previous sample, which is
   the only state; the host never calls one instance from two threads at once (we leave
   FERRY_MODEL_THREAD_SAFE off), so it needs no lock. */
typedef struct instance {
    char proc_root[256];
    char sys_root[256];
    int has_previous;
    uint64_t previous_total, previous_idle;
    double last_usage_pct;
} instance;

/* Reads one optional string attribute into `out`. */
static ferry_status string_attribute(const uint8_t *attributes, size_t length, const char *key, char *out,
                                     size_t out_size, ferry_result *result) {
    const uint8_t *value;
    size_t value_length;
    uint8_t type = bson_reader_find(attributes, length, key, &value, &value_length);
    if (type == 0) return FERRY_OK; /* absent: keep the default */
    const char *text = bson_reader_string(type, value, value_length);
    char message[512];
    if (!text || !*text) {
        snprintf(message, sizeof message, "system-stats: attribute %s must be a non-empty string (a directory path)", key);
        return fail(result, FERRY_INVALID_ARGUMENT, message);
    }
    if (strlen(text) >= out_size) {
        snprintf(message, sizeof message, "system-stats: attribute %s is longer than %zu bytes", key, out_size - 1);
        return fail(result, FERRY_INVALID_ARGUMENT, message);
    }
    snprintf(out, out_size, "%s", text);
    return FERRY_OK;
}

struct unknown_keys {
    char names[256];
};

static int note_unknown(void *context, const char *key, uint8_t type, const uint8_t *value, size_t length) {
    (void)type, (void)value, (void)length;
    struct unknown_keys *unknown = context;
    if (strcmp(key, "proc_path") == 0 || strcmp(key, "sys_path") == 0) return 0;
    size_t used = strlen(unknown->names);
    snprintf(unknown->names + used, sizeof unknown->names - used, "%s%s", used ? ", " : "", key);
    return 0;
}

/* ABI rule: `create` runs on the host's control thread. `config` is borrowed — valid only during
   this call — so everything we keep is copied into the instance. */
static ferry_status create(void *model_context, const uint8_t *config, size_t config_length, void **out,
                           ferry_result *result) {
    (void)model_context;
    const uint8_t *attributes = NULL;
    size_t attributes_length = 0;
    uint8_t type = bson_reader_find(config, config_length, "attributes", &attributes, &attributes_length);
    if (type != 0 && type != BSON_TYPE_DOCUMENT)
        return fail(result, FERRY_INVALID_ARGUMENT, "system-stats: attributes must be a document");

    instance *self = calloc(1, sizeof *self);
    if (!self) return fail(result, FERRY_RETRY_LATER, "system-stats: out of memory creating the instance");
    snprintf(self->proc_root, sizeof self->proc_root, "/proc");
    snprintf(self->sys_root, sizeof self->sys_root, "/sys");
    if (attributes) {
        ferry_status status;
        if ((status = string_attribute(attributes, attributes_length, "proc_path", self->proc_root,
                                       sizeof self->proc_root, result)) != FERRY_OK ||
            (status = string_attribute(attributes, attributes_length, "sys_path", self->sys_root,
                                       sizeof self->sys_root, result)) != FERRY_OK) {
            free(self);
            return status;
        }
        struct unknown_keys unknown = {""};
        bson_reader_each(attributes, attributes_length, note_unknown, &unknown);
        if (unknown.names[0]) {
            char message[400];
            snprintf(message, sizeof message,
                     "system-stats: ignoring unknown attribute(s) %s; known: proc_path, sys_path", unknown.names);
            log_message(FERRY_LOG_WARNING, message);
        }
    }
    *out = self;
    return FERRY_OK;
}

/* ABI rule: `close` is called exactly once per instance and the handle is never used again. */
static void close_instance(void *handle) { free(handle); }

/* CPU use since the previous capture (since boot on the first one), from the tick counters. */
static double cpu_usage(instance *self, const system_sample *sample) {
    uint64_t total = sample->cpu_total_ticks, idle = sample->cpu_idle_ticks;
    uint64_t base_total = self->has_previous ? self->previous_total : 0;
    uint64_t base_idle = self->has_previous ? self->previous_idle : 0;
    /* Two captures within one clock tick see no change: repeat the last figure. */
    if (total > base_total && idle >= base_idle && total - base_total >= idle - base_idle)
        self->last_usage_pct = 100.0 * (double)((total - base_total) - (idle - base_idle)) / (double)(total - base_total);
    self->has_previous = 1;
    self->previous_total = total;
    self->previous_idle = idle;
    return self->last_usage_pct;
}

/* ABI rule: `capture` runs on the collector's own queue. `parameters` (the collector's
   additional_params) is borrowed; this model takes none. The reading goes back through
   `result->set_document`, which copies it, so we free our buffer right after: whoever allocates
   frees, and no allocation ever crosses the boundary. */
static ferry_status capture(void *handle, const char *method, const uint8_t *parameters, size_t parameters_length,
                            ferry_result *result) {
    (void)parameters, (void)parameters_length;
    instance *self = handle;
    if (strcmp(method, "Readings") != 0) {
        char message[256];
        snprintf(message, sizeof message, "system-stats has no capture method %s; it has Readings", method);
        return fail(result, FERRY_UNSUPPORTED, message);
    }

    system_sample sample;
    char error[768];
    ferry_status status = system_sample_read(self->proc_root, self->sys_root, &sample, error, sizeof error);
    if (status != FERRY_OK) {
        char message[800];
        snprintf(message, sizeof message, "system-stats: %s", error);
        return fail(result, status, message);
    }

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    bson_writer w;
    bson_writer_init(&w);
    bson_writer_begin_document(&w, "readings");
    bson_writer_double(&w, "load_1m", sample.load[0]);
    bson_writer_double(&w, "load_5m", sample.load[1]);
    bson_writer_double(&w, "load_15m", sample.load[2]);
    bson_writer_int64(&w, "processes_running", sample.processes_running);
    bson_writer_int64(&w, "processes_total", sample.processes_total);
    if (cpus > 0) bson_writer_int64(&w, "cpu_count", cpus);
    bson_writer_double(&w, "cpu_usage_pct", cpu_usage(self, &sample));
    bson_writer_int64(&w, "mem_total_kb", sample.mem_total_kb);
    bson_writer_int64(&w, "mem_available_kb", sample.mem_available_kb);
    bson_writer_int64(&w, "mem_free_kb", sample.mem_free_kb);
    bson_writer_double(&w, "mem_used_pct",
                       100.0 * (double)(sample.mem_total_kb - sample.mem_available_kb) / (double)sample.mem_total_kb);
    bson_writer_int64(&w, "swap_total_kb", sample.swap_total_kb);
    bson_writer_int64(&w, "swap_free_kb", sample.swap_free_kb);
    bson_writer_double(&w, "uptime_s", sample.uptime_s);
    if (sample.has_temperature) {
        bson_writer_double(&w, "cpu_temp_c", sample.temperature_c);
        bson_writer_string(&w, "cpu_temp_sensor", sample.temperature_sensor);
    }
    bson_writer_end_document(&w);
    if (bson_writer_finish(&w) != 0) {
        bson_writer_free(&w);
        return fail(result, FERRY_RETRY_LATER, "system-stats: out of memory encoding the reading");
    }
    result->set_document(result->context, w.data, w.length);
    bson_writer_free(&w);
    return FERRY_OK;
}

static const char *const capture_methods[] = {"Readings", NULL};

/* ABI rule: `init` runs once, on the host's control thread, after the host has checked the ABI
   version in our descriptor. Registration is allowed only here. */
static ferry_status init(const ferry_host_api *host, ferry_result *result) {
    /* ABI rule: structs only grow at their end and carry their size; check that the host's table
       reaches the last function we call before calling it. */
    if (host->struct_size < offsetof(ferry_host_api, register_model) + sizeof host->register_model)
        return fail(result, FERRY_FATAL, "system-stats: the host's function table is too old (no register_model)");
    host_api = host;

    /* The host copies the struct and its strings, so a stack struct is fine; the function
       pointers and model_context must stay valid, which static functions do. reconfigure is NULL:
       the host closes the instance and creates a new one when its config changes. */
    ferry_model model = {
        .struct_size = sizeof(ferry_model),
        .api = MODEL_API,
        .model = MODEL_NAME,
        .capture_methods = capture_methods,
        .flags = 0,
        .model_context = NULL,
        .create = create,
        .reconfigure = NULL,
        .close = close_instance,
        .capture = capture,
        .do_command = NULL,
    };
    if (host->register_model(host->host_context, &model) != FERRY_OK)
        return fail(result, FERRY_INVALID_ARGUMENT, "system-stats: the host refused model " MODEL_NAME);
    return FERRY_OK;
}

/* The one exported symbol, ferry_plugin_entry, returning a static descriptor: ABI version, name,
   version and `init`. It runs no other code, so the host can read it safely before the ABI check. */
FERRY_DECLARE_PLUGIN("system-stats", "0.1.0", init)
