#include "bson_writer.h"

#include <stdlib.h>
#include <string.h>

/* BSON element type bytes. */
enum { BSON_DOUBLE = 0x01, BSON_STRING = 0x02, BSON_DOCUMENT = 0x03, BSON_BOOL = 0x08, BSON_INT64 = 0x12 };

static void reserve(bson_writer *w, size_t extra) {
    if (w->failed || w->length + extra <= w->capacity) return;
    size_t capacity = w->capacity ? w->capacity : 256;
    while (capacity < w->length + extra) capacity *= 2;
    uint8_t *data = realloc(w->data, capacity);
    if (!data) {
        w->failed = 1;
        return;
    }
    w->data = data;
    w->capacity = capacity;
}

static void append(bson_writer *w, const void *bytes, size_t count) {
    reserve(w, count);
    if (w->failed) return;
    memcpy(w->data + w->length, bytes, count);
    w->length += count;
}

/* BSON integers are little-endian whatever the machine's byte order. */
static void append_le(bson_writer *w, uint64_t value, int bytes) {
    uint8_t buffer[8];
    for (int i = 0; i < bytes; i++) buffer[i] = (uint8_t)(value >> (8 * i));
    append(w, buffer, (size_t)bytes);
}

static void patch_le32(bson_writer *w, size_t offset, uint32_t value) {
    for (size_t i = 0; i < 4; i++) w->data[offset + i] = (uint8_t)(value >> (8 * i));
}

/* Every element starts with its type byte and its key as a NUL-terminated string. */
static void element(bson_writer *w, uint8_t type, const char *key) {
    if (w->depth == 0) w->failed = 1; /* an element outside any document */
    append(w, &type, 1);
    append(w, key, strlen(key) + 1);
}

static void open_document(bson_writer *w) {
    if (w->depth >= BSON_WRITER_MAX_DEPTH) w->failed = 1;
    if (w->failed) return;
    w->open[w->depth++] = w->length;
    append_le(w, 0, 4); /* length, patched when the document closes */
}

static void close_document(bson_writer *w) {
    if (w->depth == 0) w->failed = 1;
    if (w->failed) return;
    uint8_t terminator = 0;
    append(w, &terminator, 1);
    if (w->failed) return;
    size_t start = w->open[--w->depth];
    patch_le32(w, start, (uint32_t)(w->length - start));
}

void bson_writer_init(bson_writer *w) {
    memset(w, 0, sizeof *w);
    open_document(w);
}

void bson_writer_double(bson_writer *w, const char *key, double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits); /* IEEE 754 binary64, little-endian on the wire */
    element(w, BSON_DOUBLE, key);
    append_le(w, bits, 8);
}

void bson_writer_int64(bson_writer *w, const char *key, int64_t value) {
    element(w, BSON_INT64, key);
    append_le(w, (uint64_t)value, 8);
}

void bson_writer_bool(bson_writer *w, const char *key, int value) {
    uint8_t byte = value ? 1 : 0;
    element(w, BSON_BOOL, key);
    append(w, &byte, 1);
}

void bson_writer_string(bson_writer *w, const char *key, const char *value) {
    size_t length = strlen(value) + 1; /* the length counts the terminating NUL */
    element(w, BSON_STRING, key);
    append_le(w, (uint64_t)length, 4);
    append(w, value, length);
}

void bson_writer_begin_document(bson_writer *w, const char *key) {
    element(w, BSON_DOCUMENT, key);
    open_document(w);
}

void bson_writer_end_document(bson_writer *w) {
    /* The top-level document is closed only by bson_writer_finish. */
    if (w->depth <= 1) w->failed = 1;
    close_document(w);
}

int bson_writer_finish(bson_writer *w) {
    if (w->depth != 1) w->failed = 1;
    close_document(w);
    return w->failed ? -1 : 0;
}

void bson_writer_free(bson_writer *w) {
    free(w->data);
    memset(w, 0, sizeof *w);
}
