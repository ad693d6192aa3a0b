// Drivers that misbehave the ways third-party code does, for process isolation. Each model
// captures Readings {"readings": {"count": n}} normally until its third capture in a process,
// then: segv dereferences NULL, exit calls exit(3), hang-capture never returns, garbage writes
// bytes that are not a frame to the plugin channel (fd 3) and returns. hang-create never
// finishes create. Every capture also printf's to stdout, which must never reach the channel.
#include "ferry/plugin.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum behaviour { SEGV, EXIT, HANG_CAPTURE, GARBAGE, HANG_CREATE, LEAK };
static const int misbehave_on = 3;
/* Instances created in this process, which DoCommand reports: a restart must create each once. */
static int created;

typedef struct {
    enum behaviour behaviour;
    int count;
    int leaked_mb;
} instance;

static ferry_status create(void *ctx, const uint8_t *config, size_t length, void **out, ferry_result *result) {
    (void)config; (void)length; (void)result;
    enum behaviour behaviour = (enum behaviour)(intptr_t)ctx;
    if (behaviour == HANG_CREATE) {
        fprintf(stderr, "fixture: create hangs\n");
        for (;;) pause();
    }
    instance *self = calloc(1, sizeof *self);
    if (!self) return FERRY_FATAL;
    self->behaviour = behaviour;
    created++;
    *out = self;
    return FERRY_OK;
}

static void close_instance(void *self) { free(self); }

static ferry_status capture(void *opaque, const char *method, const uint8_t *p, size_t n, ferry_result *result) {
    (void)p; (void)n;
    instance *self = opaque;
    if (strcmp(method, "Readings") != 0) {
        result->set_error(result->context, "only Readings");
        return FERRY_UNSUPPORTED;
    }
    int v = ++self->count;
    printf("fixture: capture %d on stdout\n", v);
    fflush(stdout);
    if (self->behaviour == LEAK) {
        if (!malloc(128u << 20)) { /* address space only: the pages are never touched */
            fprintf(stderr, "fixture: out of memory after leaking %d MB\n", self->leaked_mb);
            fflush(stderr);
            abort();
        }
        self->leaked_mb += 128;
    }
    if (v == misbehave_on) {
        switch (self->behaviour) {
        case SEGV:
            fprintf(stderr, "fixture: about to dereference NULL\n");
            fflush(stderr);
            *(volatile int *)(intptr_t)self->behaviour = 1; /* SEGV is 0: a NULL dereference */
            break;
        case EXIT:
            fprintf(stderr, "fixture: calling exit(3)\n");
            exit(3);
        case HANG_CAPTURE:
            fprintf(stderr, "fixture: capture hangs\n");
            for (;;) pause();
        case GARBAGE: {
            static const char garbage[] = "\xff\xff\xff\x7fnot a frame at all";
            fprintf(stderr, "fixture: writing garbage to fd 3\n");
            (void)!write(3, garbage, sizeof garbage);
            break;
        }
        case HANG_CREATE:
        case LEAK:
            break;
        }
    }
    uint8_t doc[] = {31, 0, 0, 0, 3, 'r', 'e', 'a', 'd', 'i', 'n', 'g', 's', 0, 16, 0, 0, 0, 16, 'c', 'o', 'u', 'n', 't', 0,
                     (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24), 0, 0};
    result->set_document(result->context, doc, sizeof doc);
    return FERRY_OK;
}

/* DoCommand answers {"created": n}. */
static ferry_status do_command(void *opaque, const uint8_t *command, size_t length, ferry_result *result) {
    (void)opaque; (void)command; (void)length;
    int n = created;
    uint8_t doc[] = {18, 0, 0, 0, 16, 'c', 'r', 'e', 'a', 't', 'e', 'd', 0,
                     (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24), 0};
    result->set_document(result->context, doc, sizeof doc);
    return FERRY_OK;
}

static const char *const methods[] = {"Readings", NULL};

static ferry_status init(const ferry_host_api *host, ferry_result *result) {
    (void)result;
    static const char *const names[] = {"fixture:bad:segv", "fixture:bad:exit", "fixture:bad:hang-capture", "fixture:bad:garbage",
                                        "fixture:bad:hang-create", "fixture:bad:leak"};
    for (int i = 0; i < 6; i++) {
        ferry_model model = {sizeof(ferry_model), "rdk:component:sensor", names[i], methods, 0, (void *)(intptr_t)i,
                             create, NULL, close_instance, capture, do_command};
        ferry_status status = host->register_model(host->host_context, &model);
        if (status != FERRY_OK) return status;
    }
    return FERRY_OK;
}

FERRY_DECLARE_PLUGIN("misbehaving", "0.0.1", init)
