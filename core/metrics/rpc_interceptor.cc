// fsc_rpc_duration_seconds through a gRPC server interceptor.
#include "core/metrics/rpc_interceptor.h"

#include <google/protobuf/descriptor.h>

#include <chrono>

#include "absl/status/status.h"
#include "core/metrics/standard_metrics.h"

namespace fsc::metrics {
namespace {

using Hook = grpc::experimental::InterceptionHookPoints;

// One per call: gRPC creates it when the call arrives and deletes it when the call ends.
class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RpcMetricsInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(RpcMethodLabel(info->method())), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      // gRPC's and absl's status codes have the same numbers and names.
      const std::string code =
          absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
      Standard().rpc_duration_seconds.WithLabels({method_, code}).Observe(seconds);
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
};

class RpcMetricsFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(info);
  }
};

}  // namespace

std::string RpcMethodLabel(const char* grpc_method) {
  if (grpc_method == nullptr) return "unknown";
  std::string method(grpc_method);
  if (!method.empty() && method[0] == '/') method.erase(0, 1);
  return method;
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcMetricsInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<RpcMetricsFactory>());
  return factories;
}

void InitRpcMetrics(const std::vector<std::string>& services) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      Standard().rpc_duration_seconds.WithLabels({name + "/" + service->method(i)->name(), "OK"});
    }
  }
}

}  // namespace fsc::metrics
