// A cluster convert job's options (proto::ConvertOptions, described by its annotations in
// fsc.proto) and the converter's ConvertOptions: which field sets which member, so that `fsc
// convert`'s flags, `fsc submit convert|swap`'s flags and the worker's convert task all follow one
// definition (core/rpc/option_binding.h).
#ifndef FSC_CORE_CONVERT_CONVERT_SPEC_H_
#define FSC_CORE_CONVERT_CONVERT_SPEC_H_

#include "core/convert/converter.h"
#include "core/util/flags.h"
#include "proto/fsc.pb.h"

namespace fsc::convert {

// Declares the flags of every annotated ConvertOptions field, each setting its member of
// `options` when given; --help shows the member's current value as the default.
void AddConvertSpecFlags(util::FlagSet* flags, ConvertOptions* options);

// Applies a job's spec: every field present sets its member of `options`; the rest keep fsc
// convert's defaults.
void ApplyConvertSpec(const proto::ConvertOptions& spec, ConvertOptions* options);

// The spec with every field present, holding `options`' values.
proto::ConvertOptions ConvertSpecOf(const ConvertOptions& options);

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_CONVERT_SPEC_H_
