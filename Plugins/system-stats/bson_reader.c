#include "bson_reader.h"

#include <string.h>

static int32_t read_le32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* The size of a value of `type` starting at p, with `available` bytes left; -1 if malformed. */
static long value_size(uint8_t type, const uint8_t *p, size_t available) {
    switch (type) {
    case 0x06: case 0x0A: case 0x7F: case 0xFF: /* undefined, null, max key, min key */
        return 0;
    case 0x08: /* bool */
        return 1;
    case 0x10: /* int32 */
        return 4;
    case 0x01: case 0x09: case 0x11: case 0x12: /* double, datetime, timestamp, int64 */
        return 8;
    case 0x07: /* ObjectId */
        return 12;
    case 0x13: /* decimal128 */
        return 16;
    case 0x02: case 0x0D: case 0x0E: /* string, JavaScript, symbol: int32 length + bytes */
        if (available < 4 || read_le32(p) < 1) return -1;
        return 4L + read_le32(p);
    case 0x03: case 0x04: case 0x0F: /* document, array, code with scope: self-sized */
        if (available < 4 || read_le32(p) < 5) return -1;
        return read_le32(p);
    case 0x05: /* binary: int32 length, subtype byte, bytes */
        if (available < 4 || read_le32(p) < 0) return -1;
        return 5L + read_le32(p);
    case 0x0C: /* DBPointer: string + ObjectId */
        if (available < 4 || read_le32(p) < 1) return -1;
        return 4L + read_le32(p) + 12;
    case 0x0B: { /* regex: two C strings */
        const uint8_t *end = memchr(p, 0, available);
        if (!end) return -1;
        const uint8_t *second = memchr(end + 1, 0, available - (size_t)(end + 1 - p));
        return second ? (long)(second + 1 - p) : -1;
    }
    default:
        return -1;
    }
}

int bson_reader_each(const uint8_t *document, size_t length, bson_visit_fn visit, void *context) {
    if (!document || length < 5 || read_le32(document) != (int32_t)length || document[length - 1] != 0) return -1;
    size_t offset = 4;
    while (offset < length - 1) {
        uint8_t type = document[offset++];
        const char *key = (const char *)document + offset;
        /* The key must end before the document's own terminating NUL. */
        const uint8_t *key_end = memchr(key, 0, length - 1 - offset);
        if (!key_end) return -1;
        offset = (size_t)(key_end + 1 - document);
        long size = value_size(type, document + offset, length - 1 - offset);
        if (size < 0 || (size_t)size > length - 1 - offset) return -1;
        if (visit && visit(context, key, type, document + offset, (size_t)size)) return 0;
        offset += (size_t)size;
    }
    return offset == length - 1 ? 0 : -1;
}

struct find_context {
    const char *key;
    uint8_t type;
    const uint8_t *value;
    size_t length;
};

static int find_visit(void *context, const char *key, uint8_t type, const uint8_t *value, size_t length) {
    struct find_context *find = context;
    if (strcmp(key, find->key) != 0) return 0;
    find->type = type;
    find->value = value;
    find->length = length;
    return 1;
}

uint8_t bson_reader_find(const uint8_t *document, size_t length, const char *key, const uint8_t **value,
                         size_t *value_length) {
    struct find_context find = {key, 0, NULL, 0};
    if (bson_reader_each(document, length, find_visit, &find) != 0) return 0;
    *value = find.value;
    *value_length = find.length;
    return find.type;
}

const char *bson_reader_string(uint8_t type, const uint8_t *value, size_t value_length) {
    if (type != BSON_TYPE_STRING || value_length < 5 || value[value_length - 1] != 0) return NULL;
    return (const char *)value + 4;
}
