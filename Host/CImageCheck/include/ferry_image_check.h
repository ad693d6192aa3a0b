/* Decodes images for `ferry hil`'s camera checks (and the webcam driver's tests): a JPEG passes
   only if every scanline decodes with libjpeg-turbo. libjpeg reports errors by longjmp, which must not cross Swift frames, so the
   decoder lives here behind a status code. */
#ifndef FERRY_IMAGE_CHECK_H
#define FERRY_IMAGE_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 with the size and colour components on success; -1 with a message in `error` if the
   JPEG does not decode. */
int ferry_check_jpeg(const uint8_t *jpeg, size_t length, uint32_t *width, uint32_t *height, uint32_t *components,
                     char *error, size_t error_length);

/* Inflates a PNG's concatenated IDAT data (a zlib stream). Returns 0 with the inflated size in
   `inflated` when it is a complete, valid stream; -1 with a message otherwise. At most `limit` bytes
   are produced (a larger stream fails), so a hostile image cannot exhaust memory. */
int ferry_check_zlib(const uint8_t *data, size_t length, size_t limit, size_t *inflated, char *error,
                     size_t error_length);

#endif
