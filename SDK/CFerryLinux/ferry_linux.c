#include "ferry_linux.h"
