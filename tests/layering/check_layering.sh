#!/usr/bin/env bash
# The layering rules, checked on what was built and on the sources (cmake/layering.cmake checks the
# CMake graph): the named programs load no LibTorch, OpenCV or CUDA runtime (ldd), and the bottom
# layers' sources (core/util, core/rpc, core/metrics less its GPU part) and the coordinator's
# include nothing from the layers above them or from the heavy libraries.
#   check_layering.sh SOURCE_DIR [PROGRAM...]
set -uo pipefail
src=$1
shift
failed=0

for program in "$@"; do
  heavy=$(ldd "$program" | grep -E 'libtorch|libc10|libopencv|libcudart|libnccl')
  if [ -n "$heavy" ]; then
    echo "FAIL: $program loads heavy libraries:"
    echo "$heavy"
    failed=1
  else
    echo "ok: $program loads no LibTorch/OpenCV/CUDA ($(ldd "$program" | wc -l) libraries)"
  fi
done

heavy_headers='#include <(torch/|ATen/|c10/|opencv2/|cuda_runtime|nccl)'
upper='#include "core/(media|face|model|train|dist|convert|eval)/'
check_includes() {  # NAME PATTERN FILES...
  local name=$1 pattern=$2
  shift 2
  local hits
  hits=$(grep -HnE "$pattern" "$@")
  if [ -n "$hits" ]; then
    echo "FAIL: $name includes what it must not:"
    echo "$hits"
    failed=1
  else
    echo "ok: $name"
  fi
}
cd "$src" || exit 1
bottom=$(ls core/util/*.{h,cc} core/rpc/*.{h,cc} core/metrics/*.{h,cc} | grep -v gpu_memory)
# shellcheck disable=SC2086
check_includes "core/util, core/rpc, core/metrics" "$heavy_headers|$upper" $bottom
check_includes "core/util (the bottom layer)" '#include "core/(rpc|metrics)/' core/util/*.{h,cc}
check_includes "coordinator/" "$heavy_headers|$upper" coordinator/*.{h,cc}
exit $failed
