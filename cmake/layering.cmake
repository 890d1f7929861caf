# The dependency rules between fsc's libraries and programs, checked when CMake configures: each
# rule names a target and a pattern its link closure (everything it links, transitively, through
# PUBLIC, PRIVATE and INTERFACE edges and into imported targets) must not match. A forbidden edge
# fails the configure with the chain that reaches it, e.g.
#
#   layering: fsc_util must not reach fsc_face (fsc_util -> fsc_rpc -> fsc_face): core/util is
#   the bottom layer
#
# Why: LibTorch alone costs a program ~0.4 s to load, OpenCV and the CUDA runtime more; the
# coordinator and the cluster verbs of `fsc` must not pay for them, and the low layers (util, rpc,
# metrics, proto) must stay usable without the heavy ones.

# LibTorch, OpenCV and the CUDA runtime: as fsc's wrapper targets, as their imported targets and as
# file names (TORCH_LIBRARIES carries some as -Wl flags).
set(FSC_HEAVY_LIBS
    "^(fsc_torch|fsc_opencv|fsc_cuda|torch|torch_library|torch_cpu|torch_cuda|c10|c10_cuda|opencv_[a-z0-9_]+)$|libtorch|libc10|libopencv|libcudart|libnccl")
# The core libraries above the bottom layers (util, rpc, metrics, proto).
set(FSC_UPPER_LIBS "^fsc_(media|face|model|train|dist|convert|eval|gpu_metrics|core)$")

# fsc_forbid(TARGET PATTERN WHY): TARGET's link closure must not match PATTERN (a regex).
function(fsc_forbid target pattern why)
  get_property(count GLOBAL PROPERTY FSC_LAYERING_RULES)
  if(NOT count)
    set(count 0)
  endif()
  set_property(GLOBAL PROPERTY FSC_LAYERING_TARGET_${count} "${target}")
  set_property(GLOBAL PROPERTY FSC_LAYERING_PATTERN_${count} "${pattern}")
  set_property(GLOBAL PROPERTY FSC_LAYERING_WHY_${count} "${why}")
  math(EXPR count "${count} + 1")
  set_property(GLOBAL PROPERTY FSC_LAYERING_RULES ${count})
endfunction()

# The link items one target names directly, generator expressions for link-only edges unwrapped.
function(_fsc_direct_links target out_var)
  set(items "")
  get_target_property(type ${target} TYPE)
  get_target_property(imported ${target} IMPORTED)
  set(properties INTERFACE_LINK_LIBRARIES)
  if(NOT imported AND NOT type STREQUAL "INTERFACE_LIBRARY")
    list(APPEND properties LINK_LIBRARIES)
  endif()
  foreach(property ${properties})
    get_target_property(values ${target} ${property})
    if(values)
      list(APPEND items ${values})
    endif()
  endforeach()
  set(result "")
  foreach(item ${items})
    # target_link_libraries from another directory leaves ::@(id) markers around its items.
    if(item MATCHES "^::@")
      continue()
    endif()
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" item "${item}")
    string(REGEX REPLACE "::@\\(.*\\)$" "" item "${item}")
    list(APPEND result "${item}")
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

# Breadth-first walk of TARGET's link closure; fails on the first item matching PATTERN.
function(_fsc_check_rule target pattern why)
  set(queue ${target})
  set(seen ${target})
  string(MAKE_C_IDENTIFIER "${target}" key)
  set(_path_${key} "${target}")
  while(queue)
    list(POP_FRONT queue current)
    string(MAKE_C_IDENTIFIER "${current}" current_key)
    _fsc_direct_links(${current} links)
    foreach(link ${links})
      if(link IN_LIST seen)
        continue()
      endif()
      list(APPEND seen "${link}")
      string(MAKE_C_IDENTIFIER "${link}" link_key)
      set(_path_${link_key} "${_path_${current_key}} -> ${link}")
      if(link MATCHES "${pattern}")
        message(FATAL_ERROR "layering: ${target} must not reach ${link} "
                            "(${_path_${link_key}}): ${why}")
      endif()
      if(TARGET ${link})
        list(APPEND queue ${link})
      endif()
    endforeach()
  endwhile()
endfunction()

# Checks every rule whose target exists in this build.
function(fsc_check_layering)
  get_property(count GLOBAL PROPERTY FSC_LAYERING_RULES)
  if(NOT count)
    return()
  endif()
  math(EXPR last "${count} - 1")
  foreach(index RANGE ${last})
    get_property(target GLOBAL PROPERTY FSC_LAYERING_TARGET_${index})
    get_property(pattern GLOBAL PROPERTY FSC_LAYERING_PATTERN_${index})
    get_property(why GLOBAL PROPERTY FSC_LAYERING_WHY_${index})
    if(TARGET ${target})
      _fsc_check_rule(${target} "${pattern}" "${why}")
    endif()
  endforeach()
endfunction()

# --- fsc's rules -------------------------------------------------------------------------------
foreach(target fsc_util fsc_rpc fsc_metrics fsc_proto)
  fsc_forbid(${target} "${FSC_HEAVY_LIBS}"
             "the bottom layers (util, rpc, metrics, proto) link no LibTorch, OpenCV or CUDA")
  fsc_forbid(${target} "${FSC_UPPER_LIBS}"
             "the bottom layers (util, rpc, metrics, proto) depend on nothing above them")
endforeach()
fsc_forbid(fsc_util "^fsc_(rpc|metrics|proto)$" "core/util is the bottom layer")
foreach(target fsc fsc_cli_cluster)
  fsc_forbid(${target} "${FSC_HEAVY_LIBS}"
             "the fsc front end (help, the cluster verbs) starts without LibTorch, OpenCV or CUDA")
  fsc_forbid(${target} "${FSC_UPPER_LIBS}"
             "the fsc front end hands the local verbs to fsc-local (cli/fsc_local.h)")
endforeach()
foreach(target fsc_coordinator fsc-coordinator)
  fsc_forbid(${target} "${FSC_HEAVY_LIBS}"
             "the coordinator (jobs, datasets, scheduling) needs no LibTorch, OpenCV or CUDA")
  fsc_forbid(${target} "${FSC_UPPER_LIBS}"
             "the coordinator uses only core/util, core/rpc and core/metrics")
endforeach()
fsc_forbid(fsc_media "^(fsc_torch|torch|c10)$|libtorch|libc10|^fsc_(face|model|train|dist|convert|eval)$"
           "core/media is frames and images (OpenCV), below face and model")
fsc_forbid(fsc_model "^(fsc_opencv|opencv_[a-z0-9_]+)$|libopencv|^fsc_(media|face|train|dist|convert|eval)$"
           "core/model is networks only (LibTorch)")
fsc_forbid(fsc_face "^fsc_(model|train|dist|convert|eval)$" "core/face is below model training")
fsc_forbid(fsc_train "^fsc_(dist|convert|eval)$" "core/train is below dist, convert and eval")
