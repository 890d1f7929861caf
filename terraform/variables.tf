# Every input of the fsc OCI stack. terraform.tfvars.example shows a filled-in copy; copy it to
# terraform.tfvars (git-ignored) and edit. tests/deploy/validate_terraform.mjs checks that each
# variable has a type and a description.

variable "tenancy_ocid" {
  type        = string
  description = "OCID of the tenancy (needed for availability domains and, with the cluster network, the identity policy that lets self-managed GPU nodes join OKE)."
}

variable "compartment_ocid" {
  type        = string
  description = "OCID of the compartment every resource is created in."
}

variable "region" {
  type        = string
  description = "OCI region identifier, e.g. us-ashburn-1, eu-frankfurt-1. GPU shapes are not offered in every region: check the shape's availability first."
}

variable "oci_config_profile" {
  type        = string
  default     = "DEFAULT"
  description = "Profile of ~/.oci/config the provider authenticates with (keys stay in that file, never in this repository)."
}

variable "name_prefix" {
  type        = string
  default     = "fsc"
  description = "Prefix of every resource's display name."
}

variable "kubernetes_version" {
  type        = string
  default     = "v1.32.1"
  description = "Kubernetes version of the OKE control plane and node pools (one OKE offers, e.g. v1.32.1)."
}

variable "cluster_type" {
  type        = string
  default     = "BASIC_CLUSTER"
  description = "OKE cluster type, BASIC_CLUSTER or ENHANCED_CLUSTER. The RDMA cluster network needs ENHANCED_CLUSTER (self-managed nodes); it is forced when enable_cluster_network is true."
  validation {
    condition     = contains(["BASIC_CLUSTER", "ENHANCED_CLUSTER"], var.cluster_type)
    error_message = "cluster_type must be BASIC_CLUSTER or ENHANCED_CLUSTER."
  }
}

variable "vcn_cidr" {
  type        = string
  default     = "10.20.0.0/16"
  description = "CIDR of the VCN. Every private port (kubelet, NodePorts, Gloo/NCCL, metrics) is open only to this range."
}

variable "endpoint_subnet_cidr" {
  type        = string
  default     = "10.20.0.0/24"
  description = "CIDR of the public subnet that holds the Kubernetes API endpoint and the coordinator's network load balancer."
}

variable "worker_subnet_cidr" {
  type        = string
  default     = "10.20.16.0/20"
  description = "CIDR of the private subnet of the worker nodes (no public IPs; internet egress through the NAT gateway)."
}

variable "pods_cidr" {
  type        = string
  default     = "10.244.0.0/16"
  description = "Pod network of the flannel overlay (must not overlap the VCN)."
}

variable "services_cidr" {
  type        = string
  default     = "10.96.0.0/16"
  description = "Kubernetes Service network (must not overlap the VCN or the pod network)."
}

variable "api_allowed_cidrs" {
  type        = list(string)
  default     = []
  description = "CIDRs allowed to reach the Kubernetes API endpoint (port 6443), e.g. your office's or your own public address /32. Empty: only the VCN itself."
}

variable "coordinator_allowed_cidrs" {
  type        = list(string)
  default     = []
  description = "CIDRs allowed to reach the coordinator's public gRPC port (7070; TLS and a bearer token on every call) through the network load balancer. Empty: only the VCN itself."
}

variable "ssh_public_key" {
  type        = string
  default     = ""
  description = "Optional SSH public key (the key text, not a path) put on the worker nodes for debugging; reach them through an OCI Bastion, they have no public IP."
}

variable "cpu_node_shape" {
  type        = string
  default     = "VM.Standard.E5.Flex"
  description = "Shape of the CPU node pool (coordinator, extract/convert workers, Prometheus, Grafana)."
}

variable "cpu_node_ocpus" {
  type        = number
  default     = 4
  description = "OCPUs per CPU node (Flex shapes only; 1 OCPU = 2 vCPUs)."
}

variable "cpu_node_memory_gbs" {
  type        = number
  default     = 32
  description = "Memory in GB per CPU node (Flex shapes only)."
}

variable "cpu_node_count" {
  type        = number
  default     = 2
  description = "Number of nodes in the CPU node pool."
}

variable "gpu_node_shape" {
  type        = string
  default     = "VM.GPU.A10.1"
  description = "Shape of the GPU node pool (the trainers). VM.GPU.A10.1 (1x A10 24 GB) by default; bare-metal BM.GPU.A100-v2.8 (8x A100 80 GB) or BM.GPU.H100.8 (8x H100 80 GB) for large runs, ideally in the RDMA cluster network (enable_cluster_network) with the k8s gpu-rdma overlay. Set the trainer StatefulSet's replicas to the total GPU count."
}

variable "gpu_node_count" {
  type        = number
  default     = 1
  description = "Number of nodes in the GPU node pool (0 for a CPU-only cluster with the k8s cpu overlay)."
}

variable "gpu_boot_volume_gbs" {
  type        = number
  default     = 200
  description = "Boot volume size in GB of GPU nodes (the CUDA image is large)."
}

variable "cpu_node_image_id" {
  type        = string
  default     = null
  description = "Optional image OCID of the CPU nodes; default: the newest OKE Oracle Linux image for kubernetes_version."
}

variable "gpu_node_image_id" {
  type        = string
  default     = null
  description = "Optional image OCID of the GPU nodes; default: the newest OKE Oracle Linux GPU image for kubernetes_version."
}

variable "enable_cluster_network" {
  type        = bool
  default     = false
  description = "Also create an OCI cluster network of bare-metal GPU nodes (RDMA over RoCE v2 between them) that join OKE as self-managed nodes labelled fsc.pool=gpu. Use with the k8s gpu-rdma overlay."
}

variable "cluster_network_shape" {
  type        = string
  default     = "BM.GPU.A100-v2.8"
  description = "Bare-metal GPU shape of the cluster network nodes: BM.GPU.A100-v2.8 or BM.GPU.H100.8 (both RDMA capable)."
}

variable "cluster_network_size" {
  type        = number
  default     = 2
  description = "Number of bare-metal GPU nodes in the cluster network."
}

variable "cluster_network_image_id" {
  type        = string
  default     = ""
  description = "Image OCID for the cluster network nodes: an OKE-ready Oracle Linux GPU image with the RDMA (OFED) drivers for the shape. Required when enable_cluster_network is true."
}

variable "cluster_network_availability_domain" {
  type        = number
  default     = 0
  description = "Index (0-based) of the availability domain of the cluster network; all its nodes share one AD, where the shape's capacity is reserved."
}
