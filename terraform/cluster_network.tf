# Optional (enable_cluster_network): bare-metal GPU nodes in an OCI cluster network, whose RDMA
# fabric (RoCE v2) NCCL uses between nodes (k8s overlay gpu-rdma). OKE managed node pools cannot
# place nodes in a cluster network, so these are self-managed nodes: instances of an instance
# configuration that run OKE's join script at boot and register with labels fsc.pool=gpu. The
# dynamic group and policy let them join the (enhanced) cluster.

locals {
  kubeconfig     = yamldecode(data.oci_containerengine_cluster_kube_config.fsc.content)
  cluster_ca     = local.kubeconfig.clusters[0].cluster["certificate-authority-data"]
  private_api_ip = split(":", oci_containerengine_cluster.fsc.endpoints[0].private_endpoint)[0]
  node_user_data = <<-EOT
    #!/usr/bin/env bash
    # Joins this node to the OKE cluster (self-managed node), labelled for the trainers.
    bash /etc/oke/oke-install.sh \
      --apiserver-endpoint "${local.private_api_ip}" \
      --kubelet-ca-cert "${local.cluster_ca}" \
      --kubelet-extra-args "--node-labels=fsc.pool=gpu,fsc.rdma=true"
  EOT
}

resource "oci_identity_dynamic_group" "rdma_nodes" {
  count          = var.enable_cluster_network ? 1 : 0
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-rdma-nodes"
  description    = "fsc self-managed GPU nodes of the cluster network"
  matching_rule  = "ALL {instance.compartment.id = '${var.compartment_ocid}'}"
}

resource "oci_identity_policy" "rdma_nodes_join" {
  count          = var.enable_cluster_network ? 1 : 0
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-rdma-nodes-join"
  description    = "lets fsc's self-managed GPU nodes join the OKE cluster"
  statements = [
    "Allow dynamic-group ${oci_identity_dynamic_group.rdma_nodes[0].name} to {CLUSTER_JOIN} in compartment id ${var.compartment_ocid}",
  ]
}

resource "oci_core_instance_configuration" "rdma" {
  count          = var.enable_cluster_network ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-rdma-gpu"

  instance_details {
    instance_type = "compute"
    launch_details {
      compartment_id = var.compartment_ocid
      shape          = var.cluster_network_shape
      metadata = {
        user_data           = base64encode(local.node_user_data)
        ssh_authorized_keys = var.ssh_public_key
      }
      create_vnic_details {
        assign_public_ip = false
        subnet_id        = oci_core_subnet.workers.id
      }
      source_details {
        source_type             = "image"
        image_id                = var.cluster_network_image_id
        boot_volume_size_in_gbs = var.gpu_boot_volume_gbs
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.cluster_network_image_id != ""
      error_message = "enable_cluster_network needs cluster_network_image_id (an OKE-ready GPU image with the RDMA drivers)."
    }
  }
}

resource "oci_core_cluster_network" "rdma" {
  count          = var.enable_cluster_network ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-rdma"

  instance_pools {
    instance_configuration_id = oci_core_instance_configuration.rdma[0].id
    size                      = var.cluster_network_size
    display_name              = "${var.name_prefix}-rdma-pool"
  }

  placement_configuration {
    availability_domain = local.availability_domains[var.cluster_network_availability_domain]
    primary_subnet_id   = oci_core_subnet.workers.id
  }

  depends_on = [oci_identity_policy.rdma_nodes_join]
}
