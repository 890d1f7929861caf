// Elastic training under load: the SIGKILL and joiner scenarios of cluster_train_scenarios.h
// while busy loops started by the test saturate every core (and stop with it). A fixed timeout on
// a whole state transfer livelocked exactly here; progress-bounded transfers, in-memory
// rollback and moving state only to members that lack it must let both finish.
#include <gtest/gtest.h>

#include "tests/integration/cluster_train_scenarios.h"

namespace fsc {
namespace {

TEST(ClusterTrainLoadTest, SigkillScenarioWithEveryCoreBusy) {
  testing::TrainCluster cluster(testing::TrainCluster::Options{});
  testing::CpuHog hog(cluster.dir() + "/logs");
  testing::SigkillScenario(cluster);
}

TEST(ClusterTrainLoadTest, JoinerScenarioWithEveryCoreBusy) {
  testing::TrainCluster cluster(testing::TrainCluster::Options{});
  testing::CpuHog hog(cluster.dir() + "/logs");
  testing::JoinerScenario(cluster);
}

}  // namespace
}  // namespace fsc
