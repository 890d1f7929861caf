# Terraform and provider versions for the fsc cluster on Oracle Cloud (OCI). Credentials never live
# here: the oci provider reads them from ~/.oci/config (profile var.oci_config_profile), from
# instance principals, or from the OCI_* environment variables.
terraform {
  required_version = ">= 1.5.0"
  required_providers {
    oci = {
      source  = "oracle/oci"
      version = ">= 6.0.0, < 8.0.0"
    }
  }
}

provider "oci" {
  region              = var.region
  config_file_profile = var.oci_config_profile
}
