// TrainingState: copies, digest, layout and spans.
#include "core/train/training_state.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/util/sha256.h"

namespace fsc::train {
namespace {

// The dtypes a training state holds, by the names the layout uses.
const std::vector<std::pair<std::string, torch::ScalarType>>& Dtypes() {
  static const auto* dtypes = new std::vector<std::pair<std::string, torch::ScalarType>>{
      {"float32", torch::kFloat32},   {"float64", torch::kFloat64}, {"float16", torch::kFloat16},
      {"bfloat16", torch::kBFloat16}, {"int64", torch::kInt64},     {"int32", torch::kInt32},
      {"uint8", torch::kUInt8},       {"bool", torch::kBool}};
  return *dtypes;
}

std::string DtypeName(torch::ScalarType type) {
  for (const auto& [name, t] : Dtypes()) {
    if (t == type) return name;
  }
  return c10::toString(type);
}

bool ParseDtype(const std::string& name, torch::ScalarType* type) {
  for (const auto& [n, t] : Dtypes()) {
    if (n == name) {
      *type = t;
      return true;
    }
  }
  return false;
}

void HashInt(util::Sha256* hash, int64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  hash->Update(absl::string_view(bytes, sizeof(bytes)));
}

}  // namespace

struct StateHasher::Impl {
  const TrainingState& state;
  util::Sha256 hash;
  std::map<std::string, NamedTensors>::const_iterator role;
  size_t tensor = 0;
  bool header = false;  // the current role's header is hashed

  // Moves to the role of the next tensor (or the end), hashing every role header on the way.
  void Advance() {
    while (role != state.roles.end()) {
      if (!header) {
        hash.Update(role->first);
        HashInt(&hash, static_cast<int64_t>(role->second.size()));
        header = true;
      }
      if (tensor < role->second.size()) return;
      ++role;
      tensor = 0;
      header = false;
    }
  }
};

StateHasher::StateHasher(const TrainingState& state)
    : impl_(new Impl{state, {}, state.roles.begin()}) {
  HashInt(&impl_->hash, state.iteration);
}

StateHasher::~StateHasher() = default;

void StateHasher::Next() {
  Impl& m = *impl_;
  m.Advance();
  if (m.role == m.state.roles.end()) return;
  const auto& [name, tensor] = m.role->second[m.tensor++];
  m.hash.Update(name);
  m.hash.Update(DtypeName(tensor.scalar_type()));
  HashInt(&m.hash, tensor.dim());
  for (int64_t size : tensor.sizes()) HashInt(&m.hash, size);
  m.hash.Update(absl::string_view(static_cast<const char*>(tensor.data_ptr()), tensor.nbytes()));
}

std::string StateHasher::Finish() {
  impl_->Advance();  // the headers of roles left (empty ones)
  return impl_->hash.HexDigest();
}

namespace {

std::string ComputeDigest(const TrainingState& state) {
  StateHasher hasher(state);
  for (const auto& [role, tensors] : state.roles) {
    for (size_t i = 0; i < tensors.size(); ++i) hasher.Next();
  }
  return hasher.Finish();
}

}  // namespace

int64_t TrainingState::bytes() const {
  int64_t total = 0;
  for (const auto& [role, tensors] : roles) {
    for (const auto& [name, tensor] : tensors) total += static_cast<int64_t>(tensor.nbytes());
  }
  return total;
}

TrainingState CopyState(int64_t iteration, const nlohmann::json& loss_history,
                        const std::map<std::string, NamedTensors>& roles) {
  torch::NoGradGuard no_grad;
  TrainingState state;
  state.iteration = iteration;
  state.loss_history = loss_history;
  for (const auto& [role, tensors] : roles) {
    NamedTensors& copies = state.roles[role];
    for (const auto& [name, tensor] : tensors) {
      copies.emplace_back(name,
                          tensor.detach().to(torch::kCPU).clone(at::MemoryFormat::Contiguous));
    }
  }
  Seal(&state);
  return state;
}

void Seal(TrainingState* state) { state->digest = ComputeDigest(*state); }

absl::Status CheckDigest(const TrainingState& state, const std::string& what) {
  if (ComputeDigest(state) != state.digest) {
    return absl::DataLossError(
        absl::StrCat(what, " does not match its digest (", state.digest.substr(0, 12), "...)"));
  }
  return absl::OkStatus();
}

std::string StateLayout(const TrainingState& state) {
  nlohmann::json roles = nlohmann::json::object();
  for (const auto& [role, tensors] : state.roles) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& [name, tensor] : tensors) {
      entries.push_back({{"name", name},
                         {"dtype", DtypeName(tensor.scalar_type())},
                         {"shape", tensor.sizes().vec()}});
    }
    roles[role] = entries;
  }
  return nlohmann::json{{"iteration", state.iteration},
                        {"digest", state.digest},
                        {"loss_history", state.loss_history},
                        {"roles", roles}}
      .dump();
}

absl::StatusOr<TrainingState> AllocateState(const std::string& layout, const std::string& what) {
  const nlohmann::json json = nlohmann::json::parse(layout, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError(absl::StrCat(what, ": the state layout is not JSON"));
  }
  TrainingState state;
  try {
    state.iteration = json.at("iteration").get<int64_t>();
    state.digest = json.at("digest").get<std::string>();
    state.loss_history = json.at("loss_history");
    for (const auto& [role, entries] : json.at("roles").items()) {
      NamedTensors& tensors = state.roles[role];
      for (const nlohmann::json& entry : entries) {
        torch::ScalarType type;
        const std::string dtype = entry.at("dtype").get<std::string>();
        if (!ParseDtype(dtype, &type)) {
          return absl::DataLossError(absl::StrCat(what, ": unknown dtype ", dtype));
        }
        const std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
        for (int64_t size : shape) {
          if (size < 0) return absl::DataLossError(absl::StrCat(what, ": a negative shape"));
        }
        tensors.emplace_back(entry.at("name").get<std::string>(),
                             torch::empty(shape, torch::TensorOptions().dtype(type)));
      }
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(what, ": bad state layout: ", e.what()));
  }
  return state;
}

std::vector<std::pair<void*, size_t>> StateSpans(TrainingState* state) {
  std::vector<std::pair<void*, size_t>> spans;
  for (auto& [role, tensors] : state->roles) {
    for (auto& [name, tensor] : tensors) spans.emplace_back(tensor.data_ptr(), tensor.nbytes());
  }
  return spans;
}

std::map<std::string, torch::Tensor> TensorMap(const NamedTensors& tensors) {
  return std::map<std::string, torch::Tensor>(tensors.begin(), tensors.end());
}

}  // namespace fsc::train
