/*
 * A tiny BSON document writer (http://bsonspec.org): enough for a plugin's readings — doubles,
 * 64-bit integers, strings, booleans and nested documents. Copy it into your own plugin freely.
 *
 *     bson_writer w;
 *     bson_writer_init(&w);
 *     bson_writer_begin_document(&w, "readings");
 *     bson_writer_double(&w, "load_1m", 0.42);
 *     bson_writer_end_document(&w);
 *     if (bson_writer_finish(&w) == 0) use(w.data, w.length);
 *     bson_writer_free(&w);
 *
 * Errors (out of memory, unbalanced documents) are sticky: every call after one is a no-op and
 * bson_writer_finish returns -1, so callers check once at the end.
 */
#ifndef FERRY_SYSTEM_STATS_BSON_WRITER_H
#define FERRY_SYSTEM_STATS_BSON_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* Only ferry_plugin_entry leaves the library; everything else stays private to it. */
#define FERRY_INTERNAL __attribute__((visibility("hidden")))

#define BSON_WRITER_MAX_DEPTH 16

typedef struct bson_writer {
    uint8_t *data;
    size_t length;
    size_t capacity;
    /* Offsets of the length prefixes of the documents still open; [0] is the top level. */
    size_t open[BSON_WRITER_MAX_DEPTH];
    int depth;
    int failed;
} bson_writer;

FERRY_INTERNAL void bson_writer_init(bson_writer *w);
FERRY_INTERNAL void bson_writer_double(bson_writer *w, const char *key, double value);
FERRY_INTERNAL void bson_writer_int64(bson_writer *w, const char *key, int64_t value);
FERRY_INTERNAL void bson_writer_bool(bson_writer *w, const char *key, int value);
FERRY_INTERNAL void bson_writer_string(bson_writer *w, const char *key, const char *value);
FERRY_INTERNAL void bson_writer_begin_document(bson_writer *w, const char *key);
FERRY_INTERNAL void bson_writer_end_document(bson_writer *w);
/* Closes the top-level document. 0 on success: w->data/w->length then hold the BSON bytes. */
FERRY_INTERNAL int bson_writer_finish(bson_writer *w);
FERRY_INTERNAL void bson_writer_free(bson_writer *w);

#endif
