#include "ferry_v4l2.h"

/* jpeglib.h needs FILE declared first. */
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* libjpeg's default error_exit calls exit(); ours jumps back to the caller with the message. */
typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *error;
    size_t error_length;
} ferry_jpeg_error;

static void ferry_jpeg_error_exit(j_common_ptr info) {
    ferry_jpeg_error *error = (ferry_jpeg_error *)info->err;
    char message[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, message);
    if (error->error && error->error_length) snprintf(error->error, error->error_length, "libjpeg: %s", message);
    longjmp(error->jump, 1);
}

int ferry_jpeg_encode_yuyv(const uint8_t *yuyv, size_t length, uint32_t width, uint32_t height, uint32_t stride,
                           int quality, ferry_jpeg_buffer *out, char *error, size_t error_length) {
    if (width == 0 || height == 0 || width % 2 != 0 || stride < width * 2 || length < (size_t)stride * height) {
        snprintf(error, error_length, "YUYV frame of %zu bytes does not hold %ux%u pixels at %u bytes per row",
                 length, width, height, stride);
        return -1;
    }
    struct jpeg_compress_struct info;
    ferry_jpeg_error jerr = {.error = error, .error_length = error_length};
    /* volatile: modified between setjmp and longjmp, read after the jump. */
    unsigned char *volatile row = NULL;
    unsigned char *destination = NULL;
    unsigned long destination_length = 0;
    info.err = jpeg_std_error(&jerr.manager);
    jerr.manager.error_exit = ferry_jpeg_error_exit;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&info);
        free(row);
        free(destination);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &destination, &destination_length);
    info.image_width = width;
    info.image_height = height;
    info.input_components = 3;
    /* The frame is already YCbCr: libjpeg stores it without a colour conversion. */
    info.in_color_space = JCS_YCbCr;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    row = malloc((size_t)width * 3);
    if (!row) {
        snprintf(error, error_length, "out of memory for a %u-pixel row", width);
        jpeg_destroy_compress(&info);
        free(destination);
        return -1;
    }
    while (info.next_scanline < height) {
        const uint8_t *source = yuyv + (size_t)info.next_scanline * stride;
        /* Y0 U Y1 V covers two pixels that share U and V. */
        for (uint32_t x = 0; x < width; x += 2) {
            const uint8_t *p = source + x * 2;
            unsigned char *a = row + x * 3;
            a[0] = p[0]; a[1] = p[1]; a[2] = p[3];
            a[3] = p[2]; a[4] = p[1]; a[5] = p[3];
        }
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&info, rows, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    free(row);
    out->bytes = destination;
    out->length = destination_length;
    return 0;
}

void ferry_jpeg_free(ferry_jpeg_buffer *buffer) {
    free(buffer->bytes);
    buffer->bytes = NULL;
    buffer->length = 0;
}
