/*
 * The V4L2 uAPI and libjpeg-turbo, as the webcam plugin's Swift code sees them.
 *
 * Swift imports <linux/videodev2.h>'s structs and enums directly, but not its function-like
 * macros (the VIDIOC_* request numbers are _IOWR(...) expressions, the pixel formats v4l2_fourcc(...)),
 * so this header re-exports those as inline functions. libjpeg reports errors by longjmp, which
 * must never cross a Swift frame, so the JPEG work is done in C (jpeg.c) behind plain status codes.
 */
#ifndef FERRY_V4L2_H
#define FERRY_V4L2_H

#include <linux/videodev2.h>
#include <stddef.h>
#include <stdint.h>

static inline unsigned long ferry_vidioc_querycap(void) { return VIDIOC_QUERYCAP; }
static inline unsigned long ferry_vidioc_enum_fmt(void) { return VIDIOC_ENUM_FMT; }
static inline unsigned long ferry_vidioc_enum_framesizes(void) { return VIDIOC_ENUM_FRAMESIZES; }
static inline unsigned long ferry_vidioc_g_fmt(void) { return VIDIOC_G_FMT; }
static inline unsigned long ferry_vidioc_s_fmt(void) { return VIDIOC_S_FMT; }
static inline unsigned long ferry_vidioc_s_parm(void) { return VIDIOC_S_PARM; }
static inline unsigned long ferry_vidioc_reqbufs(void) { return VIDIOC_REQBUFS; }
static inline unsigned long ferry_vidioc_querybuf(void) { return VIDIOC_QUERYBUF; }
static inline unsigned long ferry_vidioc_qbuf(void) { return VIDIOC_QBUF; }
static inline unsigned long ferry_vidioc_dqbuf(void) { return VIDIOC_DQBUF; }
static inline unsigned long ferry_vidioc_streamon(void) { return VIDIOC_STREAMON; }
static inline unsigned long ferry_vidioc_streamoff(void) { return VIDIOC_STREAMOFF; }

static inline uint32_t ferry_v4l2_pix_fmt_mjpeg(void) { return V4L2_PIX_FMT_MJPEG; }
static inline uint32_t ferry_v4l2_pix_fmt_jpeg(void) { return V4L2_PIX_FMT_JPEG; }
static inline uint32_t ferry_v4l2_pix_fmt_yuyv(void) { return V4L2_PIX_FMT_YUYV; }

/* A JPEG produced by ferry_jpeg_encode_yuyv; release with ferry_jpeg_free. */
typedef struct ferry_jpeg_buffer {
    uint8_t *bytes;
    size_t length;
} ferry_jpeg_buffer;

/*
 * Encodes one packed YUYV 4:2:2 frame (`stride` bytes per row, at least width*2) as a baseline
 * JPEG at `quality` (1-100). Returns 0 on success; otherwise -1 with a message in `error`.
 */
int ferry_jpeg_encode_yuyv(const uint8_t *yuyv, size_t length, uint32_t width, uint32_t height, uint32_t stride,
                           int quality, ferry_jpeg_buffer *out, char *error, size_t error_length);

void ferry_jpeg_free(ferry_jpeg_buffer *buffer);

#endif
