#!/usr/bin/env node
// Does nixedge-server accept k8s/server.toml? Runs `nixedge-server --config
// k8s/server.toml config show` (with placeholder S3 credentials, as the
// Deployment's Secret gives them). While GC is not merged, the file names
// keys the server does not know yet ([gc], [sync]): then the test
//   1. lists them: keys absent from lab-server/server.toml (the reference that
//      lists every key the server knows);
//   2. checks everything else: the same file without those keys must load;
//   3. exits 77 (ctest: skipped) with that list as the reason.
// Once the server knows every key, the whole file must load or the test fails.
//
// Usage: server_config_test.mjs NIXEDGE_SERVER
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "smol-toml";

const SKIP = 77;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const server = process.argv[2];
if (!server) {
  console.error("usage: server_config_test.mjs NIXEDGE_SERVER");
  process.exit(2);
}
const k8sPath = join(root, "k8s/server.toml");
const k8s = parse(readFileSync(k8sPath, "utf8"));
const reference = parse(readFileSync(join(root, "lab-server/server.toml"), "utf8"));

const isTable = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);
function keys(table, prefix = "") {
  return Object.entries(table).flatMap(([k, v]) => (isTable(v) ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}
const known = new Set(keys(reference));
const knownTables = new Set(keys(reference).flatMap((k) => k.split(".").slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join("."))));

// The environment must not decide the outcome.
const env = { ...process.env };
for (const k of Object.keys(env)) if (k.startsWith("NIXEDGE_")) delete env[k];
// The secrets the Deployment sets from nixedge-secrets, as placeholders: with
// storage.type "s3" the credentials must be present for the file to load.
env.NIXEDGE_S3_ACCESS_KEY_ID = "placeholder-access-key";
env.NIXEDGE_S3_SECRET_ACCESS_KEY = "placeholder-secret-key";
const configShow = (path) => spawnSync(server, ["--config", path, "config", "show"], { encoding: "utf8", env });

const full = configShow(k8sPath);
if (full.status === 0) {
  console.log(`nixedge-server accepts k8s/server.toml:\n${full.stdout}`);
  process.exit(0);
}

// Not accepted: is it only what is not implemented yet?
const pending = keys(k8s).filter((k) => !known.has(k));
const reduced = structuredClone(k8s);
for (const key of pending) {
  const path = key.split(".");
  let t = reduced;
  for (const p of path.slice(0, -1)) t = t[p];
  delete t[path.at(-1)];
}
// Tables the server does not know, left empty, go too.
(function prune(t, prefix) {
  for (const [k, v] of Object.entries(t)) {
    if (!isTable(v)) continue;
    prune(v, `${prefix}${k}.`);
    if (Object.keys(v).length === 0 && !knownTables.has(`${prefix}${k}`)) delete t[k];
  }
})(reduced, "");
if (pending.length === 0) {
  console.log(`FAIL nixedge-server refuses k8s/server.toml, and every key in it is implemented:\n${full.stderr}`);
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), "nixedge-k8s-config-"));
try {
  const reducedPath = join(tmp, "server.toml");
  writeFileSync(reducedPath, stringify(reduced));
  const partial = configShow(reducedPath);
  if (partial.status !== 0) {
    console.log(`FAIL the implemented part of k8s/server.toml does not load:\n${partial.stderr}`);
    process.exit(1);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`nixedge-server refuses k8s/server.toml as a whole:\n  ${full.stderr.trim()}`);
console.log("the implemented keys load (checked without what follows);");
console.log(`not implemented yet, so the whole-file check is SKIPPED:`);
for (const k of pending) console.log(`  key   ${k}`);
process.exit(SKIP);
