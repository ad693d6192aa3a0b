/*
 * A tiny BSON reader: walks the elements of one document without copying or allocating, enough
 * to read a component's attributes out of the config the host passes to `create`.
 */
#ifndef FERRY_SYSTEM_STATS_BSON_READER_H
#define FERRY_SYSTEM_STATS_BSON_READER_H

#include <stddef.h>
#include <stdint.h>

#include "bson_writer.h" /* FERRY_INTERNAL */

enum { BSON_TYPE_STRING = 0x02, BSON_TYPE_DOCUMENT = 0x03 };

/* Called for each element; return non-zero to stop early. `value` points into the document. */
typedef int (*bson_visit_fn)(void *context, const char *key, uint8_t type, const uint8_t *value, size_t length);

/* Visits every element of the document. Returns 0, or -1 if the bytes are not a well-formed
   document (every length is checked against the buffer, so malformed input never reads past it). */
FERRY_INTERNAL int bson_reader_each(const uint8_t *document, size_t length, bson_visit_fn visit, void *context);

/* Finds the first element named `key`: returns its type (0 when absent or malformed) and points
   *value / *value_length at its bytes. */
FERRY_INTERNAL uint8_t bson_reader_find(const uint8_t *document, size_t length, const char *key,
                                        const uint8_t **value, size_t *value_length);

/* The NUL-terminated text of a string element's value, or NULL if it is not a well-formed string. */
FERRY_INTERNAL const char *bson_reader_string(uint8_t type, const uint8_t *value, size_t value_length);

#endif
