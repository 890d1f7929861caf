// Checks docker/Dockerfile.* without a Docker daemon (none here): each is multi-stage, builds the
// CMake project (FSC_CUDA=OFF for cpu, ON for gpu) and copies out exactly binaries that the project
// builds (add_executable targets, named in its --target list, and, when BUILD_BIN_DIR is given,
// present in this build's bin/), runs as a non-root user, bakes in no secret, and puts the models
// where the k8s ConfigMap says they are.
// Usage: node tests/deploy/check_images.mjs REPO_ROOT [BUILD_BIN_DIR]
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { cmakeExecutables, dockerImages, toolsRequire } from "./deploy_common.mjs";

const root = path.resolve(process.argv[2] ?? ".");
const binDir = process.argv[3];
const YAML = toolsRequire(root)("yaml");
const failures = [];
let checks = 0;
function check(ok, message) {
  checks++;
  if (!ok) failures.push(message);
  return ok;
}

const executables = cmakeExecutables(root);
const images = dockerImages(root);
for (const flavour of ["cpu", "gpu"]) check(images.has(`fsc-${flavour}`), `docker/Dockerfile.${flavour} missing`);
const config = YAML.parse(readFileSync(path.join(root, "k8s/base/config.yaml"), "utf8"));
const modelsDir = config.data["models-dir"];

for (const [name, image] of images) {
  const where = `docker/${image.dockerfile}`;
  const text = image.text;
  const stages = [...text.matchAll(/^FROM\s+\S+(?:\s+AS\s+(\S+))?/gim)].map((m) => m[1] ?? "");
  check(stages.length >= 2 && stages.includes("build"), `${where}: must be multi-stage with a 'build' stage`);
  const finalStage = text.slice(text.lastIndexOf("\nFROM "));
  const build = text.match(/cmake --build build\b[^\n]*--target\s+([^&\n]+)/);
  const targets = new Set(build ? build[1].trim().split(/\s+/) : []);
  check(build, `${where}: must build with 'cmake --build build ... --target ...'`);
  check(/cmake -S \. -B build /.test(text), `${where}: must configure the repository's CMake project into build/`);
  const cuda = name === "fsc-gpu" ? "ON" : "OFF";
  check(text.includes(`-DFSC_CUDA=${cuda}`), `${where}: must configure with -DFSC_CUDA=${cuda}`);
  check(image.binaries.size > 0, `${where}: copies no binary out of the build stage`);
  for (const b of image.binaries) {
    check(executables.has(b), `${where}: copies ${b}, which is not an add_executable of the CMake project`);
    check(targets.has(b), `${where}: copies ${b} but does not build that --target`);
    if (binDir) check(existsSync(path.join(binDir, b)), `${where}: copies ${b}, which this build did not produce in ${binDir}`);
  }
  for (const required of ["fsc", "fsc-local", "fsc-coordinator", "fsc-worker"]) check(image.binaries.has(required), `${where}: must install ${required}`);
  const user = finalStage.match(/^USER\s+(\S+)/m);
  check(user && !/^(0|root)(:|$)/.test(user[1]), `${where}: the final stage must switch to a non-root USER`);
  check(!/^(ARG|ENV)\s+\S*(TOKEN|SECRET|PASSWORD|PRIVATE_KEY)/im.test(text), `${where}: must not pass secrets as ARG/ENV`);
  check(!/^COPY[^\n]*\.(key|pem)\b/im.test(text), `${where}: must not copy keys into the image`);
  check(finalStage.includes(`ENV FSC_MODELS_DIR=${modelsDir}`) && new RegExp(`COPY --from=\\S+ /src/models ${modelsDir}\\n`).test(finalStage),
        `${where}: must install the models at ${modelsDir} (k8s/base/config.yaml models-dir) and set FSC_MODELS_DIR`);
  const ignore = path.join(root, "docker", `${image.dockerfile}.dockerignore`);
  if (check(existsSync(ignore), `${where}: needs ${image.dockerfile}.dockerignore (keeps build trees, models and keys out of the context)`)) {
    const patterns = readFileSync(ignore, "utf8");
    for (const p of ["build*/", "models/", "*.key", "terraform/terraform.tfvars"]) check(patterns.includes(p), `${image.dockerfile}.dockerignore must exclude ${p}`);
  }
}

for (const f of failures) console.error(`FAIL ${f}`);
console.log(`check_images: ${images.size} images, ${checks} checks`);
console.log(`${checks - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
