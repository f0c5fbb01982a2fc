// Only the declaration in include/FuzzSupport.h; the definition is libFuzzer's (-sanitize=fuzzer).
#include "FuzzSupport.h"
