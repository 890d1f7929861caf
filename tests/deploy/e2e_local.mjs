// Local end-to-end check of the Kubernetes topology without Kubernetes: renders k8s/overlays/cpu,
// and starts the coordinator, the extract and convert workers and a trainer on 127.0.0.1 with
// exactly the command, args and environment the manifests give their containers. What a cluster
// would supply is supplied the same way here:
//   - Secrets: TLS material from k8s/tls/make-certs.sh (plus SAN IP:127.0.0.1), the join token and a
//     user token made with the `fsc-coordinator ... create --db <the coordinator's --db>` commands
//     that k8s/bootstrap-tokens.sh runs in the pod;
//   - volumes: each mount (PVC, emptyDir, Secret, ConfigMap) is a folder under a temp dir, and paths
//     under a mount are rewritten onto it; image paths (/opt/fsc/models) onto the repo's models/;
//   - Services: every <service>[.fsc[.svc[.cluster.local]]]:<port> and the container's own
//     0.0.0.0:<containerPort> become 127.0.0.1:<a free port>;
//   - downward API: pod name, 127.0.0.1 as pod IP, resource limits as Kubernetes rounds them;
//   - `command` names the image's binary; it runs from BUILD_BIN_DIR (the same CMake targets the
//     Dockerfiles copy, checked by check_images.mjs).
// One replica of each workload (2 CPU cores here). Then, as a user would: `fsc submit swap` of a
// short video against a folder of photos, through the public Service's address, with TLS and the
// user token, waiting for the job and fetching the swapped video. Last, every pod annotated for
// Prometheus must serve /metrics on its annotated port (the trainer with the job's losses).
// Usage: node tests/deploy/e2e_local.mjs REPO_ROOT BUILD_BIN_DIR
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { renderOverlay, toolsRequire } from "./deploy_common.mjs";

const root = path.resolve(process.argv[2] ?? ".");
const binDir = path.resolve(process.argv[3] ?? path.join(root, "build/bin"));
const YAML = toolsRequire(root)("yaml");
const t0 = Date.now();
const log = (...a) => console.log(`[e2e +${Math.round((Date.now() - t0) / 1000)}s]`, ...a);

for (const b of ["fsc-coordinator", "fsc-worker", "fsc", "fsc-local"]) {
  if (!existsSync(path.join(binDir, b))) {
    console.error(`[e2e] FAIL: ${path.join(binDir, b)} is not built (build fsc, fsc-local, fsc-worker and fsc-coordinator first)`);
    process.exit(1);
  }
}
for (const f of ["models/face-api", "data/Megamind.avi", "data/sample1.jpg"]) {
  if (!existsSync(path.join(root, f))) {
    console.error(`[e2e] ${f} missing: run scripts/setup`);
    process.exit(1);
  }
}

const NAMESPACE = "fsc";
// Paths that exist in the image rather than on a volume (docker/Dockerfile.*).
const IMAGE_PATHS = { "/opt/fsc/models": path.join(root, "models") };

const tmp = mkdtempSync(path.join(os.tmpdir(), "fsc-e2e-"));
const children = [];
let finished = false;
// Synchronous, so it also works from inside a failing step: stop every process this test started
// (SIGTERM, as the kubelet does, then SIGKILL), keep the temp dir on failure, exit.
function cleanup(code) {
  if (finished) process.exit(code);
  finished = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  for (let i = 0; i < 50 && children.some((c) => isAlive(c.pid)); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  for (const c of children) if (isAlive(c.pid)) c.kill("SIGKILL");
  if (code === 0 && !process.env.FSC_E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
  else log(`logs and state kept in ${tmp}`);
  process.exit(code);
}
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat); // a zombie has exited
  } catch {
    return false;
  }
}
process.on("SIGINT", () => cleanup(130));
process.on("SIGTERM", () => cleanup(143));

function fail(message) {
  console.error(`[e2e] FAIL ${message}`);
  for (const f of readdirSync(tmp).filter((f) => f.endsWith(".log"))) {
    const text = readFileSync(path.join(tmp, f), "utf8");
    console.error(`----- ${f} (last 40 lines)\n${text.split("\n").slice(-40).join("\n")}`);
  }
  console.log("0 passed, 1 failed");
  cleanup(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}
function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the rendered manifests ----------------------------------------------------------------------
const objects = YAML.parseAllDocuments(renderOverlay(root, "cpu")).map((d) => d.toJS()).filter(Boolean);
const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o]));
const services = objects.filter((o) => o.kind === "Service");
const workloads = [
  find("Deployment", "fsc-coordinator"),
  find("Deployment", "fsc-extract-worker"),
  find("Deployment", "fsc-convert-worker"),
  find("StatefulSet", "fsc-trainer"),
];
if (workloads.some((w) => !w)) fail("the cpu overlay lacks a coordinator, extract/convert worker or trainer workload");

// --- ports: every Service port and the containerPort behind it get one local port ----------------
const localPort = new Map(); // "<workload>/<containerPort>" -> local port
const serviceAddr = new Map(); // "<service>:<port>" -> "127.0.0.1:<local>"
for (const w of workloads) {
  for (const c of w.spec.template.spec.containers) {
    for (const p of c.ports ?? []) localPort.set(`${w.metadata.name}/${p.containerPort}`, await freePort());
  }
}
for (const s of services) {
  const selected = workloads.filter((w) => Object.entries(s.spec.selector ?? {}).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
  if (selected.length === 0) continue;
  const w = selected[0];
  const ports = w.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
  for (const sp of s.spec.ports) {
    const target = ports.find((p) => p.name === sp.targetPort || p.containerPort === sp.targetPort || p.containerPort === sp.port);
    if (!target) continue;
    const addr = `127.0.0.1:${localPort.get(`${w.metadata.name}/${target.containerPort}`)}`;
    for (const host of [s.metadata.name, `${s.metadata.name}.${NAMESPACE}`, `${s.metadata.name}.${NAMESPACE}.svc`, `${s.metadata.name}.${NAMESPACE}.svc.cluster.local`]) {
      serviceAddr.set(`${host}:${sp.port}`, addr);
    }
  }
}

// --- Secrets made as the README makes them -------------------------------------------------------
const tlsDir = path.join(tmp, "secret-fsc-tls");
execFileSync(path.join(root, "k8s/tls/make-certs.sh"), [tlsDir, "IP:127.0.0.1"], { stdio: ["ignore", "ignore", "inherit"] });
const secrets = {
  "fsc-tls": { "tls.crt": readFileSync(path.join(tlsDir, "tls.crt")), "tls.key": readFileSync(path.join(tlsDir, "tls.key")), "ca.crt": readFileSync(path.join(tlsDir, "ca.crt")) },
};

// --- one container of a workload, as the kubelet would start it ----------------------------------
function cpuLimit(q) {
  if (q === undefined) return os.cpus().length;
  const s = String(q);
  return Math.max(1, Math.ceil(s.endsWith("m") ? parseInt(s, 10) / 1000 : parseFloat(s)));
}
function materialize(w) {
  const name = w.kind === "StatefulSet" ? `${w.metadata.name}-0` : `${w.metadata.name}-local`;
  const spec = w.spec.template.spec;
  const c = spec.containers[0];
  const podDir = path.join(tmp, name);
  const mounts = []; // [mountPath, localPath], longest first
  for (const m of c.volumeMounts ?? []) {
    const v = spec.volumes.find((v) => v.name === m.name);
    const dir = path.join(podDir, m.name);
    mkdirSync(dir, { recursive: true });
    if (v.secret) {
      const data = secrets[v.secret.secretName];
      if (!data) fail(`${name}: Secret ${v.secret.secretName} is not one the README makes`);
      const items = v.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
      for (const it of items) writeFileSync(path.join(dir, it.path), data[it.key], { mode: 0o600 });
    }
    if (v.configMap) {
      for (const [k, val] of Object.entries(configMaps.get(v.configMap.name).data ?? {})) writeFileSync(path.join(dir, k), val);
    }
    mounts.push([m.mountPath, m.subPath ? path.join(dir, m.subPath) : dir]);
  }
  for (const [p, local] of Object.entries(IMAGE_PATHS)) mounts.push([p, local]);
  mounts.sort((a, b) => b[0].length - a[0].length);
  const ownPorts = new Map((c.ports ?? []).map((p) => [String(p.containerPort), localPort.get(`${w.metadata.name}/${p.containerPort}`)]));
  const rewrite = (value) => {
    let out = value;
    for (const [from, to] of mounts) {
      if (out === from || out.startsWith(from + "/")) { out = to + out.slice(from.length); break; }
    }
    out = out.replace(/\b([a-z0-9.-]+):(\d+)\b/g, (all, host, port) => {
      if (host === "0.0.0.0" && ownPorts.has(port)) return `127.0.0.1:${ownPorts.get(port)}`;
      return serviceAddr.get(`${host}:${port}`) ?? all;
    });
    return out;
  };
  const env = {};
  const expand = (s) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, v) => (v in env ? env[v] : all));
  for (const e of c.env ?? []) {
    let value;
    if ("value" in e) value = expand(e.value);
    else if (e.valueFrom?.configMapKeyRef) value = configMaps.get(e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key];
    else if (e.valueFrom?.secretKeyRef) value = secrets[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key]?.toString();
    else if (e.valueFrom?.fieldRef) value = { "metadata.name": name, "metadata.namespace": NAMESPACE, "status.podIP": "127.0.0.1" }[e.valueFrom.fieldRef.fieldPath];
    else if (e.valueFrom?.resourceFieldRef) {
      const r = e.valueFrom.resourceFieldRef.resource;
      value = r === "limits.cpu" ? String(cpuLimit(c.resources?.limits?.cpu)) : undefined;
    }
    if (value === undefined) fail(`${name}: cannot resolve env ${e.name}`);
    env[e.name] = rewrite(value);
  }
  const binary = path.join(binDir, path.basename(c.command[0]));
  // A bare port after --metrics-port is the container's own port as well.
  const args = (c.args ?? []).map((a, i, all) => (all[i - 1] === "--metrics-port" && ownPorts.has(a) ? String(ownPorts.get(a)) : rewrite(expand(a))));
  return { name, binary, args, env, container: c };
}

function start(p) {
  const out = path.join(tmp, `${p.name}.log`);
  log(`start ${p.name}: ${path.basename(p.binary)} ${p.args.join(" ")}`);
  const fd = openSync(out, "a");
  mkdirSync(path.join(tmp, p.name, "tmp-root"), { recursive: true });
  const child = spawn(p.binary, p.args, {
    env: { PATH: process.env.PATH, HOME: path.join(tmp, p.name, "home"), TMPDIR: path.join(tmp, p.name, "tmp-root"), ...p.env },
    stdio: ["ignore", fd, fd],
  });
  child.on("exit", (code, signal) => {
    if (!finished) fail(`${p.name} exited early (${code ?? signal}); see ${out}`);
  });
  children.push(child);
  return child;
}

function run(binary, args, env = {}) {
  return execFileSync(binary, args, { encoding: "utf8", env: { PATH: process.env.PATH, HOME: path.join(tmp, "client-home"), ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

// --- the coordinator -----------------------------------------------------------------------------
const coordinator = materialize(workloads[0]);
const dbArg = coordinator.args[coordinator.args.indexOf("--db") + 1];
mkdirSync(path.dirname(dbArg), { recursive: true });
start(coordinator);
const grpcPort = localPort.get("fsc-coordinator/7070");
// The readiness probe: a TCP connect to the grpc port.
let ready = false;
for (let i = 0; i < 120 && !ready; i++) {
  ready = await canConnect(grpcPort);
  if (!ready) await sleep(250);
}
if (!ready) fail("the coordinator's grpc port never opened (readinessProbe)");
log(`coordinator ready on 127.0.0.1:${grpcPort}`);

// --- k8s/bootstrap-tokens.sh, run against the coordinator's --db ---------------------------------
const coordinatorBin = path.join(binDir, "fsc-coordinator");
const joinToken = run(coordinatorBin, ["join-token", "create", "--db", dbArg]).trim().split("\n").pop();
const userToken = run(coordinatorBin, ["token", "create", "--db", dbArg, "--user", "e2e"]).trim().split("\n").pop();
secrets["fsc-join-token"] = { token: Buffer.from(joinToken) };

// --- workers and a trainer ----------------------------------------------------------------------
for (const w of workloads.slice(1)) start(materialize(w));

// --- the user, from outside: the public Service's address, TLS with the cluster CA, user token ---
const publicAddr = serviceAddr.get("fsc-coordinator-public:7070");
if (!publicAddr) fail("no address for Service fsc-coordinator-public:7070");
const clientEnv = { FSC_COORDINATOR: publicAddr, FSC_TOKEN: userToken, FSC_TLS_CA: path.join(tlsDir, "ca.crt") };
const fsc = path.join(binDir, "fsc");

// Wait until the three workers have registered (Deployment pods would be named after the pod;
// here they carry this machine's host name, so count them rather than look for names).
// Bounded by wall time: each status call can take seconds on a loaded machine.
let status = "";
for (const deadline = Date.now() + 120 * 1000; Date.now() < deadline; ) {
  try {
    status = run(fsc, ["cluster", "status"], clientEnv);
    if (Number((status.match(/workers: \d+ \((\d+) alive\)/) ?? [])[1] ?? 0) >= 3) break;
  } catch (e) {
    status = String(e.stderr ?? e.message);
  }
  await sleep(500);
}
log(`cluster status:\n${status}`);
if (!/workers: \d+ \(3 alive\)/.test(status)) fail("the extract, convert and train workers did not all register");

// Inputs: the sample video (every 3rd of its 270 frames) and a folder of photos (every 3rd: the
// same --every-n applies to both), a lightweight model trained for 2 iterations.
const photos = path.join(tmp, "input-b");
mkdirSync(photos);
for (const f of ["sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg", "astronaut.png"]) copyFileSync(path.join(root, "data", f), path.join(photos, f));
const started = Date.now();
log("fsc submit swap ...");
const submit = spawn(fsc, [
  "submit", "swap", path.join(root, "data/Megamind.avi"), photos,
  "--name", "e2e-swap", "--every-n", "3", "--frames-per-task", "90", "--detector", "tiny",
  "--model", "lightweight", "--iterations", "2", "--batch", "2", "--save-every", "2", "--wait", "--json",
], { env: { PATH: process.env.PATH, HOME: path.join(tmp, "client-home"), ...clientEnv }, stdio: ["ignore", "pipe", "pipe"] });
let submitOut = "";
submit.stdout.on("data", (d) => (submitOut += d));
submit.stderr.on("data", (d) => process.stderr.write(d));
const limit = setTimeout(() => { submit.kill("SIGTERM"); fail("the swap job did not finish within 12 minutes"); }, 12 * 60 * 1000);
const code = await new Promise((r) => submit.on("exit", (c) => r(c)));
clearTimeout(limit);
log(`fsc submit swap --wait exited ${code} after ${Math.round((Date.now() - started) / 1000)} s`);
let job;
try {
  job = JSON.parse(submitOut.slice(submitOut.indexOf("{")));
} catch {
  fail(`fsc submit printed no job JSON: ${submitOut.slice(0, 2000)}`);
}
if (code !== 0) fail(`the swap job did not succeed: ${JSON.stringify(job).slice(0, 3000)}`);

// The artifact: the swapped video, fetched like a user would.
const jobId = job.id ?? job.job_id ?? job.jobId;
const outDir = path.join(tmp, "fetched");
try {
  run(fsc, ["fetch", String(jobId), "-o", outDir], clientEnv);
} catch (e) {
  fail(`fsc fetch ${jobId} failed: ${e.stderr ?? e.message}`);
}
const files = existsSync(outDir) ? readdirSync(outDir, { recursive: true }).filter((f) => statSync(path.join(outDir, f)).isFile()) : [];
if (!files.some((f) => /\.(mp4|avi|mkv|mov)$/i.test(f) && statSync(path.join(outDir, f)).size > 0)) fail(`fsc fetch wrote no video: ${files.join(", ")}`);
log(`fetched ${files.join(", ")}`);

// What Prometheus would scrape: every annotated pod serves /metrics on its annotated port, and the
// trainer reports the losses of the job it just ran.
for (const w of workloads) {
  const annotations = w.spec?.template?.metadata?.annotations ?? {};
  if (annotations["prometheus.io/scrape"] !== "true") continue;
  const port = localPort.get(`${w.metadata.name}/${annotations["prometheus.io/port"]}`);
  let text = "";
  try {
    const response = await fetch(`http://127.0.0.1:${port}${annotations["prometheus.io/path"] ?? "/metrics"}`);
    text = response.ok ? await response.text() : "";
  } catch (e) {
    fail(`${w.metadata.name}: no /metrics on its prometheus.io/port (local ${port}): ${e.message}`);
  }
  if (!/^process_cpu_seconds_total /m.test(text) || !/^fsc_/m.test(text)) fail(`${w.metadata.name}: /metrics has no fsc_ or process_ series`);
  if (w.metadata.name === "fsc-trainer" && !/^fsc_train_loss\{side="a"\} /m.test(text)) fail("the trainer's /metrics has no fsc_train_loss after training");
  log(`${w.metadata.name}: /metrics ok (${text.length} bytes)`);
}
console.log("1 passed, 0 failed");
cleanup(0);
