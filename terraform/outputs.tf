# What the README's next steps need: how to get a kubeconfig, and where fsc clients reach the
# coordinator.

output "cluster_id" {
  description = "OCID of the OKE cluster."
  value       = oci_containerengine_cluster.fsc.id
}

output "kubeconfig_command" {
  description = "Writes a kubeconfig for the cluster's public endpoint (needs the OCI CLI, authenticated like the provider)."
  value       = "oci ce cluster create-kubeconfig --cluster-id ${oci_containerengine_cluster.fsc.id} --file $HOME/.kube/config --region ${var.region} --token-version 2.0.0 --kube-endpoint PUBLIC_ENDPOINT"
}

output "coordinator_public_ip" {
  description = "Reserved public IP of the coordinator's load balancer: put it in the TLS certificate (k8s/tls/make-certs.sh OUT IP:<this>) and in the Service (README)."
  value       = oci_core_public_ip.coordinator.ip_address
}

output "coordinator_endpoint" {
  description = "Address fsc clients use: export FSC_COORDINATOR=<this>."
  value       = "${oci_core_public_ip.coordinator.ip_address}:7070"
}

output "gpu_node_shape" {
  description = "Shape of the GPU node pool."
  value       = var.gpu_node_shape
}

output "cluster_network_id" {
  description = "OCID of the RDMA cluster network (null unless enable_cluster_network)."
  value       = var.enable_cluster_network ? oci_core_cluster_network.rdma[0].id : null
}
