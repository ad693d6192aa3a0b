/* libffi for the host's simple plugin tier. The ffi_type_* globals are reached through these
   functions so Swift 6 never touches a mutable C global directly. */
#include <ffi.h>

static inline ffi_type *ferry_ffi_type_void(void) { return &ffi_type_void; }
static inline ffi_type *ferry_ffi_type_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *ferry_ffi_type_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *ferry_ffi_type_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *ferry_ffi_type_float(void) { return &ffi_type_float; }
static inline ffi_type *ferry_ffi_type_double(void) { return &ffi_type_double; }
static inline ffi_type *ferry_ffi_type_pointer(void) { return &ffi_type_pointer; }
