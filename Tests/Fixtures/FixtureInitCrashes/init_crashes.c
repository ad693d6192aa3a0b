// A plugin whose init dereferences NULL: loaded in process it takes its host down; in a process
// of its own the host reports the crash and runs on.
#include "ferry/plugin.h"
#include <stdint.h>
#include <stdio.h>
static ferry_status init(const ferry_host_api *host, ferry_result *result) {
    (void)result;
    fprintf(stderr, "fixture: init crashes\n");
    fflush(stderr);
    *(volatile int *)(intptr_t)(host == NULL) = 1; /* host is never NULL: this writes to address 0 */
    return FERRY_OK;
}
FERRY_DECLARE_PLUGIN("init-crashes", "0.0.1", init)
