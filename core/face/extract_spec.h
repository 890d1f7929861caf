// A cluster extract job's options (proto::ExtractOptions, described by its annotations in
// fsc.proto) and the extractor's ExtractOptions: which field sets which member, so that `fsc
// extract`'s flags, `fsc submit extract`'s flags and the worker's extract and merge tasks all
// follow one definition (core/rpc/option_binding.h).
#ifndef FSC_CORE_FACE_EXTRACT_SPEC_H_
#define FSC_CORE_FACE_EXTRACT_SPEC_H_

#include "core/face/extractor.h"
#include "core/face/stabilize.h"
#include "core/util/flags.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

// Declares the flags of every annotated ExtractOptions field, each setting its member of
// `options` when given; --help shows the member's current value as the default.
void AddExtractSpecFlags(util::FlagSet* flags, ExtractOptions* options);

// --strength and --max-gap alone (`fsc alignments smooth`), from the same annotations.
void AddStabilizeSpecFlags(util::FlagSet* flags, StabilizeOptions* options);

// Applies a job's spec: every field present sets its member of `options`; the rest keep fsc
// extract's defaults.
void ApplyExtractSpec(const proto::ExtractOptions& spec, ExtractOptions* options);

// The spec with every field present, holding `options`' values.
proto::ExtractOptions ExtractSpecOf(const ExtractOptions& options);

// The spec with the steady-faces fields (strength, max_gap) present, holding `options`' values.
proto::ExtractOptions StabilizeSpecOf(const StabilizeOptions& options);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_EXTRACT_SPEC_H_
