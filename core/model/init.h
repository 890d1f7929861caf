// Weight initialisers of Faceswap's models, seeded through an explicit generator so that a model
// built twice with the same seed has identical weights and the global RNG is left untouched.
//  - He uniform (Keras `he_uniform`): U(-l, l), l = sqrt(6 / fan_in). Faceswap's default for convs.
//  - Glorot uniform (Keras default for Dense): l = sqrt(6 / (fan_in + fan_out)).
//  - ICNR (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution"): the conv that
//    feeds a pixel shuffle starts as if it were a nearest-neighbour upscale, which avoids the
//    checkerboard pattern of a randomly initialised sub-pixel conv.
#ifndef FSC_CORE_MODEL_INIT_H_
#define FSC_CORE_MODEL_INIT_H_

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>

namespace fsc::model {

// A CPU generator seeded with `seed`, for the initialisers below.
at::Generator MakeInitGenerator(uint64_t seed);

// All fill `weight` (a parameter) in place without recording autograd history. Conv weights are
// O x I x kh x kw, linear weights O x I.
void HeUniform(torch::Tensor& weight, at::Generator& gen);
void GlorotUniform(torch::Tensor& weight, at::Generator& gen);
// ICNR for a conv followed by pixel_shuffle(`scale`): a He-uniform kernel for O / scale² outputs,
// each repeated for its scale² sub-pixel outputs in torch::pixel_shuffle's channel order
// (channel c * scale² + k feeds sub-pixel k of output channel c).
void IcnrHeUniform(torch::Tensor& weight, int64_t scale, at::Generator& gen);
// N(mean, std), as faceswap-GAN initialises its discriminator.
void Normal(torch::Tensor& weight, double mean, double std, at::Generator& gen);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_INIT_H_
