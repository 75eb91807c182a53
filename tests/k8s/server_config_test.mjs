#!/usr/bin/env node
// Does nixedge-server accept k8s/server.toml as it is? Runs `nixedge-server
// --config k8s/server.toml config show` (with placeholder S3 credentials, as
// the Deployment's Secret gives them) and checks that every key of the file
// is one the server knows (lab-server/server.toml, the reference, lists them
// all) and that `config show` renders the file's values back.
//
// Usage: server_config_test.mjs NIXEDGE_SERVER
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

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
function entries(table, prefix = "") {
  return Object.entries(table).flatMap(([k, v]) => (isTable(v) ? entries(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]));
}
const known = new Set(entries(reference).map(([k]) => k));
const unknown = entries(k8s).filter(([k]) => !known.has(k));
if (unknown.length > 0) {
  console.log(`FAIL k8s/server.toml has keys the reference does not list: ${unknown.map(([k]) => k).join(", ")}`);
  process.exit(1);
}

// The environment must not decide the outcome.
const env = { ...process.env };
for (const k of Object.keys(env)) if (k.startsWith("NIXEDGE_")) delete env[k];
env.NIXEDGE_S3_ACCESS_KEY_ID = "placeholder-access-key";
env.NIXEDGE_S3_SECRET_ACCESS_KEY = "placeholder-secret-key";
const shown = spawnSync(server, ["--config", k8sPath, "config", "show"], { encoding: "utf8", env });
if (shown.status !== 0) {
  console.log(`FAIL nixedge-server refuses k8s/server.toml:\n${shown.stderr}`);
  process.exit(1);
}
// Values the server resolves (data_dir made absolute) aside, what it renders
// is what the file says: no key was read under another name or dropped.
// Durations are compared in seconds ("120s" renders as "2m").
const unitSeconds = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31557600 };
function normal(v) {
  if (typeof v !== "string" || !/^(\d+[smhdwy])+$/.test(v)) return JSON.stringify(v);
  return String([...v.matchAll(/(\d+)([smhdwy])/g)].reduce((sum, [, n, u]) => sum + Number(n) * unitSeconds[u], 0));
}
const rendered = new Map(entries(parse(shown.stdout)));
const differing = entries(k8s).filter(([k, v]) => k !== "server.data_dir" && normal(rendered.get(k)) !== normal(v));
if (differing.length > 0) {
  for (const [k, v] of differing) console.log(`FAIL ${k}: the file says ${JSON.stringify(v)}, the server ${JSON.stringify(rendered.get(k))}`);
  process.exit(1);
}
console.log(`nixedge-server accepts k8s/server.toml (${entries(k8s).length} keys):\n${shown.stdout}`);
