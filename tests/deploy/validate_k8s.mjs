// Validates what `kubectl kustomize k8s/overlays/<each>` renders, without a cluster:
//  1. every object against the Kubernetes schemas (npm kubernetes-models: types, required fields,
//     enums, quantity/int-or-string formats);
//  2. the invariants the deployment relies on (see each check's message): images pinned and built by
//     docker/, container commands are binaries that image installs, Secrets/ConfigMaps/PVCs that
//     pods reference exist or are the documented out-of-band Secrets, Services select pods and
//     name their ports, trainers are a StatefulSet behind a headless Service, GPU overlays request
//     nvidia.com/gpu with NCCL settings and a RAM /dev/shm, scrape annotations point at a declared
//     port, node selectors name pools terraform creates, Grafana dashboards are all listed and valid.
// Usage: node tests/deploy/validate_k8s.mjs REPO_ROOT   (exit 0 all good, 1 with the failures listed)
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { dockerImages, cmakeExecutables, renderOverlay, toolsRequire } from "./deploy_common.mjs";

const root = path.resolve(process.argv[2] ?? ".");
const require = toolsRequire(root);
const YAML = require("yaml");

const failures = [];
let checks = 0;
function check(ok, message) {
  checks++;
  if (!ok) failures.push(message);
  return ok;
}

// Secrets are made out of band (never in the repo): name -> keys the manifests may read.
const EXTERNAL_SECRETS = {
  "fsc-tls": ["tls.crt", "tls.key", "ca.crt"],
  "fsc-join-token": ["token"],
  "fsc-grafana": ["admin-password"],
};

// kubernetes-models class for an apiVersion/kind, e.g. apps/v1 Deployment.
const modelCache = new Map();
async function modelFor(apiVersion, kind) {
  const module = apiVersion.includes("/") ? apiVersion : `v1`;
  if (!modelCache.has(module)) {
    const entry = toolsRequire(root).resolve(`kubernetes-models/${module}`);
    // The package ships CommonJS and ESM; import the ESM twin of the resolved CommonJS entry.
    const esm = entry.replace(/\.js$/, ".mjs");
    modelCache.set(module, await import(pathToFileURL(existsSync(esm) ? esm : entry).href));
  }
  return modelCache.get(module)[kind];
}

function podSpecOf(obj) {
  if (["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(obj.kind)) return obj.spec?.template?.spec;
  if (obj.kind === "Pod") return obj.spec;
  return undefined;
}
function podLabelsOf(obj) {
  return obj.kind === "Pod" ? obj.metadata?.labels ?? {} : obj.spec?.template?.metadata?.labels ?? {};
}
function podAnnotationsOf(obj) {
  return obj.kind === "Pod" ? obj.metadata?.annotations ?? {} : obj.spec?.template?.metadata?.annotations ?? {};
}

// Node pool labels that terraform gives its node pools (initial_node_labels key fsc.pool).
function terraformPools() {
  const pools = new Set();
  const dir = path.join(root, "terraform");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".tf"))) {
    const text = readFileSync(path.join(dir, file), "utf8");
    for (const m of text.matchAll(/key\s*=\s*"fsc\.pool"\s*\n\s*value\s*=\s*"([^"]+)"/g)) pools.add(m[1]);
  }
  return pools;
}

async function validateOverlay(name) {
  const where = `overlay ${name}`;
  let rendered;
  try {
    rendered = renderOverlay(root, name);
  } catch (e) {
    check(false, `${where}: kubectl kustomize failed: ${e.message}`);
    return;
  }
  const docs = YAML.parseAllDocuments(rendered);
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length) check(false, `${where}: YAML error: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj) objects.push(obj);
  }
  check(objects.length > 0, `${where}: renders nothing`);

  // 1. Schemas.
  for (const obj of objects) {
    const id = `${where}: ${obj.kind}/${obj.metadata?.name}`;
    const Model = await modelFor(obj.apiVersion ?? "", obj.kind ?? "");
    if (!check(Model !== undefined, `${id}: unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`)) continue;
    try {
      new Model(obj).validate();
      check(true, "");
    } catch (e) {
      check(false, `${id}: schema: ${e.message}`);
    }
    if (obj.kind !== "Namespace" && !obj.kind.startsWith("Cluster")) {
      check(obj.metadata?.namespace === "fsc", `${id}: not in namespace fsc`);
    }
  }

  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const names = (kind) => new Set(byKind(kind).map((o) => o.metadata.name));
  const configMaps = new Map(byKind("ConfigMap").map((o) => [o.metadata.name, o]));
  const pvcs = names("PersistentVolumeClaim");
  const serviceAccounts = names("ServiceAccount");
  const images = dockerImages(root);
  const executables = cmakeExecutables(root);
  const pools = terraformPools();
  const workloads = objects.filter((o) => podSpecOf(o));

  // 2. Workloads.
  for (const w of workloads) {
    const id = `${where}: ${w.kind}/${w.metadata.name}`;
    const spec = podSpecOf(w);
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    check(spec.securityContext?.runAsNonRoot === true, `${id}: pod must set runAsNonRoot: true`);
    if (spec.serviceAccountName) check(serviceAccounts.has(spec.serviceAccountName), `${id}: ServiceAccount ${spec.serviceAccountName} missing`);
    for (const [key, value] of Object.entries(spec.nodeSelector ?? {})) {
      if (key === "fsc.pool") check(pools.has(value), `${id}: nodeSelector fsc.pool=${value} but terraform labels pools ${[...pools].join(", ")}`);
    }
    for (const v of volumes.values()) {
      if (v.configMap) check(configMaps.has(v.configMap.name), `${id}: volume ${v.name} reads ConfigMap ${v.configMap.name}, which is not rendered`);
      if (v.secret) {
        const keys = EXTERNAL_SECRETS[v.secret.secretName];
        if (check(keys !== undefined, `${id}: volume ${v.name} reads unknown Secret ${v.secret.secretName}`)) {
          for (const item of v.secret.items ?? []) check(keys.includes(item.key), `${id}: Secret ${v.secret.secretName} has no key ${item.key}`);
        }
      }
      if (v.persistentVolumeClaim) check(pvcs.has(v.persistentVolumeClaim.claimName), `${id}: PVC ${v.persistentVolumeClaim.claimName} not rendered`);
    }
    const ports = new Set();
    for (const c of spec.containers) {
      const cid = `${id} container ${c.name}`;
      check(typeof c.image === "string" && /:[^/]+$/.test(c.image) && !c.image.endsWith(":latest"),
            `${cid}: image '${c.image}' must carry a pinned tag (the overlay's images: entry)`);
      check(c.resources?.requests && c.resources?.limits?.memory, `${cid}: needs resource requests and a memory limit`);
      for (const m of c.volumeMounts ?? []) check(volumes.has(m.name), `${cid}: mounts undeclared volume ${m.name}`);
      for (const p of c.ports ?? []) {
        ports.add(String(p.containerPort));
        if (p.name) ports.add(p.name);
      }
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm) check(configMaps.get(cm.name)?.data?.[cm.key] !== undefined, `${cid}: env ${e.name} reads ConfigMap ${cm.name} key ${cm.key}, which is not rendered`);
        const sk = e.valueFrom?.secretKeyRef;
        if (sk) check(EXTERNAL_SECRETS[sk.name]?.includes(sk.key), `${cid}: env ${e.name} reads unknown Secret key ${sk.name}/${sk.key}`);
        const rf = e.valueFrom?.resourceFieldRef;
        if (rf && rf.resource.startsWith("limits.")) check(c.resources?.limits?.[rf.resource.slice(7)] !== undefined, `${cid}: env ${e.name} reads ${rf.resource} but the container sets no such limit`);
      }
      // Our own images: the command must be a binary the image's Dockerfile installs, and that
      // binary must be a target the CMake project builds.
      const imageName = c.image.replace(/:[^/:]+$/, "").split("/").pop();
      const image = images.get(imageName);
      if (imageName.startsWith("fsc")) {
        if (check(image !== undefined, `${cid}: image ${imageName} is not built by docker/ (known: ${[...images.keys()].join(", ")})`)) {
          const binary = (c.command ?? [])[0];
          check(binary !== undefined, `${cid}: must set command (the fsc binary to run)`);
          if (binary !== undefined) {
            check(image.binaries.has(path.basename(binary)), `${cid}: command ${binary} is not installed by docker/${image.dockerfile} (installs ${[...image.binaries].join(", ")})`);
            check(executables.has(path.basename(binary)), `${cid}: command ${binary} is not an add_executable of the CMake project`);
            check(!binary.includes("/") || image.installDirs.has(path.dirname(binary)), `${cid}: command ${binary} not where the image installs binaries`);
          }
          check(c.securityContext?.readOnlyRootFilesystem === true || c.securityContext?.privileged === true,
                `${cid}: fsc containers run with a read-only root filesystem`);
        }
      }
    }
    const ann = podAnnotationsOf(w);
    if (ann["prometheus.io/scrape"] === "true") {
      check(ports.has(ann["prometheus.io/port"]), `${id}: prometheus.io/port ${ann["prometheus.io/port"]} is not a declared containerPort`);
    }
    w.__ports = ports;
  }

  // Services select pods and name ports those pods declare.
  for (const s of byKind("Service")) {
    const id = `${where}: Service/${s.metadata.name}`;
    const selector = s.spec.selector ?? {};
    const selected = workloads.filter((w) => Object.entries(selector).every(([k, v]) => podLabelsOf(w)[k] === v));
    if (!check(selected.length > 0, `${id}: selects no pod template`)) continue;
    for (const p of s.spec.ports ?? []) {
      check(typeof p.name === "string" && p.name.length > 0, `${id}: port ${p.port} must be named`);
      const target = String(p.targetPort ?? p.port);
      check(selected.every((w) => w.__ports.has(target)), `${id}: targetPort ${target} not declared by every selected pod`);
    }
  }

  // The coordinator: one writer of its SQLite file, kept on the PVC.
  const coordinator = byKind("Deployment").find((d) => d.metadata.name === "fsc-coordinator");
  if (check(coordinator, `${where}: no fsc-coordinator Deployment`)) {
    check(coordinator.spec.replicas === 1 && coordinator.spec.strategy?.type === "Recreate", `${where}: the coordinator must be 1 replica with the Recreate strategy (one SQLite writer)`);
    const c = coordinator.spec.template.spec.containers[0];
    const args = c.args ?? [];
    const arg = (flag) => args[args.indexOf(flag) + 1];
    const pvcMounts = (c.volumeMounts ?? []).filter((m) => coordinator.spec.template.spec.volumes.find((v) => v.name === m.name)?.persistentVolumeClaim);
    for (const flag of ["--db", "--data-dir"]) {
      const value = arg(flag);
      check(value && pvcMounts.some((m) => value.startsWith(m.mountPath + "/")), `${where}: coordinator ${flag} ${value} must lie on its PersistentVolumeClaim`);
    }
    check(args.includes("--tls-cert") && args.includes("--tls-key") && !args.includes("--insecure"), `${where}: the coordinator must serve TLS`);
    // k8s/bootstrap-tokens.sh creates tokens in the coordinator's database: same path.
    const bootstrap = readFileSync(path.join(root, "k8s/bootstrap-tokens.sh"), "utf8");
    check(bootstrap.includes(`DB=${arg("--db")}`), `${where}: k8s/bootstrap-tokens.sh must use the coordinator's --db ${arg("--db")}`);
  }

  // Workers of every role; trainers as a StatefulSet behind a headless Service.
  const roles = new Set();
  for (const w of workloads) {
    for (const c of podSpecOf(w).containers) {
      if (path.basename((c.command ?? [])[0] ?? "") !== "fsc-worker") continue;
      const args = c.args ?? [];
      for (const r of (args[args.indexOf("--roles") + 1] ?? "").split(",")) roles.add(r);
      check(!args.includes("--insecure") && args.includes("--tls-ca"), `${where}: ${w.metadata.name} must verify the coordinator with --tls-ca`);
      check((c.env ?? []).some((e) => e.name === "FSC_JOIN_TOKEN" && e.valueFrom?.secretKeyRef), `${where}: ${w.metadata.name} must take FSC_JOIN_TOKEN from a Secret`);
      check(!args.includes("--join-token"), `${where}: ${w.metadata.name} must not pass the join token on the command line (visible in ps)`);
    }
  }
  for (const r of ["extract", "convert", "train"]) check(roles.has(r), `${where}: no worker has role ${r}`);
  // Every pod Prometheus is told to scrape must serve /metrics on the annotated port.
  for (const w of workloads) {
    const annotations = w.spec?.template?.metadata?.annotations ?? {};
    if (annotations["prometheus.io/scrape"] !== "true") continue;
    const port = annotations["prometheus.io/port"];
    const serves = podSpecOf(w).containers.some((c) => {
      const args = c.args ?? [];
      const i = args.indexOf("--metrics-port");
      return i >= 0 && args[i + 1] === port;
    });
    check(serves, `${where}: ${w.metadata.name} is scraped on port ${port} but passes no --metrics-port ${port}`);
    // fsc serves metrics on 127.0.0.1 unless told otherwise: another pod could not scrape it.
    const everywhere = podSpecOf(w).containers.some((c) => {
      const args = c.args ?? [];
      return args.includes("--metrics-port") && args[args.indexOf("--metrics-host") + 1] === "0.0.0.0";
    });
    check(everywhere, `${where}: ${w.metadata.name} is scraped by Prometheus but its metrics listen on 127.0.0.1 (pass --metrics-host 0.0.0.0)`);
  }
  const trainer = byKind("StatefulSet").find((s) => s.metadata.name === "fsc-trainer");
  if (check(trainer, `${where}: no fsc-trainer StatefulSet`)) {
    const headless = byKind("Service").find((s) => s.metadata.name === trainer.spec.serviceName);
    check(headless?.spec?.clusterIP === "None", `${where}: fsc-trainer's serviceName must be a headless Service`);
    const spec = trainer.spec.template.spec;
    const c = spec.containers[0];
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    const shm = (c.volumeMounts ?? []).find((m) => m.mountPath === "/dev/shm");
    const shmVolume = shm && spec.volumes.find((v) => v.name === shm.name);
    check(shmVolume?.emptyDir?.medium === "Memory", `${where}: trainers need a RAM-backed /dev/shm`);
    const gpus = c.resources?.limits?.["nvidia.com/gpu"];
    if (name.startsWith("gpu")) {
      check(gpus >= 1 && c.resources?.requests?.["nvidia.com/gpu"] === gpus, `${where}: trainers must request and limit nvidia.com/gpu`);
      check(env.NCCL_SOCKET_IFNAME, `${where}: trainers need NCCL_SOCKET_IFNAME`);
      check(/^fsc-gpu:/.test(c.image), `${where}: trainers must run the GPU image`);
      check(spec.nodeSelector?.["fsc.pool"] === "gpu", `${where}: trainers must run on the GPU pool`);
      const shmBytes = parseInt(shmVolume?.emptyDir?.sizeLimit ?? "0", 10);
      check(/Gi$/.test(shmVolume?.emptyDir?.sizeLimit ?? "") && shmBytes >= 8, `${where}: /dev/shm for NCCL must be at least 8Gi`);
    } else {
      check(!rendered.includes("nvidia.com/gpu") && !rendered.includes("NCCL_"), `${where}: a CPU overlay must not request GPUs or set NCCL`);
    }
    if (name === "gpu-rdma") {
      check(spec.hostNetwork === true && spec.dnsPolicy === "ClusterFirstWithHostNet", `${where}: RDMA trainers need hostNetwork with ClusterFirstWithHostNet`);
      check(env.NCCL_IB_DISABLE === "0" && env.NCCL_IB_HCA, `${where}: RDMA trainers must enable NCCL's IB transport`);
    } else {
      check(!spec.hostNetwork, `${where}: only the RDMA overlay may use hostNetwork`);
      check(workloads.every((w) => !JSON.stringify(podSpecOf(w)).includes('"privileged":true')), `${where}: only the RDMA overlay may run privileged pods`);
    }
  }
}

function validateDashboards() {
  const dir = path.join(root, "k8s/grafana");
  const kustomization = YAML.parse(readFileSync(path.join(dir, "kustomization.yaml"), "utf8"));
  const listed = new Set((kustomization.configMapGenerator ?? []).flatMap((g) => g.files ?? []));
  const jsons = readdirSync(dir).filter((f) => f.endsWith(".json"));
  check(jsons.length > 0, "k8s/grafana: no dashboard");
  const uids = new Set();
  for (const f of jsons) {
    check(listed.has(f), `k8s/grafana/${f} is not listed in k8s/grafana/kustomization.yaml`);
    let d;
    try {
      d = JSON.parse(readFileSync(path.join(dir, f), "utf8"));
    } catch (e) {
      check(false, `k8s/grafana/${f}: not JSON: ${e.message}`);
      continue;
    }
    check(typeof d.uid === "string" && d.uid.length > 0 && d.uid.length <= 40 && !uids.has(d.uid), `k8s/grafana/${f}: needs a unique uid of at most 40 characters`);
    uids.add(d.uid);
    check(typeof d.title === "string" && d.title, `k8s/grafana/${f}: needs a title`);
    check(Array.isArray(d.panels) && d.panels.length > 0, `k8s/grafana/${f}: needs panels`);
    const ids = new Set();
    for (const p of d.panels ?? []) {
      const pid = `k8s/grafana/${f} panel '${p.title}'`;
      check(Number.isInteger(p.id) && !ids.has(p.id), `${pid}: needs a unique integer id`);
      ids.add(p.id);
      check(p.gridPos && ["x", "y", "w", "h"].every((k) => Number.isInteger(p.gridPos[k])), `${pid}: needs gridPos x/y/w/h`);
      if (p.type === "row") continue;
      check(p.datasource?.uid === "prometheus", `${pid}: must use the provisioned Prometheus data source (uid prometheus)`);
      check((p.targets ?? []).length > 0 && p.targets.every((t) => typeof t.expr === "string" && /fsc_[a-z_]+/.test(t.expr)), `${pid}: needs PromQL targets on fsc_* metrics`);
    }
  }
  for (const f of listed) check(jsons.includes(f), `k8s/grafana/kustomization.yaml lists missing ${f}`);
}

const overlays = readdirSync(path.join(root, "k8s/overlays"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
check(["cpu", "gpu", "gpu-rdma"].every((o) => overlays.includes(o)), `k8s/overlays must hold cpu, gpu, gpu-rdma (has ${overlays.join(", ")})`);
for (const o of overlays) await validateOverlay(o);
validateDashboards();

for (const f of failures) console.error(`FAIL ${f}`);
console.log(`validate_k8s: ${overlays.length} overlays, ${checks} checks`);
console.log(`${checks - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
