/* libjpeg reports an error by calling error_exit, which must not return: this manager keeps the
   message for the caller and longjmps back to the setjmp the caller made. Include after jpeglib.h. */
#ifndef FERRY_JPEG_ERROR_H
#define FERRY_JPEG_ERROR_H

#include <setjmp.h>
#include <stdio.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *error;
    size_t error_length;
} ferry_jpeg_error;

static inline void ferry_jpeg_error_exit(j_common_ptr info) {
    ferry_jpeg_error *error = (ferry_jpeg_error *)info->err;
    char message[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, message);
    if (error->error && error->error_length) snprintf(error->error, error->error_length, "%s", message);
    longjmp(error->jump, 1);
}

#endif
