// Elastic training across real processes on 127.0.0.1 on a quiet machine: a 3-rank
// `lightweight` job loses its rank 0 to SIGKILL and finishes on the two survivors without moving
// any state, and a 2-rank job with room for 3 grows when a third trainer arrives (only the
// joiner receives the state). The scenarios are in cluster_train_scenarios.h; the same run with
// both cores saturated is cluster_train_load_test.cc.
#include <gtest/gtest.h>

#include "tests/integration/cluster_train_scenarios.h"

namespace fsc {
namespace {

TEST(ClusterTrainFaultTest, ThreeRanksLoseOneBySigkillAndFinishOnTwo) {
  testing::TrainCluster cluster(testing::TrainCluster::Options{});
  testing::SigkillScenario(cluster);
}

TEST(ClusterTrainFaultTest, AJoinerGrowsTheGroupUpToMaxRanks) {
  testing::TrainCluster cluster(testing::TrainCluster::Options{});
  testing::JoinerScenario(cluster);
}

}  // namespace
}  // namespace fsc
