// scripts/edge-load-bucket.mjs on hand-made bucket directories (no lab, no
// wrangler): what it refuses without loading anything, and that the local R2
// it writes holds exactly the plan's objects after loads that add, change
// and drop objects. Run from the repository root: node tests/edge/load_bucket_test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const loader = path.resolve('scripts/edge-load-bucket.mjs');
const r2tool = path.resolve('tests/edge/local_r2.mjs');
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'nixedge-load-'));
const bucket = path.join(tmp, 'bucket');
const state = path.join(tmp, 'state');
let failures = 0;

async function write(key, text) {
  await fs.mkdir(path.dirname(path.join(bucket, key)), { recursive: true });
  await fs.writeFile(path.join(bucket, key), text);
}
const plan = (immutable, mutable) =>
  write('sync/plan', ['nixedge-sync-plan 1', ...immutable.map((k) => `immutable ${k}`),
                      ...mutable.map((k) => `mutable ${k}`)].join('\n') + '\n');
const load = (...extra) =>
  spawnSync('node', [loader, '--bucket-dir', bucket, '--persist-to', state, '--quiet', ...extra], { encoding: 'utf8' });
const r2 = (...args) => execFileSync('node', [r2tool, state, ...args], { encoding: 'utf8' });
const r2keys = () => r2('list').split('\n').filter(Boolean).map((l) => l.split(' ')[0]).sort();

async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n${e.stack}`);
  }
}

const chunkA = `chunks/${'a'.repeat(64)}`;
const chunkB = `chunks/${'b'.repeat(64)}`;
const manifest = `manifests/${'c'.repeat(64)}`;
const hash = '0'.repeat(32);

await check('refusals load nothing and say why', async () => {
  const refused = (pattern) => {
    const run = load();
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, pattern);
  };
  refused(/bucket directory .* does not exist/);
  await fs.mkdir(bucket, { recursive: true });
  refused(/no sync plan at .*sync\/plan/);
  await write('sync/plan', 'nixedge-sync-plan 2\n');
  refused(/plan:1: expected 'nixedge-sync-plan 1'/);
  await write('sync/plan', `nixedge-sync-plan 1\nmutable main/nix-cache-info\nimmutable ${chunkA}\n`);
  refused(/plan:3: an immutable key after the mutable ones/);
  await write('sync/plan', 'nixedge-sync-plan 1\nimmutable chunks/../../etc/passwd\n');
  refused(/plan:2: invalid bucket key/);
  await write('sync/plan', `nixedge-sync-plan 1\nimmutable ${chunkA}\nimmutable ${chunkA}\n`);
  refused(/plan:3: .* listed twice/);
  await write('sync/plan', 'nixedge-sync-plan 1\ncopy main/x\n');
  refused(/plan:2: expected 'immutable <key>' or 'mutable <key>'/);
  await plan([chunkA, manifest], ['main/nix-cache-info']);
  await write(chunkA, 'chunk a');
  refused(/2 object\(s\) listed in sync\/plan are missing .*manifests\/c+, main\/nix-cache-info/);
  assert.equal(spawnSync('node', [loader]).status, 2);
  assert.equal(spawnSync('node', [loader, '--bucket-dir', bucket, '--persist-to', state, '--frob']).status, 2);
  await fs.access(path.join(state, 'v3')).then(() => assert.fail('R2 state was created'), () => {});
});

await check('a load copies exactly the plan, a second one nothing', async () => {
  await write(manifest, 'manifest');
  await write('main/nix-cache-info', 'StoreDir: /nix/store\n');
  await write(`main/${hash}.narinfo`, 'narinfo 1');
  await write(`private/${hash}.narinfo`, 'never on the edge');
  await write(chunkB, 'not in the plan');
  await plan([chunkA, manifest], ['main/nix-cache-info', `main/${hash}.narinfo`]);
  let run = load();
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /4 objects in the plan: 4 copied \(0\.0 MiB\), 0 already there, 0 deleted/);
  assert.deepEqual(r2keys(), [chunkA, 'main/nix-cache-info', `main/${hash}.narinfo`, manifest].sort());
  assert.equal(r2('get', `main/${hash}.narinfo`), 'narinfo 1');
  run = load();
  assert.match(run.stdout, /: 0 copied \(0\.0 MiB\), 4 already there, 0 deleted/);
});

await check('a changed mutable object is copied again, a dropped one deleted, sync/ kept', async () => {
  r2('put', 'sync/status', path.join(bucket, 'main/nix-cache-info'));
  await write(`main/${hash}.narinfo`, 'narinfo 2');
  await plan([manifest], [`main/${hash}.narinfo`]);
  const run = load('--clear-cache-api');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /2 objects in the plan: 1 copied .*, 1 already there, 2 deleted/);
  assert.deepEqual(r2keys(), [`main/${hash}.narinfo`, manifest, 'sync/status'].sort());
  assert.equal(r2('get', `main/${hash}.narinfo`), 'narinfo 2');
});

await check('a damaged immutable copy (another size) is replaced', async () => {
  await fs.writeFile(path.join(tmp, 'short'), 'm');
  r2('put', manifest, path.join(tmp, 'short'));
  const run = load();
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /1 copied/);
  assert.equal(r2('get', manifest), 'manifest');
});

await fs.rm(tmp, { recursive: true, force: true });
process.exit(failures ? 1 : 0);
