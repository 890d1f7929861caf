// Server-side gRPC metrics: an interceptor that times every call a grpc::Server answers into
// fsc_rpc_duration_seconds{method,code} (standard_metrics.h), from the moment gRPC hands the call
// to the server until its status is sent. `method` is the full method without the leading slash
// ("fsc.proto.ClientService/SubmitJob"), `code` the status name ("OK", "NOT_FOUND", ...).
//
//   grpc::ServerBuilder builder;
//   builder.experimental().SetInterceptorCreators(metrics::RpcMetricsInterceptors());
//   metrics::InitRpcMetrics({"fsc.proto.ClientService", ...});  // series exist before any call
//
// Timing covers the handler, including a streaming handler's whole stream and a long-poll's
// wait; a call the client cancels before the server answers sends no status and is not counted.
#ifndef FSC_CORE_METRICS_RPC_INTERCEPTOR_H_
#define FSC_CORE_METRICS_RPC_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

namespace fsc::metrics {

// The interceptor factories to pass to ServerBuilder::experimental().SetInterceptorCreators.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcMetricsInterceptors();

// Creates the {method, "OK"} series of every method of these services (full protobuf names of
// services compiled into this binary), so dashboards see every method at zero before its first
// call. Unknown service names are ignored.
void InitRpcMetrics(const std::vector<std::string>& services);

// "fsc.proto.ClientService/SubmitJob" from "/fsc.proto.ClientService/SubmitJob".
std::string RpcMethodLabel(const char* grpc_method);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_RPC_INTERCEPTOR_H_
