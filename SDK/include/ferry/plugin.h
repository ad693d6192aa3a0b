/*
 * ferry/plugin.h — the one contract between the Ferry host and its plugins.
 *
 * A plugin is a shared library (.so) that exports one symbol, `ferry_plugin_entry`, returning a
 * pointer to a constant descriptor. The host reads the descriptor before running any other plugin
 * code, checks the ABI version, then calls `init` with a table of host functions through which the
 * plugin registers its component models and MQL operators.
 *
 * Rules every function here follows:
 *  - Versioning: FERRY_ABI_MAJOR changes only when an existing struct or function changes meaning.
 *    The host refuses a plugin with another major, or with a newer minor than its own. Structs only
 *    ever grow at their end; each carries its own size in `struct_size`, so either side can tell
 *    which fields the other knows about.
 *  - Documents cross the boundary as BSON bytes (http://bsonspec.org). Binary payloads cross as
 *    (bytes, length, MIME type).
 *  - Ownership: whoever allocates frees. Every pointer passed *into* a function is borrowed and valid
 *    only until that function returns; copy what you keep. Results travel the other way through a
 *    `ferry_result`, whose functions copy the bytes they are given, so no allocation ever crosses
 *    the boundary and neither side ever frees the other's memory.
 *  - Errors: every fallible function returns a ferry_status. On anything but FERRY_OK the callee
 *    should call `result->set_error` with a one-line, human message. Nothing unwinds across the
 *    boundary: a C++ or Swift plugin catches its own exceptions/errors and returns a status.
 *  - Threads: the host never calls into one instance from two threads at once, unless its model
 *    sets FERRY_MODEL_THREAD_SAFE. Different instances may be called concurrently. `init` and every
 *    `create`, `reconfigure` and `close` run on the host's control thread, never concurrently with
 *    a capture call on the same instance.
 *  - Libraries are never unloaded (no dlclose). Reloading a plugin means restarting the host.
 */
#ifndef FERRY_PLUGIN_H
#define FERRY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FERRY_ABI_MAJOR 1
#define FERRY_ABI_MINOR 2

/* The name of the one symbol a plugin library exports. */
#define FERRY_PLUGIN_ENTRY_SYMBOL "ferry_plugin_entry"

/* Status codes. Nothing else signals failure across the boundary. */
typedef enum ferry_status {
    FERRY_OK = 0,
    /* Transient: the device is busy, a bus NACKed, try again on the next tick. Logged, rate-limited. */
    FERRY_RETRY_LATER = 1,
    /* The caller passed something wrong (bad attributes, unknown parameter). Not retried as-is. */
    FERRY_INVALID_ARGUMENT = 2,
    /* The instance does not implement this method or operation. */
    FERRY_UNSUPPORTED = 3,
    /* The instance is broken and will not recover without being re-created. */
    FERRY_FATAL = 4
} ferry_status;

typedef enum ferry_log_level {
    FERRY_LOG_DEBUG = 0,
    FERRY_LOG_INFO = 1,
    FERRY_LOG_WARNING = 2,
    FERRY_LOG_ERROR = 3
} ferry_log_level;

/*
 * Where a callee puts what it produces. Owned by the caller (the host, or the plugin when it is the
 * caller); valid only during the call it is passed to. Every function copies its arguments, so the
 * callee may free or reuse its own buffers as soon as the function returns. Any function may be
 * called from the thread running the call, and only from that thread.
 */
typedef struct ferry_result {
    uint32_t struct_size;
    void *context;
    /* Sets the single BSON document result (a reading, a DoCommand reply, an operator's value).
       Calling it again replaces the previous document. */
    void (*set_document)(void *context, const uint8_t *bson, size_t length);
    /* Appends one binary payload (an image, a point cloud) with its MIME type, e.g. "image/jpeg".
       A capture may return several (GetImages); each becomes its own capture file. */
    void (*add_binary)(void *context, const uint8_t *bytes, size_t length, const char *mime_type);
    /* A one-line, human message explaining a non-OK status: what was wrong and what to do. */
    void (*set_error)(void *context, const char *message);
    /* Since ABI 1.2 (check `struct_size` covers it before calling; else use add_binary). Like
       add_binary, with annotations stored beside the payload: a BSON document in the shape of Viam's
       data annotations, {"bboxes": [{"label", "confidence", "x_min_normalized", "y_min_normalized",
       "x_max_normalized", "y_max_normalized"}], "classifications": [{"label", "confidence"}]}
       (coordinates are fractions of the image's width and height). A vision service's capture
       returns its camera's image so, with what it detected on it. */
    void (*add_annotated_binary)(void *context, const uint8_t *bytes, size_t length, const char *mime_type,
                                 const uint8_t *annotations, size_t annotations_length);
} ferry_result;

/* --- Component and service models --------------------------------------------------------------- */

/* A model's API is a component API ("rdk:component:camera") or, since ABI 1.2, a service API
   ("rdk:service:vision"): service models are created from the machine config's `services[]`
   entries, with capture methods of their own, exactly as component models from `components[]`. */

/* The model may be called from several threads at once on one instance. */
#define FERRY_MODEL_THREAD_SAFE 0x1u

typedef struct ferry_model {
    uint32_t struct_size;
    /* API triplet, e.g. "rdk:component:sensor". */
    const char *api;
    /* Model triplet, e.g. "rdk:builtin:fake". */
    const char *model;
    /* NULL-terminated list of the capture method names this model implements, e.g.
       {"Readings", NULL}. The host refuses, at config load, a capture method not listed here. */
    const char *const *capture_methods;
    uint32_t flags;
    /* Passed back unchanged to `create`. */
    void *model_context;

    /* Creates an instance. `config` is a BSON document
       {name, api, model, attributes: {...}, depends_on: [...]}. On success stores an opaque handle
       in *instance. On failure returns a non-OK status and explains through `result->set_error`. */
    ferry_status (*create)(void *model_context, const uint8_t *config, size_t config_length,
                           void **instance, ferry_result *result);
    /* Applies a new config to a live instance. May be NULL: the host then closes and re-creates.
       FERRY_UNSUPPORTED has the same effect. */
    ferry_status (*reconfigure)(void *instance, const uint8_t *config, size_t config_length,
                                ferry_result *result);
    /* Releases the instance. Called exactly once; the handle is never used again. */
    void (*close)(void *instance);
    /* Runs one capture method. `parameters` is a BSON document of the collector's
       additional_params (possibly empty). Tabular methods call result->set_document once with the
       reading; binary methods call result->add_binary once per payload. Called on the collector's
       own queue. */
    ferry_status (*capture)(void *instance, const char *method, const uint8_t *parameters,
                            size_t parameters_length, ferry_result *result);
    /* Arbitrary command, BSON document in, BSON document out (result->set_document). May be NULL. */
    ferry_status (*do_command)(void *instance, const uint8_t *command, size_t command_length,
                               ferry_result *result);
} ferry_model;

/* --- MQL operators -------------------------------------------------------------------------- */

typedef enum ferry_operator_kind {
    /* {"$name": <args>} -> value. */
    FERRY_OPERATOR_EXPRESSION = 1,
    /* Used in $group / $setWindowFields: init, accumulate, merge, finalize. */
    FERRY_OPERATOR_ACCUMULATOR = 2,
    /* A whole stage: a batch of documents in, a batch out. */
    FERRY_OPERATOR_STAGE = 3
} ferry_operator_kind;

typedef struct ferry_operator {
    uint32_t struct_size;
    /* The operator's name including the dollar sign, e.g. "$lttb". */
    const char *name;
    ferry_operator_kind kind;
    void *operator_context;

    /* All kinds: validates the operator's argument (the BSON document {"spec": <argument>}) when
       a pipeline is created, before any document flows. Optional (NULL = accept anything). */
    ferry_status (*validate)(void *operator_context, const uint8_t *spec, size_t spec_length,
                             ferry_result *result);

    /* EXPRESSION: `arguments` is {"args": <evaluated argument>}; set_document({"value": <v>}).
       Called from the query's thread; must be safe to call concurrently (pure function). */
    ferry_status (*evaluate)(void *operator_context, const uint8_t *arguments,
                             size_t arguments_length, ferry_result *result);

    /* ACCUMULATOR: `spec` is {"spec": <argument>}. *state is owned by the plugin until
       accumulator_free. One state is used by one thread at a time. */
    ferry_status (*accumulator_init)(void *operator_context, const uint8_t *spec,
                                     size_t spec_length, void **state, ferry_result *result);
    /* `value` is {"value": <evaluated input>}. */
    ferry_status (*accumulator_add)(void *state, const uint8_t *value, size_t value_length,
                                    ferry_result *result);
    /* Folds `other` into `state` (partial aggregates); `other` is freed by the host afterwards. */
    ferry_status (*accumulator_merge)(void *state, void *other, ferry_result *result);
    /* set_document({"value": <v>}). */
    ferry_status (*accumulator_finalize)(void *state, ferry_result *result);
    void (*accumulator_free)(void *state);

    /* STAGE: `spec` is {"spec": <argument>}, `input` is {"docs": [<document>, ...]};
       set_document({"docs": [...]}) with the output batch. */
    ferry_status (*stage_run)(void *operator_context, const uint8_t *spec, size_t spec_length,
                              const uint8_t *input, size_t input_length, ferry_result *result);
} ferry_operator;

/* --- The host's function table ---------------------------------------------------------------- */

/*
 * Handed to `init`. The table and `host_context` stay valid for the life of the process, so a
 * plugin may keep the pointer and call `log` from any thread at any time. The register functions
 * may be called only during `init`. They copy every string and the struct itself (but keep the
 * function pointers and contexts), so the plugin need not keep them alive.
 */
typedef struct ferry_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void *host_context;
    /* Thread-safe. `message` is borrowed. */
    void (*log)(void *host_context, ferry_log_level level, const char *message);
    /* Returns FERRY_INVALID_ARGUMENT (with the reason logged) for a malformed or duplicate model. */
    ferry_status (*register_model)(void *host_context, const ferry_model *model);
    /* Returns FERRY_INVALID_ARGUMENT for a malformed or duplicate operator name. */
    ferry_status (*register_operator)(void *host_context, const ferry_operator *op);
    /* Since ABI 1.1 (check `struct_size` covers it before calling). Thread-safe, any time after
       init: asks the data manager to sync now, as `ferry sync now` does (Viam's data manager Sync),
       ignoring the selective syncer. Returns at once; FERRY_UNSUPPORTED when this host does not
       sync (e.g. `ferry hil`, `ferry mql`). */
    ferry_status (*request_sync)(void *host_context);
    /* Since ABI 1.2 (check `struct_size` covers it before calling). Thread-safe, any time after
       init, typically from a model's capture: runs capture method `method` of the machine's
       resource named `name` (a component or service of the config, served by any plugin) with
       `parameters` (a BSON document, or NULL and 0) and fills `result` as that capture would. It is
       how a service reaches what it works on: a vision service asks for its camera's image.
       FERRY_RETRY_LATER when no resource of that name runs (yet); FERRY_UNSUPPORTED when this host
       runs no machine (e.g. `ferry hil`); else the resource's own status and message. A model must
       not ask for itself: an instance that is not thread-safe would wait for its own call. */
    ferry_status (*capture_resource)(void *host_context, const char *name, const char *method,
                                     const uint8_t *parameters, size_t parameters_length, ferry_result *result);
} ferry_host_api;

/* --- The plugin's descriptor ------------------------------------------------------------------ */

typedef struct ferry_plugin_descriptor {
    uint32_t struct_size;
    /* The ABI this plugin was compiled against: always FERRY_ABI_MAJOR / FERRY_ABI_MINOR. */
    uint16_t abi_major;
    uint16_t abi_minor;
    /* Human name and version, e.g. "fake", "1.2.0". Static strings. */
    const char *name;
    const char *version;
    /* Registers models and operators through `host`. Called once, on the host's control thread,
       after the ABI check. A non-OK status (with set_error) makes the host drop the whole plugin,
       including whatever it registered. */
    ferry_status (*init)(const ferry_host_api *host, ferry_result *result);
} ferry_plugin_descriptor;

/* Every plugin exports exactly this function. It must not run any other code: return the
   address of a static descriptor. */
typedef const ferry_plugin_descriptor *(*ferry_plugin_entry_fn)(void);

/* Convenience for C plugins: FERRY_DECLARE_PLUGIN(name, version, init_function). */
#define FERRY_DECLARE_PLUGIN(NAME, VERSION, INIT)                                                \
    __attribute__((visibility("default"))) const ferry_plugin_descriptor *ferry_plugin_entry(void); \
    static const ferry_plugin_descriptor ferry_plugin_descriptor_value = {                      \
        sizeof(ferry_plugin_descriptor), FERRY_ABI_MAJOR, FERRY_ABI_MINOR, NAME, VERSION, INIT}; \
    __attribute__((visibility("default"))) const ferry_plugin_descriptor *ferry_plugin_entry(void) \
    {                                                                                           \
        return &ferry_plugin_descriptor_value;                                                  \
    }

#ifdef __cplusplus
}
#endif

#endif /* FERRY_PLUGIN_H */
