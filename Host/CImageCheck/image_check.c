#include "ferry_image_check.h"

/* jpeglib.h needs FILE declared first. */
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <zlib.h>

#include "jpeg_error.h"

/* libjpeg only warns about corrupt data (and fills in grey); a conformance check must fail on it. */
static void check_emit_message(j_common_ptr info, int level) {
    if (level < 0) ferry_jpeg_error_exit(info);
}

int ferry_check_jpeg(const uint8_t *jpeg, size_t length, uint32_t *width, uint32_t *height, uint32_t *components,
                     char *error, size_t error_length) {
    struct jpeg_decompress_struct info;
    ferry_jpeg_error jerr = {.error = error, .error_length = error_length};
    unsigned char *volatile row = NULL;
    info.err = jpeg_std_error(&jerr.manager);
    jerr.manager.error_exit = ferry_jpeg_error_exit;
    jerr.manager.emit_message = check_emit_message;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&info);
        free(row);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, jpeg, (unsigned long)length);
    jpeg_read_header(&info, TRUE);
    jpeg_start_decompress(&info);
    row = malloc((size_t)info.output_width * info.output_components);
    if (!row) {
        snprintf(error, error_length, "out of memory");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&info, rows, 1);
    }
    *width = info.output_width;
    *height = info.output_height;
    *components = (uint32_t)info.output_components;
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    free(row);
    return 0;
}

int ferry_check_zlib(const uint8_t *data, size_t length, size_t limit, size_t *inflated, char *error,
                     size_t error_length) {
    z_stream stream = {0};
    unsigned char chunk[16384];
    size_t total = 0;
    int status;
    if (inflateInit(&stream) != Z_OK) {
        snprintf(error, error_length, "zlib: cannot initialise");
        return -1;
    }
    stream.next_in = (Bytef *)data;
    stream.avail_in = (uInt)length;
    do {
        stream.next_out = chunk;
        stream.avail_out = sizeof chunk;
        status = inflate(&stream, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) {
            snprintf(error, error_length, "zlib: %s", stream.msg ? stream.msg : "corrupt or truncated data");
            inflateEnd(&stream);
            return -1;
        }
        total += sizeof chunk - stream.avail_out;
        if (total > limit) {
            snprintf(error, error_length, "image data inflates past the %zu bytes its header allows", limit);
            inflateEnd(&stream);
            return -1;
        }
    } while (status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0));
    inflateEnd(&stream);
    if (status != Z_STREAM_END) {
        snprintf(error, error_length, "zlib: the image data ends early");
        return -1;
    }
    *inflated = total;
    return 0;
}
