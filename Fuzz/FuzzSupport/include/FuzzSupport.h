// libFuzzer's driver entry point (compiler-rt, FuzzerInterface.h), which the fuzz targets call from
// their own `main`: SwiftPM renames an executable target's entry point to `<Module>_main` and links
// `main` to it, so libFuzzer's own `main` (which calls LLVMFuzzerTestOneInput) cannot be used.
#ifndef CLOUDAUDIT_FUZZ_SUPPORT_H
#define CLOUDAUDIT_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
