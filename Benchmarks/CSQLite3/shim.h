// The system libsqlite3 (Debian's, 3.40.1 with JSON1 built in), for the MQL benchmark's peer.
#ifndef FERRY_CSQLITE3_SHIM_H
#define FERRY_CSQLITE3_SHIM_H

#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type ferry_sqlite3_transient(void) { return SQLITE_TRANSIENT; }

#endif
