// glibc allocator tuning for the large-buffer pipelines (see malloc_tuning.h).
#include "core/util/malloc_tuning.h"

#include <cstdlib>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fsc::util {

void KeepFreedMemoryForReuse() {
#if defined(__GLIBC__)
  // Setting either value also turns off glibc's own adjustment of the pair, which would lower the
  // threshold again after a large block is freed.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace fsc::util
