// Helpers shared by the deployment checks (tests/deploy/*.mjs): the validation tools installed by
// scripts/setup under tools/, rendering a kustomize overlay, what docker/ installs into each image,
// and which executables the CMake project builds.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

// require() rooted at tools/ (npm install --prefix tools), where scripts/setup puts the npm tools.
export function toolsRequire(root) {
  const anchor = path.join(root, "tools", "package.json");
  if (!existsSync(path.join(root, "tools", "node_modules"))) {
    throw new Error(`${path.join(root, "tools/node_modules")} missing: run scripts/setup`);
  }
  return createRequire(anchor);
}

// The manifests of one overlay exactly as `kubectl apply -k` would send them.
export function renderOverlay(root, name) {
  return execFileSync("kubectl", ["kustomize", path.join(root, "k8s/overlays", name)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

// docker/Dockerfile.<flavour> builds image fsc-<flavour>. For each: the binaries its final stage
// copies out of the build stage's CMake output (COPY --from=build <build>/bin/X <dir>/), and the
// folders they land in.
export function dockerImages(root) {
  const images = new Map();
  const dir = path.join(root, "docker");
  for (const file of readdirSync(dir).filter((f) => /^Dockerfile\.[a-z0-9-]+$/.test(f))) {
    const text = readFileSync(path.join(dir, file), "utf8").replace(/\\\n/g, " ");
    const binaries = new Set();
    const installDirs = new Set();
    for (const line of text.split("\n")) {
      const m = line.match(/^\s*COPY\s+--from=build\s+(.+)$/);
      if (!m) continue;
      const words = m[1].trim().split(/\s+/).filter((w) => !w.startsWith("--"));
      const dest = words.pop();
      for (const src of words) {
        const bin = src.match(/\/build\/bin\/([A-Za-z0-9_.-]+)$/);
        if (bin) {
          binaries.add(bin[1]);
          installDirs.add(dest.replace(/\/$/, ""));
        }
      }
    }
    images.set(`fsc-${file.slice("Dockerfile.".length)}`, { dockerfile: file, binaries, installDirs, text });
  }
  return images;
}

// Names of add_executable targets outside tests/ and bench/ (the binaries a build ships).
export function cmakeExecutables(root) {
  const names = new Set();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!/^(tests|bench|build.*|node_modules|tools|models|data|\..*)$/.test(e.name)) walk(path.join(dir, e.name));
      } else if (e.name === "CMakeLists.txt") {
        const text = readFileSync(path.join(dir, e.name), "utf8").replace(/#.*$/gm, "");
        for (const m of text.matchAll(/add_executable\(\s*([A-Za-z0-9_.-]+)/g)) names.add(m[1]);
      }
    }
  };
  walk(root);
  return names;
}
