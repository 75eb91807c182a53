#!/usr/bin/env node
// Mirror the lab's local bucket directory into the local R2 bucket that
// `wrangler dev --persist-to DIR` serves, the way the real sync job mirrors
// the lab bucket into R2 (docs/bucket-layout.md, "sync/plan"):
//
//   1. read <bucket dir>/sync/plan and check that every object it lists exists;
//   2. copy the plan's immutable objects (chunks, manifests) that the mirror
//      lacks, then its mutable ones (layout marker, nix-cache-info, narinfos,
//      listings) whose bytes differ, in plan order;
//   3. delete what the mirror holds and the plan does not list: mutable
//      objects first, then manifests, then chunks (`sync/…` is left alone).
//
// Only what the plan lists is loaded, so private caches never reach the edge,
// and running it again after more pushes (or deletions) mirrors the new state.
//
// Usage:
//   node scripts/edge-load-bucket.mjs --bucket-dir DIR --persist-to DIR
//        [--bucket-name nixedge-mirror] [--clear-cache-api] [--quiet]
//
// wrangler dev 4.86 keeps R2 under <persist-to>/v3/r2 (one Durable Object
// SQLite database per bucket name plus a blobs/ directory), and the Cache API
// under <persist-to>/v3/cache; this script opens the same R2 state with
// Miniflare. Run it while no `wrangler dev` uses that directory.
// --clear-cache-api removes <persist-to>/v3/cache, so narinfos, 404s and
// chunks the Worker cached from an earlier load are not served again.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Miniflare } from 'miniflare';

const PLAN_HEADER = 'nixedge-sync-plan 1';
const PUT_CONCURRENCY = 8;

class UsageError extends Error {}

function parseArguments(argv) {
  const options = { bucketName: 'nixedge-mirror', clearCacheApi: false, quiet: false };
  const needValue = (i, name) => {
    if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--bucket-dir': options.bucketDir = needValue(i++, arg); break;
      case '--persist-to': options.persistTo = needValue(i++, arg); break;
      case '--bucket-name': options.bucketName = needValue(i++, arg); break;
      case '--clear-cache-api': options.clearCacheApi = true; break;
      case '--quiet': options.quiet = true; break;
      case '-h': case '--help':
        options.help = true; break;
      default: throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  if (!options.help && (!options.bucketDir || !options.persistTo))
    throw new UsageError('--bucket-dir and --persist-to are required');
  return options;
}

const usage = `usage: node scripts/edge-load-bucket.mjs --bucket-dir DIR --persist-to DIR
         [--bucket-name NAME] [--clear-cache-api] [--quiet]
  --bucket-dir DIR    the lab's bucket directory (<data dir>/bucket), holding sync/plan
  --persist-to DIR    the directory given to \`wrangler dev --persist-to\`
  --bucket-name NAME  the R2 bucket_name in wrangler.toml (default nixedge-mirror)
  --clear-cache-api   also drop the Worker's Cache API state under DIR/v3/cache
  --quiet             print only the summary line
`;

// A bucket key as docs/bucket-layout.md allows it: relative, no empty, `.`
// or `..` segment (so it never leaves the bucket directory).
function checkKey(key) {
  if (key === '' || key.startsWith('/') || key.endsWith('/')) return false;
  return key.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

// The plan: header, then `immutable <key>` lines, then `mutable <key>` lines.
export function parsePlan(text, where = 'sync/plan') {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== PLAN_HEADER)
    throw new Error(`${where}:1: expected '${PLAN_HEADER}', found '${lines[0] ?? ''}'`);
  const plan = { immutable: [], mutable: [] };
  const seen = new Set();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const space = line.indexOf(' ');
    const kind = space < 0 ? line : line.slice(0, space);
    const key = space < 0 ? '' : line.slice(space + 1);
    const at = `${where}:${i + 1}`;
    if (kind !== 'immutable' && kind !== 'mutable')
      throw new Error(`${at}: expected 'immutable <key>' or 'mutable <key>', found '${line}'`);
    if (kind === 'immutable' && plan.mutable.length > 0)
      throw new Error(`${at}: an immutable key after the mutable ones`);
    if (!checkKey(key)) throw new Error(`${at}: invalid bucket key '${key}'`);
    if (seen.has(key)) throw new Error(`${at}: '${key}' listed twice`);
    seen.add(key);
    plan[kind].push(key);
  }
  return plan;
}

// Deletion order: mutable objects, then manifests, then chunks.
function deletionRank(key) {
  if (key.startsWith('chunks/')) return 2;
  if (key.startsWith('manifests/')) return 1;
  return 0;
}

async function readPlan(bucketDir) {
  const dir = await fs.stat(bucketDir).catch(() => null);
  if (!dir?.isDirectory()) throw new Error(`the bucket directory ${bucketDir} does not exist`);
  const planFile = path.join(bucketDir, 'sync', 'plan');
  let text;
  try {
    text = await fs.readFile(planFile, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT')
      throw new Error(
        `no sync plan at ${planFile}: is ${bucketDir} a lab bucket directory ` +
          `(<data dir>/bucket), and has the lab server run since a cache was made edge-enabled?`,
      );
    throw new Error(`cannot read ${planFile}: ${e.message}`);
  }
  return parsePlan(text, planFile);
}

// Size of every object the plan lists; fails naming the missing ones.
async function statPlanObjects(bucketDir, keys) {
  const sizes = new Map();
  const missing = [];
  for (const key of keys) {
    try {
      const st = await fs.stat(path.join(bucketDir, key));
      if (!st.isFile()) missing.push(key);
      else sizes.set(key, st.size);
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
      missing.push(key);
    }
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ');
    const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
    throw new Error(
      `${missing.length} object(s) listed in sync/plan are missing from ${bucketDir}: ${shown}${more} ` +
        `(nothing was loaded; \`nixedge-server fsck\` checks the bucket)`,
    );
  }
  return sizes;
}

async function listAll(bucket) {
  const objects = new Map();
  let cursor;
  do {
    const page = await bucket.list({ cursor, limit: 1000 });
    for (const o of page.objects) objects.set(o.key, { size: o.size, etag: o.etag });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return objects;
}

// Runs job(item) for every item, at most `limit` at a time, in order of start.
async function inPool(items, limit, job) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await job(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function mib(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export async function loadBucket(options) {
  const log = options.quiet ? () => {} : (line) => process.stderr.write(`edge-load-bucket: ${line}\n`);
  const bucketDir = path.resolve(options.bucketDir);
  const persistTo = path.resolve(options.persistTo);
  const plan = await readPlan(bucketDir);
  const planKeys = [...plan.immutable, ...plan.mutable];
  const sizes = await statPlanObjects(bucketDir, planKeys);

  if (options.clearCacheApi) await fs.rm(path.join(persistTo, 'v3', 'cache'), { recursive: true, force: true });
  const r2Persist = path.join(persistTo, 'v3', 'r2');
  await fs.mkdir(r2Persist, { recursive: true });
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(); } }',
    r2Buckets: { BUCKET: options.bucketName },
    r2Persist,
    cf: false,
  });
  const stats = { copied: 0, copiedBytes: 0, unchanged: 0, deleted: 0 };
  try {
    const bucket = await mf.getR2Bucket('BUCKET');
    const existing = await listAll(bucket);
    log(
      `plan: ${plan.immutable.length} immutable + ${plan.mutable.length} mutable objects ` +
        `(${mib([...sizes.values()].reduce((a, b) => a + b, 0))}); local R2 holds ${existing.size}`,
    );

    const put = async (key) => {
      const bytes = await fs.readFile(path.join(bucketDir, key));
      await bucket.put(key, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      stats.copied++;
      stats.copiedBytes += bytes.byteLength;
    };

    // Immutable: copy when missing (a key names its bytes; a size mismatch
    // can only be a damaged copy, which is replaced).
    const immutableToCopy = plan.immutable.filter((key) => {
      const have = existing.get(key);
      if (have && have.size === sizes.get(key)) {
        stats.unchanged++;
        return false;
      }
      if (have) log(`replacing ${key}: ${have.size} bytes in R2, ${sizes.get(key)} in the bucket`);
      return true;
    });
    let done = 0;
    await inPool(immutableToCopy, PUT_CONCURRENCY, async (key) => {
      await put(key);
      if (++done % 500 === 0) log(`immutable: ${done}/${immutableToCopy.length} copied`);
    });

    // Mutable, in plan order: copy when the bytes differ (R2's etag is their MD5).
    for (const key of plan.mutable) {
      const have = existing.get(key);
      if (have && have.size === sizes.get(key)) {
        const bytes = await fs.readFile(path.join(bucketDir, key));
        if (createHash('md5').update(bytes).digest('hex') === have.etag) {
          stats.unchanged++;
          continue;
        }
      }
      await put(key);
    }

    // Deletes: what the plan no longer lists, mutable first, chunks last.
    const inPlan = new Set(planKeys);
    const stale = [...existing.keys()]
      .filter((key) => !inPlan.has(key) && !key.startsWith('sync/'))
      .sort((a, b) => deletionRank(a) - deletionRank(b) || (a < b ? -1 : a > b ? 1 : 0));
    for (const key of stale) {
      await bucket.delete(key);
      stats.deleted++;
    }
  } finally {
    await mf.dispose();
  }
  const summary =
    `${planKeys.length} objects in the plan: ${stats.copied} copied (${mib(stats.copiedBytes)}), ` +
    `${stats.unchanged} already there, ${stats.deleted} deleted; R2 state in ${r2Persist}`;
  process.stdout.write(`edge-load-bucket: ${summary}\n`);
  return stats;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  let options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`edge-load-bucket: ${e.message}\n${usage}`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  try {
    await loadBucket(options);
  } catch (e) {
    process.stderr.write(`edge-load-bucket: ${e.message}\n`);
    process.exit(1);
  }
}
