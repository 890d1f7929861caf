// Elastic training across "hosts": three trainers, each in its own network namespace made by the
// test, joined by veth pairs to a bridge in the root namespace where the coordinator listens on
// the bridge's address. Each trainer's data plane binds its own namespace's address (the default:
// the address toward the coordinator), so gradients cross the bridge. In the middle of the run
// one trainer's link is cut (`ip link set ... down`): no socket is reset, so the survivors' next
// all-reduce runs into the collective timeout, the coordinator retires the cut-off trainer's
// lease, and the two survivors form a new generation and finish. Skipped, with the reason, where
// the test may not create network namespaces.
#include <gtest/gtest.h>

#include <random>

#include "core/train/checkpoint.h"
#include "tests/integration/cluster_train_harness.h"

namespace fsc {
namespace {

using nlohmann::json;
using testing::CommandResult;

constexpr int kIterations = 9;

// A bridge and `count` namespaces with a veth pair each, 10.<a>.<b>.0/24: the bridge is .1,
// namespace i is .(10 + i). Everything is deleted in the destructor (every exit path).
class Hosts {
 public:
  explicit Hosts(int count) {
    std::random_device random;
    tag_ = std::to_string(random() % 100000);
    subnet_ = "10.213." + std::to_string(random() % 250 + 1);
    bridge_ = "fscbr" + tag_;
    CommandResult probe = Ip("netns add fsc" + tag_ + "-1");
    if (probe.exit_code != 0) {
      skip_ = "cannot create network namespaces here (ip netns add: " + probe.output + ")";
      return;
    }
    namespaces_.push_back("fsc" + tag_ + "-1");
    Must("link add name " + bridge_ + " type bridge");
    Must("addr add " + subnet_ + ".1/24 dev " + bridge_);
    Must("link set " + bridge_ + " up");
    for (int i = 1; i <= count; ++i) {
      const std::string ns = "fsc" + tag_ + "-" + std::to_string(i);
      if (i > 1) {
        Must("netns add " + ns);
        namespaces_.push_back(ns);
      }
      const std::string outside = "fv" + tag_ + "o" + std::to_string(i);
      const std::string inside = "fv" + tag_ + "i" + std::to_string(i);
      Must("link add " + outside + " type veth peer name " + inside);
      links_.push_back(outside);
      Must("link set " + inside + " netns " + ns);
      Must("link set " + outside + " master " + bridge_);
      Must("link set " + outside + " up");
      Must("-n " + ns + " addr add " + Address(i) + "/24 dev " + inside);
      Must("-n " + ns + " link set " + inside + " up");
      Must("-n " + ns + " link set lo up");
    }
  }
  ~Hosts() {
    for (const std::string& link : links_) Ip("link del " + link);
    if (!bridge_.empty()) Ip("link del " + bridge_);
    for (const std::string& ns : namespaces_) Ip("netns del " + ns);
  }

  const std::string& skip() const { return skip_; }
  const std::string& error() const { return error_; }
  std::string BridgeAddress() const { return subnet_ + ".1"; }
  std::string Address(int i) const { return subnet_ + "." + std::to_string(10 + i); }
  std::string Namespace(int i) const { return namespaces_.at(i - 1); }
  // Cuts host i off: its veth's bridge end goes down.
  bool Cut(int i) { return Ip("link set " + links_.at(i - 1) + " down").exit_code == 0; }

 private:
  static CommandResult Ip(const std::string& args) {
    return testing::RunCommand("ip " + args + " 2>&1");
  }
  void Must(const std::string& args) {
    CommandResult run = Ip(args);
    if (run.exit_code != 0 && error_.empty()) error_ = "ip " + args + ": " + run.output;
  }

  std::string tag_, subnet_, bridge_, skip_, error_;
  std::vector<std::string> namespaces_, links_;
};

TEST(ClusterTrainNetnsTest, ThreeHostsOneLinkCutTheOthersFinish) {
  const std::string faces = testing::FaceSets();
  ASSERT_FALSE(faces.empty());
  // Declared before the cluster so that the processes inside die before their namespaces go.
  Hosts hosts(3);
  if (!hosts.skip().empty()) GTEST_SKIP() << hosts.skip();
  ASSERT_TRUE(hosts.error().empty()) << hosts.error();

  testing::TrainCluster::Options options;
  options.listen_host = hosts.BridgeAddress();
  options.lease_ttl_ms = 3000;
  options.heartbeat_ms = 300;
  testing::TrainCluster cluster(options);
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  for (int i = 1; i <= 3; ++i) {
    cluster.StartTrainer("host-" + std::to_string(i),
                         {"--collective-timeout", "8", "--rendezvous-poll-ms", "100"},
                         {"ip", "netns", "exec", hosts.Namespace(i)});
  }

  const std::string id = testing::SubmitLightweightTrain(
      cluster, faces, kIterations, "--seed 11 --ranks 3 --backend gloo --name elastic-netns");
  ASSERT_FALSE(id.empty());

  cluster.WaitForJob(
      id, [&](const json& j) { return testing::TrainingTasks(j, 0.3) == 3 || testing::JobOver(j); },
      240);
  ASSERT_EQ(testing::CountLogLines(cluster, id, "training generation 1: 3 ranks"), 1);
  // Each worker registered with its own namespace's address as its data plane.
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(
        testing::LogHas(cluster, "host-" + std::to_string(i), "data plane " + hosts.Address(i)))
        << "host-" << i;
  }

  ASSERT_TRUE(hosts.Cut(3));

  json job = cluster.WaitForJob(id, testing::JobOver, 300);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);
  EXPECT_GE(testing::CountLogLines(cluster, id, ": 2 ranks ("), 1);
  EXPECT_EQ(testing::CountLogLines(cluster, id, "rank 0 of 2 ranks at the end"), 1);

  std::string out = testing::MakeTempDir("fsc-train-netns-fetch");
  CommandResult fetched = cluster.Fsc("fetch " + id + " -o " + out + " --with-state");
  ASSERT_EQ(fetched.exit_code, 0) << fetched.output;
  auto checkpoint = train::ReadCheckpoint(out + "/model");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->manifest.iteration, kIterations);
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace fsc
