/* zlib's gzip file functions, for module archives (.tar.gz). */
#include <zlib.h>
