# Two OKE managed node pools in the private worker subnet, spread over the region's availability
# domains: CPU nodes (label fsc.pool=cpu: coordinator, extract/convert workers, monitoring) and GPU
# nodes (label fsc.pool=gpu: trainers). The k8s overlays select pools by these labels; the
# deployment test checks both sides agree.

data "oci_identity_availability_domains" "all" {
  compartment_id = var.tenancy_ocid
}

data "oci_containerengine_node_pool_option" "fsc" {
  node_pool_option_id = oci_containerengine_cluster.fsc.id
  compartment_id      = var.compartment_ocid
}

locals {
  availability_domains = [for ad in data.oci_identity_availability_domains.all.availability_domains : ad.name]
  oke_version          = trimprefix(var.kubernetes_version, "v")
  # OKE's own Oracle Linux images for this Kubernetes version (x86_64): plain for CPU shapes,
  # "GPU" (NVIDIA driver + device plugin ready) for GPU shapes. The API lists newest first.
  oke_images = [for s in data.oci_containerengine_node_pool_option.fsc.sources : s if s.source_type == "IMAGE" && length(regexall("-OKE-${local.oke_version}-", s.source_name)) > 0 && length(regexall("aarch64", s.source_name)) == 0]
  cpu_image_id = coalesce(var.cpu_node_image_id, try([for s in local.oke_images : s.image_id if length(regexall("GPU", s.source_name)) == 0][0], null))
  gpu_image_id = coalesce(var.gpu_node_image_id, try([for s in local.oke_images : s.image_id if length(regexall("GPU", s.source_name)) > 0][0], null))
  is_flex      = length(regexall("Flex$", var.cpu_node_shape)) > 0
}

resource "oci_containerengine_node_pool" "cpu" {
  compartment_id     = var.compartment_ocid
  cluster_id         = oci_containerengine_cluster.fsc.id
  kubernetes_version = var.kubernetes_version
  name               = "${var.name_prefix}-cpu"
  node_shape         = var.cpu_node_shape
  ssh_public_key     = var.ssh_public_key != "" ? var.ssh_public_key : null

  dynamic "node_shape_config" {
    for_each = local.is_flex ? [1] : []
    content {
      ocpus         = var.cpu_node_ocpus
      memory_in_gbs = var.cpu_node_memory_gbs
    }
  }

  initial_node_labels {
    key   = "fsc.pool"
    value = "cpu"
  }

  node_source_details {
    source_type             = "IMAGE"
    image_id                = local.cpu_image_id
    boot_volume_size_in_gbs = 100
  }

  node_config_details {
    size = var.cpu_node_count
    dynamic "placement_configs" {
      for_each = local.availability_domains
      content {
        availability_domain = placement_configs.value
        subnet_id           = oci_core_subnet.workers.id
      }
    }
  }
}

resource "oci_containerengine_node_pool" "gpu" {
  compartment_id     = var.compartment_ocid
  cluster_id         = oci_containerengine_cluster.fsc.id
  kubernetes_version = var.kubernetes_version
  name               = "${var.name_prefix}-gpu"
  # The shape is a variable: VM.GPU.A10.1 by default, BM.GPU.A100-v2.8 / BM.GPU.H100.8 documented.
  node_shape     = var.gpu_node_shape
  ssh_public_key = var.ssh_public_key != "" ? var.ssh_public_key : null

  initial_node_labels {
    key   = "fsc.pool"
    value = "gpu"
  }

  node_source_details {
    source_type             = "IMAGE"
    image_id                = local.gpu_image_id
    boot_volume_size_in_gbs = var.gpu_boot_volume_gbs
  }

  node_config_details {
    size = var.gpu_node_count
    dynamic "placement_configs" {
      for_each = local.availability_domains
      content {
        availability_domain = placement_configs.value
        subnet_id           = oci_core_subnet.workers.id
      }
    }
  }
}
