#!/usr/bin/env node
// The validator must refuse broken manifests: each case copies k8s/ to a
// temp dir, breaks one thing, runs validate.mjs on the copy and expects exit
// 1 with the named problem. The unbroken copy must pass (else every case
// would "fail" for the wrong reason).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const k8s = resolve(here, "../../k8s");

// [what, file, text to replace, replacement, expected in the output]
const CASES = [
  ["YAML syntax", "deployment.yaml", "  replicas: 2\n", "  replicas: 2\n   oops: [\n", "YAML:"],
  ["duplicate key", "deployment.yaml", "  replicas: 2\n", "  replicas: 2\n  replicas: 3\n", "YAML:"],
  ["wrong type", "deployment.yaml", "replicas: 2", 'replicas: "two"', "/spec/replicas must be integer"],
  ["missing required field", "deployment.yaml", "        - name: nixedge-server\n          image:", "        - image:", "must have required property name"],
  ["unknown field (typo)", "deployment.yaml", "livenessProbe:", "livenesProbe:", 'unknown field "livenesProbe"'],
  ["unknown field deep in a pod spec", "r2-sync-cronjob.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", 'unknown field "readOnlyRootFileSystem"'],
  ["unknown apiVersion", "deployment.yaml", "apiVersion: apps/v1", "apiVersion: apps/v2", "unknown apiVersion/kind apps/v2 Deployment"],
  ["Ingress path without pathType", "service-ingress.yaml", "            pathType: Prefix\n", "", "must have required property pathType"],
  ["CronJob wrong type", "r2-sync-cronjob.yaml", "backoffLimit: 0", "backoffLimit: none", "/spec/jobTemplate/spec/backoffLimit must be integer"],
  ["CronJob not Forbid", "r2-sync-cronjob.yaml", "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow", "concurrencyPolicy must be Forbid"],
  ["HelmChart unknown spec field", "postgres-helmchart.yaml", "  chart: postgresql", "  chartt: postgresql", 'must NOT have additional properties "chartt"'],
  ["HelmChart bad metadata", "postgres-helmchart.yaml", "  name: nixedge-postgresql\n", "  name: [nixedge]\n", "metadata: /name type"],
  ["fleet.yaml unknown key", "fleet.yaml", "defaultNamespace: nixedge", "defaultNamespaces: nixedge", 'must NOT have additional properties "defaultNamespaces"'],
  ["kustomization misses a manifest", "kustomization.yaml", "  - r2-sync-cronjob.yaml\n", "", "does not list r2-sync-cronjob.yaml"],
  ["configmap differs from server.toml", "server.toml", 'io_threads = 2', 'io_threads = 4', "differs from server.toml"],
  ["env from a Secret key that does not exist", "deployment.yaml", "key: database-url", "key: database-uri", "has no key database-uri"],
  ["ingress buffers requests", "service-ingress.yaml", 'proxy-request-buffering: "off"', 'proxy-request-buffering: "on"', "proxy-request-buffering"],
  ["ingress body limit", "service-ingress.yaml", 'proxy-body-size: "0"', 'proxy-body-size: "1m"', "proxy-body-size"],
  ["root filesystem writable", "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem must be true"],
  ["probe on the wrong path", "deployment.yaml", "path: /readyz", "path: /ready", "readinessProbe must GET /readyz"],
];

const validate = (dir) => spawnSync(process.execPath, [join(here, "validate.mjs"), dir], { encoding: "utf8" });
const validateAsync = (dir) =>
  new Promise((done) => {
    const child = spawn(process.execPath, [join(here, "validate.mjs"), dir]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (status) => done({ status, out }));
  });
let failed = 0;
const tmp = mkdtempSync(join(tmpdir(), "nixedge-k8s-"));
try {
  const base = join(tmp, "base");
  cpSync(k8s, base, { recursive: true });
  const ok = validate(base);
  if (ok.status !== 0) {
    console.log(`FAIL the unbroken copy does not validate:\n${ok.stdout}${ok.stderr}`);
    process.exit(1);
  }
  // Each run is mostly Node loading the validators (~1.5 s): run them side by side.
  const results = await Promise.all(CASES.map(async ([what, file, from, to, expect], i) => {
    const dir = join(tmp, `case${i}`);
    cpSync(k8s, dir, { recursive: true });
    const text = readFileSync(join(dir, file), "utf8");
    if (!text.includes(from)) return `FAIL ${what}: ${file} no longer contains ${JSON.stringify(from)} (update the case)`;
    writeFileSync(join(dir, file), text.replace(from, to));
    const r = await validateAsync(dir);
    if (r.status === 1 && r.out.includes(expect))
      return `ok   ${what}: refused (${r.out.split("\n").find((l) => l.includes(expect)).trim()})`;
    return `FAIL ${what}: exit ${r.status}, expected exit 1 with ${JSON.stringify(expect)}; output:\n${r.out}`;
  }));
  for (const line of results) {
    console.log(line);
    if (line.startsWith("FAIL")) failed++;
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`${CASES.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
