/* The dashboard's thumbnails (`/files/ID/thumb`): a JPEG decoded at a reduced size by libjpeg's DCT
   scaling (1/2, 1/4, 1/8 cost a fraction of a full decode), a thumbnail encoded as JPEG, and a
   streaming zlib inflater for PNG image data. libjpeg reports errors by longjmp, which must not
   cross Swift frames, so every libjpeg call lives here behind a status code. Buffers these
   functions return are freed with ferry_thumbnail_free. */
#ifndef FERRY_THUMBNAIL_H
#define FERRY_THUMBNAIL_H

#include <stddef.h>
#include <stdint.h>

/* Decodes `jpeg` scaled by the largest of 1/8, 1/4, 1/2 that keeps its longest side at least
   `target_side` (or not scaled). Output is 8-bit greyscale (1 component) or RGB (3). Refuses,
   before decoding, an image of more than `max_pixels` pixels, and any decode that would need more
   than `max_memory` bytes of libjpeg's working memory. Returns 0 with a malloc'd buffer of
   width × height × components bytes in `pixels`; -1 with a message in `error`. Corrupt-data
   warnings (a truncated frame, filled with grey by libjpeg) do not fail the decode. */
int ferry_thumbnail_decode_jpeg(const uint8_t *jpeg, size_t length, uint32_t target_side, uint64_t max_pixels,
                                size_t max_memory, uint8_t **pixels, uint32_t *width, uint32_t *height,
                                uint32_t *components, char *error, size_t error_length);

/* Encodes width × height pixels of 1 (greyscale) or 3 (RGB) components as a baseline JPEG of
   `quality` (1-100). Returns 0 with a malloc'd `jpeg` of `length` bytes; -1 with a message. */
int ferry_thumbnail_encode_jpeg(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t components,
                                int quality, uint8_t **jpeg, size_t *length, char *error, size_t error_length);

void ferry_thumbnail_free(void *buffer);

/* A zlib stream inflated a piece at a time, so a PNG is decoded a row at a time. */
typedef struct ferry_inflater ferry_inflater;

/* Reads `data`, which must outlive the inflater; NULL when out of memory or `data` is 4 GiB or more. */
ferry_inflater *ferry_inflater_new(const uint8_t *data, size_t length);

/* Fills `out` with the next `length` inflated bytes. Returns 0 when it is full; -1 with a message
   when the stream is corrupt or ends first. */
int ferry_inflater_read(ferry_inflater *inflater, uint8_t *out, size_t length, char *error, size_t error_length);

/* After the last row: 0 when the stream ends there and its checksum is right; -1 with a message
   when there is more data or the stream is damaged. */
int ferry_inflater_finish(ferry_inflater *inflater, char *error, size_t error_length);

void ferry_inflater_free(ferry_inflater *inflater);

#endif
