// Built against a newer minor than the host knows: the loader must refuse it without calling init.
#include "ferry/plugin.h"
static ferry_status init(const ferry_host_api *host, ferry_result *result) {
    (void)host;
    result->set_error(result->context, "init must never run for a newer ABI minor");
    return FERRY_FATAL;
}
static const ferry_plugin_descriptor descriptor = {
    sizeof(ferry_plugin_descriptor), FERRY_ABI_MAJOR, FERRY_ABI_MINOR + 1, "future-minor", "1.1.0", init};
__attribute__((visibility("default"))) const ferry_plugin_descriptor *ferry_plugin_entry(void) { return &descriptor; }
