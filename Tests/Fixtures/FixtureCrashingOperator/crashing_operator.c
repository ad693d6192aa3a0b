// MQL operators for process isolation: $fixtureDouble (expression) doubles a number and
// dereferences NULL when it is 13; $fixtureCount (accumulator) counts its inputs. Isolated, a
// query reaching 13 fails and the server serving it lives on; in process it would take it down.
#include "ferry/plugin.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number in {"<key>": <int32 | int64 | double>}, the one-field document the ABI passes. */
static int number(const uint8_t *doc, size_t length, double *out) {
    if (length < 7) return 0;
    uint8_t type = doc[4];
    const uint8_t *p = doc + 5;
    const uint8_t *end = doc + length;
    while (p < end && *p) p++; /* the key */
    if (p >= end) return 0;
    p++;
    if (type == 0x10 && p + 4 <= end) {
        int32_t v;
        memcpy(&v, p, 4);
        *out = v;
        return 1;
    }
    if (type == 0x12 && p + 8 <= end) {
        int64_t v;
        memcpy(&v, p, 8);
        *out = (double)v;
        return 1;
    }
    if (type == 0x01 && p + 8 <= end) {
        memcpy(out, p, 8);
        return 1;
    }
    return 0;
}

/* Sets {"value": <double>}. */
static void set_double(ferry_result *result, double value) {
    uint8_t doc[20] = {20, 0, 0, 0, 0x01, 'v', 'a', 'l', 'u', 'e', 0};
    memcpy(doc + 11, &value, 8);
    doc[19] = 0;
    result->set_document(result->context, doc, sizeof doc);
}

static ferry_status evaluate(void *ctx, const uint8_t *args, size_t length, ferry_result *result) {
    (void)ctx;
    double x;
    if (!number(args, length, &x)) {
        result->set_error(result->context, "$fixtureDouble takes a number");
        return FERRY_INVALID_ARGUMENT;
    }
    if (x == 13) {
        fprintf(stderr, "fixture: $fixtureDouble met 13, dereferencing NULL\n");
        fflush(stderr);
        *(volatile int *)(intptr_t)(x - 13) = 1;
    }
    set_double(result, 2 * x);
    return FERRY_OK;
}

static ferry_status count_init(void *ctx, const uint8_t *spec, size_t length, void **state, ferry_result *result) {
    (void)ctx; (void)spec; (void)length; (void)result;
    *state = calloc(1, sizeof(double));
    return *state ? FERRY_OK : FERRY_FATAL;
}

static ferry_status count_add(void *state, const uint8_t *value, size_t length, ferry_result *result) {
    (void)value; (void)length; (void)result;
    *(double *)state += 1;
    return FERRY_OK;
}

static ferry_status count_merge(void *state, void *other, ferry_result *result) {
    (void)result;
    *(double *)state += *(double *)other;
    return FERRY_OK;
}

static ferry_status count_finalize(void *state, ferry_result *result) {
    set_double(result, *(double *)state);
    return FERRY_OK;
}

static void count_free(void *state) { free(state); }

static ferry_status init(const ferry_host_api *host, ferry_result *result) {
    (void)result;
    ferry_operator twice = {sizeof(ferry_operator), "$fixtureDouble", FERRY_OPERATOR_EXPRESSION, NULL, NULL, evaluate,
                            NULL, NULL, NULL, NULL, NULL, NULL};
    ferry_status status = host->register_operator(host->host_context, &twice);
    if (status != FERRY_OK) return status;
    ferry_operator count = {sizeof(ferry_operator), "$fixtureCount", FERRY_OPERATOR_ACCUMULATOR, NULL, NULL, NULL,
                            count_init, count_add, count_merge, count_finalize, count_free, NULL};
    return host->register_operator(host->host_context, &count);
}

FERRY_DECLARE_PLUGIN("crashing-operator", "0.0.1", init)
