// Compiles the ABI header on its own, so a header that stops being valid C breaks the build here.
#include "ferry/plugin.h"
