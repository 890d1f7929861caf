// Validates terraform/ without a cloud or a terraform binary: every .tf (and the tfvars example)
// must parse as HCL (npm @cdktf/hcl2json), and the parsed configuration must keep the stack's
// invariants: the GPU pool's shape is a variable (VM.GPU.A10.1 by default, the bare-metal shapes
// documented), no security-list ingress from 0.0.0.0/0 (literal, variable default or dynamic
// for_each default), worker ports open only to the VCN, workers in a private subnet without public
// IPs, every variable typed and described, the outputs the README uses, the oracle/oci provider
// and no credentials anywhere.
// Usage: node tests/deploy/validate_terraform.mjs REPO_ROOT   (exit 0 all good, 1 with failures)
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { toolsRequire } from "./deploy_common.mjs";

const root = path.resolve(process.argv[2] ?? ".");
const { parse } = toolsRequire(root)("@cdktf/hcl2json");
const dir = path.join(root, "terraform");

const failures = [];
let checks = 0;
function check(ok, message) {
  checks++;
  if (!ok) failures.push(message);
  return ok;
}

// Parse every file; merge blocks the way terraform merges a module's files.
const config = { variable: {}, output: {}, resource: {}, data: {}, locals: [], terraform: [], provider: {} };
const files = readdirSync(dir).filter((f) => f.endsWith(".tf"));
check(files.length > 0, "terraform/: no .tf files");
for (const file of files) {
  let parsed;
  try {
    parsed = await parse(file, readFileSync(path.join(dir, file), "utf8"));
  } catch (e) {
    check(false, `terraform/${file}: does not parse: ${e.message ?? e}`);
    continue;
  }
  check(true, "");
  for (const [kind, body] of Object.entries(parsed)) {
    if (kind === "locals" || kind === "terraform") config[kind].push(...body);
    else if (kind === "resource" || kind === "data") {
      for (const [type, named] of Object.entries(body)) {
        config[kind][type] ??= {};
        for (const [name, blocks] of Object.entries(named)) {
          check(!(name in config[kind][type]), `terraform: ${kind} ${type}.${name} declared twice`);
          config[kind][type][name] = blocks[0];
        }
      }
    } else {
      config[kind] ??= {};
      for (const [name, blocks] of Object.entries(body)) {
        check(!(name in config[kind]), `terraform: ${kind} ${name} declared twice`);
        config[kind][name] = blocks[0];
      }
    }
  }
}

// Variables: typed and described.
for (const [name, v] of Object.entries(config.variable)) {
  check(typeof v.description === "string" && v.description.trim().length >= 10, `variable ${name}: needs a description`);
  check(typeof v.type === "string", `variable ${name}: needs a type`);
}
for (const [name, o] of Object.entries(config.output)) {
  check(typeof o.description === "string" && o.description.trim().length > 0, `output ${name}: needs a description`);
}
for (const name of ["kubeconfig_command", "coordinator_endpoint"]) check(name in config.output, `output ${name} missing (the README uses it)`);

// Provider: oracle/oci, and no credentials in its block.
const providers = Object.assign({}, ...config.terraform.flatMap((t) => t.required_providers ?? []));
check(providers.oci?.source === "oracle/oci", "terraform: required_providers.oci must be source oracle/oci");
for (const [name, p] of Object.entries(config.provider)) {
  for (const key of ["user_ocid", "fingerprint", "private_key", "private_key_path", "private_key_password", "auth_token"]) {
    check(!(key in p), `provider ${name}: sets ${key}; credentials belong in ~/.oci/config, not in the repository`);
  }
}

// Resolves an expression to the values it can take: a literal, ${var.X} (its default), or
// ${<block>.value} inside a dynamic block whose for_each is ${var.Y} (each element of Y's default).
function values(expr, forEach) {
  if (typeof expr !== "string") return [expr];
  const v = expr.match(/^\$\{var\.([a-z0-9_]+)\}$/);
  if (v) {
    const d = config.variable[v[1]]?.default;
    return Array.isArray(d) ? d : [d];
  }
  if (/^\$\{[a-z_]+\.value\}$/.test(expr) && forEach) return values(forEach);
  if (expr.includes("${")) return [undefined];
  return [expr];
}
const WORLD = new Set(["0.0.0.0/0", "::/0"]);
const vcn = config.variable.vcn_cidr?.default;
check(typeof vcn === "string", "variable vcn_cidr needs a default");

function ingressRules(sl) {
  const rules = (sl.ingress_security_rules ?? []).map((r) => ({ rule: r }));
  for (const d of sl.dynamic?.ingress_security_rules ?? []) {
    for (const c of d.content ?? []) rules.push({ rule: c, forEach: d.for_each });
  }
  return rules;
}
function portRange(rule) {
  const opts = (rule.tcp_options ?? rule.udp_options ?? [])[0];
  if (rule.protocol === "1" || rule.protocol === "58") return null; // ICMP: no ports
  if (!opts) return [1, 65535];
  return [opts.min ?? 1, opts.max ?? 65535];
}

const securityLists = config.resource.oci_core_security_list ?? {};
const subnets = config.resource.oci_core_subnet ?? {};
check(Object.keys(securityLists).length > 0, "terraform: no security lists");
// Ports that must stay private: kubelet, flannel, Gloo/NCCL rendezvous, metrics, NodePorts.
const PRIVATE_PORTS = [10250, 8472, 29500, 9464, 30000, 32767];
const PUBLIC_PORTS = new Set([6443, 7070, 12250]);
for (const [name, sl] of Object.entries(securityLists)) {
  for (const { rule, forEach } of ingressRules(sl)) {
    const sources = values(rule.source, forEach);
    const where = `security list ${name} ingress ${rule.protocol}/${JSON.stringify(portRange(rule))} from ${rule.source}`;
    check(sources.every((s) => typeof s === "string" || s === undefined), `${where}: unresolvable source`);
    check(!sources.some((s) => WORLD.has(s)), `${where}: open to the whole internet`);
    check(!sources.includes(undefined), `${where}: source must be a literal, a variable or a dynamic for_each over a variable`);
    const range = portRange(rule);
    const fromVcn = sources.every((s) => s === vcn);
    if (range && !fromVcn) {
      check(range[0] === range[1] && PUBLIC_PORTS.has(range[0]), `${where}: only ports ${[...PUBLIC_PORTS].join("/")} may be reachable from outside the VCN`);
      check(!PRIVATE_PORTS.some((p) => p >= range[0] && p <= range[1]), `${where}: covers a private port (${PRIVATE_PORTS.join(", ")})`);
    }
  }
}

// Worker subnet: private, its security list admits only the VCN.
const workerSubnet = subnets.workers;
if (check(workerSubnet, "terraform: no oci_core_subnet.workers")) {
  check(workerSubnet.prohibit_public_ip_on_vnic === true, "subnet workers: prohibit_public_ip_on_vnic must be true");
  for (const ref of workerSubnet.security_list_ids ?? []) {
    const m = ref.match(/oci_core_security_list\.([a-z0-9_]+)\.id/);
    const sl = m && securityLists[m[1]];
    if (check(sl, `subnet workers: security list ${ref} not found`)) {
      for (const { rule, forEach } of ingressRules(sl)) {
        check(values(rule.source, forEach).every((s) => s === vcn), `security list ${m[1]} (worker subnet): ingress from ${rule.source}, only the VCN (${vcn}) may reach worker ports`);
      }
    }
  }
}
const endpointSubnet = subnets.endpoint;
check(endpointSubnet?.prohibit_public_ip_on_vnic === false, "terraform: needs a public oci_core_subnet.endpoint for the API endpoint and load balancer");

// Node pools: GPU shape from a variable, both pools in the worker subnet, pool labels for k8s.
const pools = config.resource.oci_containerengine_node_pool ?? {};
const labels = {};
for (const [name, pool] of Object.entries(pools)) {
  for (const l of pool.initial_node_labels ?? []) if (l.key === "fsc.pool") labels[l.value] = name;
  for (const d of pool.node_config_details ?? []) {
    for (const dyn of d.dynamic?.placement_configs ?? []) {
      for (const c of dyn.content ?? []) check(c.subnet_id === "${oci_core_subnet.workers.id}", `node pool ${name}: nodes must be placed in the private worker subnet`);
    }
    check((d.dynamic?.placement_configs ?? []).length > 0 || (d.placement_configs ?? []).length > 0, `node pool ${name}: needs placement configs`);
    for (const c of d.placement_configs ?? []) check(c.subnet_id === "${oci_core_subnet.workers.id}", `node pool ${name}: nodes must be placed in the private worker subnet`);
  }
}
check(labels.cpu && labels.gpu, `terraform: node pools labelled fsc.pool=cpu and fsc.pool=gpu are required (found ${Object.keys(labels).join(", ")})`);
const gpuPool = pools[labels.gpu];
if (gpuPool) {
  const shape = gpuPool.node_shape?.match(/^\$\{var\.([a-z0-9_]+)\}$/);
  if (check(shape, `node pool ${labels.gpu}: node_shape must be a variable, not ${gpuPool.node_shape}`)) {
    const v = config.variable[shape[1]];
    check(v?.default === "VM.GPU.A10.1", `variable ${shape[1]}: default must be VM.GPU.A10.1`);
    for (const s of ["BM.GPU.A100-v2.8", "BM.GPU.H100.8"]) check(v?.description?.includes(s), `variable ${shape[1]}: description must document ${s}`);
  }
}
const instanceConfigs = config.resource.oci_core_instance_configuration ?? {};
for (const [name, ic] of Object.entries(instanceConfigs)) {
  for (const d of ic.instance_details ?? []) for (const l of d.launch_details ?? []) for (const v of l.create_vnic_details ?? []) {
    check(v.assign_public_ip === false, `instance configuration ${name}: nodes must not get public IPs`);
    check(v.subnet_id === "${oci_core_subnet.workers.id}", `instance configuration ${name}: nodes must be in the worker subnet`);
  }
}
const clusterNetworks = config.resource.oci_core_cluster_network ?? {};
check(Object.keys(clusterNetworks).length > 0, "terraform: the optional RDMA cluster network (oci_core_cluster_network) is missing");
for (const [name, cn] of Object.entries(clusterNetworks)) {
  check(cn.count === "${var.enable_cluster_network ? 1 : 0}", `cluster network ${name}: must be optional (count from var.enable_cluster_network)`);
}

// The example inputs parse, name only declared variables and hold placeholders, not real OCIDs.
const exampleText = readFileSync(path.join(dir, "terraform.tfvars.example"), "utf8");
try {
  const example = await parse("terraform.tfvars.example", exampleText);
  for (const key of Object.keys(example)) check(key in config.variable, `terraform.tfvars.example: ${key} is not a declared variable`);
  for (const [name, v] of Object.entries(config.variable)) {
    if (!("default" in v)) check(name in example, `terraform.tfvars.example: must set required variable ${name}`);
  }
} catch (e) {
  check(false, `terraform.tfvars.example: does not parse: ${e.message ?? e}`);
}
for (const m of exampleText.matchAll(/ocid1\.[a-z]+\.oc1\.[^"\s]*/g)) check(m[0].includes("replace"), `terraform.tfvars.example: ${m[0]} looks like a real OCID`);

// No credentials or state in the repository.
let tracked = readdirSync(dir);
try {
  tracked = execFileSync("git", ["-C", root, "ls-files", "terraform"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n").filter(Boolean).map((f) => path.basename(f));
} catch { /* not a git checkout: check what is on disk */ }
for (const f of tracked) {
  check(!/\.tfstate|^terraform\.tfvars$|\.auto\.tfvars$|\.pem$|\.key$/.test(f), `terraform/${f}: state, inputs or keys must not be committed`);
}
for (const f of readdirSync(dir).filter((f) => f.endsWith(".tf") || f.endsWith(".example"))) {
  const text = readFileSync(path.join(dir, f), "utf8");
  check(!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text), `terraform/${f}: contains a private key`);
  check(!/fingerprint\s*=\s*"[0-9a-f]{2}(:[0-9a-f]{2}){15}"/.test(text), `terraform/${f}: contains an API key fingerprint`);
}

for (const f of failures) console.error(`FAIL ${f}`);
console.log(`validate_terraform: ${files.length} files, ${Object.keys(config.variable).length} variables, ${checks} checks`);
console.log(`${checks - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
