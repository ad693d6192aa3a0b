// Registers a model that the built-in fake plugin already registers: the second one is refused.
#include "ferry/plugin.h"
static ferry_status create(void *ctx, const uint8_t *config, size_t length, void **instance, ferry_result *result) {
    (void)ctx; (void)config; (void)length; (void)instance;
    result->set_error(result->context, "never created");
    return FERRY_FATAL;
}
static void close_instance(void *instance) { (void)instance; }
static ferry_status capture(void *instance, const char *method, const uint8_t *p, size_t n, ferry_result *result) {
    (void)instance; (void)method; (void)p; (void)n; (void)result;
    return FERRY_UNSUPPORTED;
}
static const char *const methods[] = {"Readings", NULL};
static ferry_status init(const ferry_host_api *host, ferry_result *result) {
    ferry_model model = {sizeof(ferry_model), "rdk:component:sensor", "rdk:builtin:fake",
                         methods, 0, NULL, create, NULL, close_instance, capture, NULL};
    if (host->register_model(host->host_context, &model) != FERRY_OK) {
        result->set_error(result->context, "model rdk:builtin:fake is already registered");
        return FERRY_INVALID_ARGUMENT;
    }
    return FERRY_OK;
}
FERRY_DECLARE_PLUGIN("duplicate-model", "0.0.1", init)
