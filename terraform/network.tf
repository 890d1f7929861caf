# The VCN: a public subnet for the Kubernetes API endpoint and the coordinator's load balancer, and
# a private subnet for every worker node (no public IPs). The security lists keep every worker
# port — kubelet, NodePorts, flannel, Gloo/NCCL all-reduce, /metrics — reachable from inside the
# VCN only; from the internet only 6443 (API) and 7070 (coordinator gRPC, TLS + token) are open, and
# only to the CIDRs you list (empty lists: none).

data "oci_core_services" "all" {
  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

locals {
  oci_services_cidr = data.oci_core_services.all.services[0].cidr_block
  oci_services_id   = data.oci_core_services.all.services[0].id
}

resource "oci_core_vcn" "fsc" {
  compartment_id = var.compartment_ocid
  cidr_blocks    = [var.vcn_cidr]
  display_name   = "${var.name_prefix}-vcn"
  dns_label      = "fsc"
}

resource "oci_core_internet_gateway" "fsc" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.fsc.id
  display_name   = "${var.name_prefix}-igw"
  enabled        = true
}

resource "oci_core_nat_gateway" "fsc" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.fsc.id
  display_name   = "${var.name_prefix}-nat"
}

resource "oci_core_service_gateway" "fsc" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.fsc.id
  display_name   = "${var.name_prefix}-sgw"
  services {
    service_id = local.oci_services_id
  }
}

resource "oci_core_route_table" "public" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.fsc.id
  display_name   = "${var.name_prefix}-public-rt"
  route_rules {
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_internet_gateway.fsc.id
  }
}

# Private nodes pull images through NAT and reach OCI services (OCIR, object storage) privately.
resource "oci_core_route_table" "private" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.fsc.id
  display_name   = "${var.name_prefix}-private-rt"
  route_rules {
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_nat_gateway.fsc.id
  }
  route_rules {
    destination       = local.oci_services_cidr
    destination_type  = "SERVICE_CIDR_BLOCK"
    network_entity_id = oci_core_service_gateway.fsc.id
  }
}

resource "oci_core_security_list" "endpoint" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.fsc.id
  display_name   = "${var.name_prefix}-endpoint-sl"

  # Kubernetes API and OKE's node-to-control-plane port from the nodes.
  ingress_security_rules {
    protocol = "6"
    source   = var.vcn_cidr
    tcp_options {
      min = 6443
      max = 6443
    }
  }
  ingress_security_rules {
    protocol = "6"
    source   = var.vcn_cidr
    tcp_options {
      min = 12250
      max = 12250
    }
  }
  # kubectl from the listed admin networks.
  dynamic "ingress_security_rules" {
    for_each = var.api_allowed_cidrs
    content {
      protocol = "6"
      source   = ingress_security_rules.value
      tcp_options {
        min = 6443
        max = 6443
      }
    }
  }
  # fsc clients to the coordinator's network load balancer.
  dynamic "ingress_security_rules" {
    for_each = var.coordinator_allowed_cidrs
    content {
      protocol = "6"
      source   = ingress_security_rules.value
      tcp_options {
        min = 7070
        max = 7070
      }
    }
  }
  ingress_security_rules {
    protocol = "1"
    source   = var.vcn_cidr
    icmp_options {
      type = 3
      code = 4
    }
  }

  # The load balancer forwards to NodePorts in the worker subnet; the control plane talks to
  # kubelets and reaches OCI services.
  egress_security_rules {
    protocol    = "all"
    destination = var.vcn_cidr
  }
  egress_security_rules {
    protocol         = "6"
    destination      = local.oci_services_cidr
    destination_type = "SERVICE_CIDR_BLOCK"
  }
}

resource "oci_core_security_list" "workers" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.fsc.id
  display_name   = "${var.name_prefix}-workers-sl"

  # Everything between nodes, from the control plane and from the load balancer: kubelet 10250,
  # flannel VXLAN 8472/udp, NodePorts, Gloo/NCCL (29500 and ephemeral ports), /metrics 9464.
  # Nothing from outside the VCN.
  ingress_security_rules {
    protocol = "all"
    source   = var.vcn_cidr
  }

  # Image pulls (NAT), OCI services (service gateway), the API endpoint.
  egress_security_rules {
    protocol    = "all"
    destination = "0.0.0.0/0"
  }
}

resource "oci_core_subnet" "endpoint" {
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.fsc.id
  cidr_block                 = var.endpoint_subnet_cidr
  display_name               = "${var.name_prefix}-endpoint"
  dns_label                  = "endpoint"
  prohibit_public_ip_on_vnic = false
  route_table_id             = oci_core_route_table.public.id
  security_list_ids          = [oci_core_security_list.endpoint.id]
}

resource "oci_core_subnet" "workers" {
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.fsc.id
  cidr_block                 = var.worker_subnet_cidr
  display_name               = "${var.name_prefix}-workers"
  dns_label                  = "workers"
  prohibit_public_ip_on_vnic = true
  route_table_id             = oci_core_route_table.private.id
  security_list_ids          = [oci_core_security_list.workers.id]
}

# The coordinator's public address, reserved so it survives re-creating the Service; the k8s
# Service fsc-coordinator-public is pointed at it (README) and make-certs.sh puts it in the SANs.
resource "oci_core_public_ip" "coordinator" {
  compartment_id = var.compartment_ocid
  lifetime       = "RESERVED"
  display_name   = "${var.name_prefix}-coordinator"
  lifecycle {
    ignore_changes = [private_ip_id]
  }
}
