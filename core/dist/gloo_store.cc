// GlooStore: KeyValueStore calls behind Gloo's exception-based store interface.
#include "core/dist/gloo_store.h"

#include <gloo/common/error.h>

#include "absl/strings/str_cat.h"

namespace fsc::dist {

GlooStore::GlooStore(KeyValueStore* store, absl::Duration timeout)
    : store_(store), timeout_(timeout) {}

void GlooStore::set(const std::string& key, const std::vector<char>& data) {
  absl::Status status = store_->Set(key, std::string(data.begin(), data.end()));
  if (!status.ok()) throw gloo::IoException(status.ToString());
}

std::vector<char> GlooStore::get(const std::string& key) {
  absl::StatusOr<std::vector<std::string>> values = store_->Get({key}, timeout_);
  if (!values.ok()) throw gloo::IoException(values.status().ToString());
  const std::string& value = values->front();
  return std::vector<char>(value.begin(), value.end());
}

void GlooStore::wait(const std::vector<std::string>& keys) {
  absl::StatusOr<std::vector<std::string>> values = store_->Get(keys, timeout_);
  if (!values.ok()) throw gloo::IoException(values.status().ToString());
}

void GlooStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds&) {
  // Gloo passes its per-operation timeout; waiting for other ranks to arrive is bounded by the
  // rendezvous timeout this adapter was made with instead (a member may still be loading).
  wait(keys);
}

}  // namespace fsc::dist
