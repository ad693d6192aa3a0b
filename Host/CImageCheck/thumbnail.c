#include "ferry_thumbnail.h"

/* jpeglib.h needs FILE declared first. */
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <zlib.h>

#include "jpeg_error.h"

/* Warnings and traces are counted by libjpeg, never printed on the server's standard error. */
static void thumbnail_emit_message(j_common_ptr info, int level) {
    if (level < 0) info->err->num_warnings++;
}

int ferry_thumbnail_decode_jpeg(const uint8_t *jpeg, size_t length, uint32_t target_side, uint64_t max_pixels,
                                size_t max_memory, uint8_t **pixels, uint32_t *width, uint32_t *height,
                                uint32_t *components, char *error, size_t error_length) {
    struct jpeg_decompress_struct info;
    ferry_jpeg_error jerr = {.error = error, .error_length = error_length};
    unsigned char *volatile out = NULL;
    info.err = jpeg_std_error(&jerr.manager);
    jerr.manager.error_exit = ferry_jpeg_error_exit;
    jerr.manager.emit_message = thumbnail_emit_message;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&info);
        free(out);
        return -1;
    }
    jpeg_create_decompress(&info);
    /* A progressive image keeps every coefficient in memory: past this libjpeg fails cleanly. */
    info.mem->max_memory_to_use = (long)max_memory;
    jpeg_mem_src(&info, jpeg, (unsigned long)length);
    jpeg_read_header(&info, TRUE);
    if ((uint64_t)info.image_width * info.image_height > max_pixels) {
        snprintf(error, error_length, "the image is %ux%u pixels, over the %llu-pixel limit for thumbnails",
                 info.image_width, info.image_height, (unsigned long long)max_pixels);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    uint32_t longest = info.image_width > info.image_height ? info.image_width : info.image_height;
    info.scale_num = 1;
    info.scale_denom = 1;
    for (unsigned denom = 8; denom > 1; denom /= 2) {
        if ((longest + denom - 1) / denom >= target_side) {
            info.scale_denom = denom;
            break;
        }
    }
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    info.dct_method = JDCT_IFAST;
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * info.output_components;
    out = malloc(stride * info.output_height);
    if (!out) {
        snprintf(error, error_length, "out of memory");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW rows[1] = {out + stride * info.output_scanline};
        jpeg_read_scanlines(&info, rows, 1);
    }
    *width = info.output_width;
    *height = info.output_height;
    *components = (uint32_t)info.output_components;
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    *pixels = out;
    return 0;
}

/* A destination that grows its buffer, so the caller owns it whatever happens (libjpeg's memory
   destination may free a buffer it handed out when it grows). */
typedef struct {
    struct jpeg_destination_mgr manager;
    unsigned char *buffer;
    size_t capacity;
    size_t used;
} growing_destination;

static void growing_init(j_compress_ptr info) {
    growing_destination *destination = (growing_destination *)info->dest;
    destination->manager.next_output_byte = destination->buffer;
    destination->manager.free_in_buffer = destination->capacity;
}

/* Called when the buffer is full: double it. */
static boolean growing_empty(j_compress_ptr info) {
    growing_destination *destination = (growing_destination *)info->dest;
    size_t capacity = destination->capacity * 2;
    unsigned char *bigger = realloc(destination->buffer, capacity);
    if (!bigger) ERREXIT1(info, JERR_OUT_OF_MEMORY, 10);
    destination->manager.next_output_byte = bigger + destination->capacity;
    destination->manager.free_in_buffer = capacity - destination->capacity;
    destination->buffer = bigger;
    destination->capacity = capacity;
    return TRUE;
}

static void growing_term(j_compress_ptr info) {
    growing_destination *destination = (growing_destination *)info->dest;
    destination->used = destination->capacity - destination->manager.free_in_buffer;
}

int ferry_thumbnail_encode_jpeg(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t components,
                                int quality, uint8_t **jpeg, size_t *length, char *error, size_t error_length) {
    struct jpeg_compress_struct info;
    ferry_jpeg_error jerr = {.error = error, .error_length = error_length};
    if (components != 1 && components != 3) {
        snprintf(error, error_length, "cannot encode %u colour components as JPEG", components);
        return -1;
    }
    /* Allocated before setjmp and never reassigned, so it is valid after a longjmp. */
    growing_destination *const destination = calloc(1, sizeof *destination);
    if (destination) destination->buffer = malloc(destination->capacity = 16384);
    if (!destination || !destination->buffer) {
        if (destination) free(destination);
        snprintf(error, error_length, "out of memory");
        return -1;
    }
    destination->manager.init_destination = growing_init;
    destination->manager.empty_output_buffer = growing_empty;
    destination->manager.term_destination = growing_term;
    info.err = jpeg_std_error(&jerr.manager);
    jerr.manager.error_exit = ferry_jpeg_error_exit;
    jerr.manager.emit_message = thumbnail_emit_message;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&info);
        free(destination->buffer);
        free(destination);
        return -1;
    }
    jpeg_create_compress(&info);
    info.dest = &destination->manager;
    info.image_width = width;
    info.image_height = height;
    info.input_components = (int)components;
    info.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t stride = (size_t)width * components;
    while (info.next_scanline < info.image_height) {
        JSAMPROW rows[1] = {(JSAMPROW)(pixels + stride * info.next_scanline)};
        jpeg_write_scanlines(&info, rows, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *jpeg = destination->buffer;
    *length = destination->used;
    free(destination);
    return 0;
}

void ferry_thumbnail_free(void *buffer) { free(buffer); }

struct ferry_inflater {
    z_stream stream;
    int ended;
};

ferry_inflater *ferry_inflater_new(const uint8_t *data, size_t length) {
    if (length > UINT32_MAX) return NULL;
    ferry_inflater *inflater = calloc(1, sizeof *inflater);
    if (!inflater) return NULL;
    if (inflateInit(&inflater->stream) != Z_OK) {
        free(inflater);
        return NULL;
    }
    inflater->stream.next_in = (Bytef *)data;
    inflater->stream.avail_in = (uInt)length;
    return inflater;
}

int ferry_inflater_read(ferry_inflater *inflater, uint8_t *out, size_t length, char *error, size_t error_length) {
    z_stream *stream = &inflater->stream;
    if (length > UINT32_MAX) {
        snprintf(error, error_length, "a row of %zu bytes is too long", length);
        return -1;
    }
    stream->next_out = out;
    stream->avail_out = (uInt)length;
    while (stream->avail_out > 0) {
        if (inflater->ended) {
            snprintf(error, error_length, "the image data ends before the last row");
            return -1;
        }
        int status = inflate(stream, Z_NO_FLUSH);
        if (status == Z_STREAM_END) {
            inflater->ended = 1;
        } else if (status == Z_BUF_ERROR && stream->avail_in == 0) {
            snprintf(error, error_length, "the image data is truncated");
            return -1;
        } else if (status != Z_OK) {
            snprintf(error, error_length, "zlib: %s", stream->msg ? stream->msg : "corrupt image data");
            return -1;
        }
    }
    return 0;
}

int ferry_inflater_finish(ferry_inflater *inflater, char *error, size_t error_length) {
    uint8_t extra;
    z_stream *stream = &inflater->stream;
    while (!inflater->ended) {
        stream->next_out = &extra;
        stream->avail_out = 1;
        int status = inflate(stream, Z_NO_FLUSH);
        if (status == Z_STREAM_END && stream->avail_out == 1) {
            inflater->ended = 1;
        } else if (status == Z_OK && stream->avail_out == 1) {
            continue; /* consumed input (the checksum) without output; out of input next time is Z_BUF_ERROR */
        } else if (status == Z_OK || status == Z_STREAM_END) {
            snprintf(error, error_length, "the image data holds more than its rows");
            return -1;
        } else {
            snprintf(error, error_length, "zlib: %s", stream->msg ? stream->msg : "the image data ends early");
            return -1;
        }
    }
    return 0;
}

void ferry_inflater_free(ferry_inflater *inflater) {
    if (!inflater) return;
    inflateEnd(&inflater->stream);
    free(inflater);
}
