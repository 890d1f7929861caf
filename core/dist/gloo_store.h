// Adapts a KeyValueStore to gloo::rendezvous::Store, through which Gloo's full-mesh connect
// exchanges the ranks' addresses. Gloo's interface reports failures by exception: a store error
// or a wait past its timeout becomes a gloo::IoException carrying the store's message (the
// communicator converts it back into a Status).
#ifndef FSC_CORE_DIST_GLOO_STORE_H_
#define FSC_CORE_DIST_GLOO_STORE_H_

#include <gloo/rendezvous/store.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/dist/kv_store.h"

namespace fsc::dist {

class GlooStore : public gloo::rendezvous::Store {
 public:
  // `store` must outlive this adapter. `timeout` bounds get() and every wait(), also the ones
  // where Gloo passes its own (shorter, per-operation) timeout.
  GlooStore(KeyValueStore* store, absl::Duration timeout);

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override;

 private:
  KeyValueStore* store_;
  absl::Duration timeout_;
};

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_GLOO_STORE_H_
