// The main() of every test binary: GoogleTest's, plus one listener. When a suite's
// SetUpTestSuite fails, GoogleTest reports each of its tests as skipped, and ctest (which marks a
// test skipped when its output says so, whatever the exit status) would count a broken suite as
// passing. The listener ends the run as a failure at that suite's first test instead.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {

class FailWhenSuiteSetupFails : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& test) override {
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite == nullptr || !suite->ad_hoc_test_result().Failed()) return;
    std::cout << "[  FAILED  ] " << test.test_suite_name() << "." << test.name()
              << ": the suite's SetUpTestSuite failed (see above)" << std::endl;
    std::fflush(nullptr);
    // Before GoogleTest prints "[  SKIPPED ]" for this test: the exit status is then the verdict.
    std::_Exit(1);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new FailWhenSuiteSetupFails);
  return RUN_ALL_TESTS();
}
