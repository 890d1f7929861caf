// Allocator settings for processes that churn through large buffers (video frames, tensors,
// watermark planes): call KeepFreedMemoryForReuse() first thing in main.
//
// glibc serves every block above its mmap threshold with a fresh mapping and, by default, gives
// freed memory at the top of the heap back to the kernel. A pipeline that allocates and frees
// megabyte-sized buffers per frame then pays a page fault and a page clear for every 4 KB of
// them, every frame: measured, that was two thirds of the watermark's cost per frame and the bulk
// of `fsc convert`'s system time (bench/README.md).
#ifndef FSC_CORE_UTIL_MALLOC_TUNING_H_
#define FSC_CORE_UTIL_MALLOC_TUNING_H_

namespace fsc::util {

// Blocks up to 32 MB (glibc's limit for this setting) come from the heap, and up to 256 MB of
// freed memory stays mapped for reuse. Larger blocks (whole model files) still get their own
// mapping. Costs resident memory, not time; a no-op on other C libraries.
void KeepFreedMemoryForReuse();

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_MALLOC_TUNING_H_
