# The OKE cluster: public API endpoint in the endpoint subnet (reachable per api_allowed_cidrs),
# Service load balancers in the same public subnet, pods on the flannel overlay.

locals {
  # Self-managed nodes (the RDMA cluster network) can only join enhanced clusters.
  cluster_type = var.enable_cluster_network ? "ENHANCED_CLUSTER" : var.cluster_type
}

resource "oci_containerengine_cluster" "fsc" {
  compartment_id     = var.compartment_ocid
  kubernetes_version = var.kubernetes_version
  name               = "${var.name_prefix}-oke"
  vcn_id             = oci_core_vcn.fsc.id
  type               = local.cluster_type

  endpoint_config {
    is_public_ip_enabled = true
    subnet_id            = oci_core_subnet.endpoint.id
  }

  cluster_pod_network_options {
    cni_type = "FLANNEL_OVERLAY"
  }

  options {
    service_lb_subnet_ids = [oci_core_subnet.endpoint.id]
    kubernetes_network_config {
      pods_cidr     = var.pods_cidr
      services_cidr = var.services_cidr
    }
  }
}

data "oci_containerengine_cluster_kube_config" "fsc" {
  cluster_id = oci_containerengine_cluster.fsc.id
}
