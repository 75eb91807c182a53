#!/usr/bin/env node
// Validates the Kubernetes bundle in a directory (default k8s/), offline:
//
// - every Kubernetes object against the API's OpenAPI schemas, compiled to
//   ajv validators by the npm package kubernetes-models (pinned in
//   package-lock.json; 5.1.0 holds the Kubernetes 1.34 API);
// - strictly, like `kubeconform -strict`: a field the schema does not
//   declare is an error (the OpenAPI schemas allow extra fields, which the
//   API server then drops silently, so a typo'd `livenessProbe` would pass);
//   the declared fields come from the same package's type declarations;
// - HelmChart (helm.cattle.io/v1), fleet.yaml and kustomization.yaml against
//   the small schemas in schemas/, written from helm-controller's CRD and
//   Fleet's and kustomize's references;
// - the bundle's own consistency: configmap.yaml carries server.toml
//   verbatim, kustomization.yaml lists every manifest, Secret and ConfigMap
//   references resolve, the ingress-nginx annotations a push needs are set,
//   every container is non-root with a read-only root and limits.
//
// Usage: validate.mjs [DIR]            exit 0 valid, 1 invalid (every problem printed)
//        validate.mjs --write-configmap  regenerate k8s/configmap.yaml's data from k8s/server.toml
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import Ajv from "ajv";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
// The packages' exports map has only "import" conditions: resolve as ESM.
const resolveDts = (spec) => fileURLToPath(import.meta.resolve(spec)).replace(/\.js$/, ".d.ts");

// Files that are not Kubernetes objects, each with its own schema.
const NOT_OBJECTS = new Set(["fleet.yaml", "kustomization.yaml"]);
// Kept out of what is deployed (a template): validated, not listed.
const NOT_DEPLOYED = new Set(["fleet.yaml", "kustomization.yaml", "secrets.yaml"]);

const problems = [];
const problem = (file, where, message) => problems.push(`${file}${where ? ` ${where}` : ""}: ${message}`);

function configmapText(serverToml) {
  const header = readFileSync(join(root, "k8s/configmap.yaml"), "utf8").split("\ndata:\n")[0];
  const body = serverToml.split("\n").map((l) => (l === "" ? "" : `    ${l}`)).join("\n");
  return `${header}\ndata:\n  server.toml: |\n${body}`;
}

if (process.argv[2] === "--write-configmap") {
  writeFileSync(join(root, "k8s/configmap.yaml"), configmapText(readFileSync(join(root, "k8s/server.toml"), "utf8")));
  console.log("k8s/configmap.yaml rewritten from k8s/server.toml");
  process.exit(0);
}

const dir = resolve(process.argv[2] ?? join(root, "k8s"));
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();

// ---- parsing -------------------------------------------------------------

function parseFile(file) {
  const docs = [];
  for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"), { uniqueKeys: true, prettyErrors: true })) {
    for (const e of [...doc.errors, ...doc.warnings]) problem(file, "", `YAML: ${e.message.split("\n")[0]}`);
    if (doc.errors.length === 0) {
      const value = doc.toJS({ maxAliasCount: 0 });
      if (value !== null && value !== undefined) docs.push(value);
    }
  }
  return docs;
}

// ---- Kubernetes objects: kubernetes-models ---------------------------------

// "apps/v1" -> "apps/v1", "v1" -> "v1" (the core group's directory).
async function loadModel(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z]+$/.test(kind)) return null;
  try {
    const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return { Model: mod[kind], dts: resolveDts(`kubernetes-models/${apiVersion}/${kind}`) };
  } catch {
    return null;
  }
}

// The declared fields of a model, from its .d.ts: `export interface IName {
// "field"?: Type; }` with the types imported from sibling files. Parsed once per file.
const interfaces = new Map();
function declaredFields(dtsPath) {
  if (interfaces.has(dtsPath)) return interfaces.get(dtsPath);
  const text = readFileSync(dtsPath, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
    const spec = m[2];
    const path = spec.startsWith(".")
      ? resolve(dirname(dtsPath), spec.replace(/\.js$/, ".d.ts"))
      : resolveDts(spec);
    imports.set(m[1], path);
  }
  const body = text.match(/export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/);
  const fields = new Map();
  if (body) {
    // One field a line at four spaces; a map type (`{`) runs over several lines
    // and is a leaf here.
    for (const m of body[1].matchAll(/^ {4}"([^"]+)"\??: ([^\n]*)$/gm)) {
      const type = m[2].replace(/;$/, "").trim();
      const ref = type.match(/^(?:Array<)?(\w+)>?$/);
      fields.set(m[1], ref && imports.has(ref[1]) ? { ref: imports.get(ref[1]), array: type.startsWith("Array<") } : {});
    }
  }
  const result = body ? fields : null; // null: not an object type (IntOrString, Quantity, ...)
  interfaces.set(dtsPath, result);
  return result;
}

function checkStrict(file, value, dtsPath, path) {
  const fields = declaredFields(dtsPath);
  if (!fields || value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const field = fields.get(key);
    if (!field) {
      problem(file, path, `unknown field "${key}" (not in the schema; the API server would drop it)`);
    } else if (field.ref) {
      const items = field.array && Array.isArray(child) ? child : [child];
      items.forEach((item, i) => checkStrict(file, item, field.ref, `${path}/${key}${field.array ? `/${i}` : ""}`));
    }
  }
}

// ---- the non-Kubernetes files and the CRD: our schemas ---------------------

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, strictRequired: false });
const schema = (name) => ajv.compile(JSON.parse(readFileSync(join(here, "schemas", name), "utf8")));
const ownSchemas = {
  "fleet.yaml": schema("fleet.schema.json"),
  "kustomization.yaml": schema("kustomization.schema.json"),
  "helm.cattle.io/v1 HelmChart": schema("helmchart.schema.json"),
};
const objectMeta = (await import("@kubernetes-models/apimachinery/_schemas/IoK8sApimachineryPkgApisMetaV1ObjectMeta")).validate;

function reportAjv(file, where, errors) {
  for (const e of errors ?? []) {
    const extra = e.keyword === "additionalProperties" ? ` "${e.params.additionalProperty}"` : "";
    // The precompiled validators carry no messages: say keyword and params.
    const message = e.message ?? `${e.keyword} ${JSON.stringify(e.params)}`;
    problem(file, where, `${e.instancePath || "/"} ${message}${extra}`);
  }
}

// ---- every file ---------------------------------------------------------------

const objects = []; // {file, obj}
for (const file of files) {
  const docs = parseFile(file);
  if (NOT_OBJECTS.has(file)) {
    if (docs.length !== 1) problem(file, "", `expected one YAML document, found ${docs.length}`);
    const validate = ownSchemas[file];
    for (const doc of docs) if (!validate(doc)) reportAjv(file, "", validate.errors);
    continue;
  }
  if (docs.length === 0) problem(file, "", "no Kubernetes object");
  for (const [i, obj] of docs.entries()) {
    const where = `#${i + 1} (${obj?.kind ?? "?"} ${obj?.metadata?.name ?? "?"})`;
    objects.push({ file, obj, where });
    const own = ownSchemas[`${obj?.apiVersion} ${obj?.kind}`];
    if (own) {
      if (!own(obj)) reportAjv(file, where, own.errors);
      if (!objectMeta(obj.metadata)) reportAjv(file, `${where} metadata`, objectMeta.errors);
      continue;
    }
    const model = await loadModel(obj?.apiVersion, obj?.kind);
    if (!model) {
      problem(file, where, `unknown apiVersion/kind ${obj?.apiVersion} ${obj?.kind} (no schema)`);
      continue;
    }
    try {
      new model.Model(obj).validate();
    } catch (e) {
      if (e.errors) reportAjv(file, where, e.errors);
      else problem(file, where, String(e.message ?? e));
    }
    checkStrict(file, obj, model.dts, "");
  }
}

// ---- the bundle's own consistency -----------------------------------------------

const find = (kind, name) => objects.find((o) => o.obj?.kind === kind && o.obj?.metadata?.name === name);

// configmap.yaml carries server.toml verbatim.
const cm = find("ConfigMap", "nixedge-config");
if (!cm) problem("configmap.yaml", "", "no ConfigMap nixedge-config");
else if (existsSync(join(dir, "server.toml"))) {
  const toml = readFileSync(join(dir, "server.toml"), "utf8");
  if (cm.obj.data?.["server.toml"] !== toml)
    problem("configmap.yaml", "", "data.server.toml differs from server.toml (regenerate: tests/k8s/validate.mjs --write-configmap)");
} else problem("server.toml", "", "missing");

// kustomization.yaml lists exactly the deployable manifests.
if (files.includes("kustomization.yaml")) {
  const listed = parseFile("kustomization.yaml")[0]?.resources ?? [];
  for (const f of files) if (!NOT_DEPLOYED.has(f) && !listed.includes(f)) problem("kustomization.yaml", "", `does not list ${f}`);
  for (const f of listed) if (!files.includes(f)) problem("kustomization.yaml", "", `lists ${f}, which does not exist`);
  for (const f of NOT_DEPLOYED) if (listed.includes(f)) problem("kustomization.yaml", "", `must not list ${f}`);
} else problem("kustomization.yaml", "", "missing");

// Pod specs: references resolve, and the security posture holds.
function podSpecs() {
  const out = [];
  for (const o of objects) {
    const spec = o.obj?.kind === "CronJob" ? o.obj.spec?.jobTemplate?.spec?.template?.spec : o.obj?.spec?.template?.spec;
    if (spec && ["Deployment", "CronJob", "StatefulSet", "Job", "DaemonSet"].includes(o.obj.kind)) out.push({ ...o, spec });
  }
  return out;
}
for (const { file, where, spec } of podSpecs()) {
  const ns = objects.find((o) => o.obj?.kind === "Namespace");
  for (const c of spec.containers ?? []) {
    const at = `${where} container ${c.name}`;
    const sc = { ...spec.securityContext, ...c.securityContext };
    if (sc.runAsNonRoot !== true) problem(file, at, "runAsNonRoot must be true");
    if (c.securityContext?.readOnlyRootFilesystem !== true) problem(file, at, "readOnlyRootFilesystem must be true");
    if (c.securityContext?.allowPrivilegeEscalation !== false) problem(file, at, "allowPrivilegeEscalation must be false");
    if (!c.resources?.limits?.memory || !c.resources?.requests?.cpu) problem(file, at, "needs resources.requests.cpu and limits.memory");
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const secret = find("Secret", ref.name);
      if (!secret) problem(file, at, `env ${e.name}: no Secret ${ref.name} in the bundle's secrets.yaml`);
      else if (!(ref.key in (secret.obj.stringData ?? {})) && !(ref.key in (secret.obj.data ?? {})))
        problem(file, at, `env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
    }
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) problem(file, at, `mounts volume ${m.name}, which the pod does not define`);
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap && !find("ConfigMap", v.configMap.name)) problem(file, where, `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
    if (v.secret && !find("Secret", v.secret.secretName)) problem(file, where, `volume ${v.name}: no Secret ${v.secret.secretName}`);
  }
  if (ns && (spec.namespace ?? null) !== null) problem(file, where, "unexpected namespace in pod spec");
}

// The Deployment: two replicas, the server's probes, scraped by Prometheus.
const dep = find("Deployment", "nixedge-server");
if (!dep) problem("deployment.yaml", "", "no Deployment nixedge-server");
else {
  const s = dep.obj.spec ?? {};
  const c = s.template?.spec?.containers?.[0] ?? {};
  if (!(s.replicas >= 2)) problem(dep.file, dep.where, "needs at least 2 replicas");
  if (c.livenessProbe?.httpGet?.path !== "/healthz") problem(dep.file, dep.where, "livenessProbe must GET /healthz");
  if (c.readinessProbe?.httpGet?.path !== "/readyz") problem(dep.file, dep.where, "readinessProbe must GET /readyz");
  const a = s.template?.metadata?.annotations ?? {};
  if (a["prometheus.io/scrape"] !== "true" || a["prometheus.io/path"] !== "/metrics") problem(dep.file, dep.where, "pod template lacks the prometheus.io scrape annotations");
}

// The Ingress: ingress-nginx's defaults break pushes.
for (const o of objects.filter((x) => x.obj?.kind === "Ingress")) {
  const a = o.obj.metadata?.annotations ?? {};
  if (a["nginx.ingress.kubernetes.io/proxy-body-size"] !== "0") problem(o.file, o.where, 'needs nginx.ingress.kubernetes.io/proxy-body-size: "0" (the 1 MB default refuses NARs)');
  if (a["nginx.ingress.kubernetes.io/proxy-request-buffering"] !== "off") problem(o.file, o.where, 'needs nginx.ingress.kubernetes.io/proxy-request-buffering: "off"');
}

// The sync CronJob: every 15 minutes, never two at once.
const cron = objects.find((o) => o.obj?.kind === "CronJob");
if (!cron) problem("r2-sync-cronjob.yaml", "", "no CronJob");
else {
  if (cron.obj.spec?.concurrencyPolicy !== "Forbid") problem(cron.file, cron.where, "concurrencyPolicy must be Forbid");
  if (cron.obj.spec?.schedule !== "*/15 * * * *") problem(cron.file, cron.where, 'schedule must be "*/15 * * * *"');
}

const counted = `${files.length} files, ${objects.length} objects`;
if (problems.length) {
  for (const p of problems) console.log(`INVALID ${p}`);
  console.log(`${dir}: ${problems.length} problem(s) in ${counted}`);
  process.exit(1);
}
// The README's Kubernetes badge is stale (1.27.1); the package holds the 1.34
// API (resource.k8s.io/v1, PodCertificateProjection): name the package.
const models = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.resolve("kubernetes-models"))), "package.json"), "utf8"));
console.log(`${dir}: valid (${counted}; schemas from kubernetes-models ${models.version})`);
