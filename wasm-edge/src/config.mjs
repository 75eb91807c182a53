// The Worker's configuration: wrangler vars (wrangler.toml [vars], `wrangler
// dev --var`, or the dashboard), read once per isolate and checked in full:
// a bad value is a clear error on every request, never a half-working edge.
//
//   TRUSTED_KEYS      {"<cache>": ["<name>:<base64 Ed25519 public key>", ...]}, as
//                     an object or its JSON text. Only these caches are served;
//                     a narinfo must carry a signature by one of its cache's keys
//                     (several during a key rotation).
//   DEFAULT_CACHE     the cache served at bare paths (/nix-cache-info, ...); "" for none.
//   NARINFO_TTL       seconds a verified narinfo stays in the Cache API (default 3600).
//   NARINFO_MISS_TTL  seconds a narinfo 404 stays cached: the delay before a
//                     newly synced path is visible here (default 60).
//   CACHE_INFO_TTL    seconds nix-cache-info stays cached (default 600).
//   MAX_SUBREQUESTS   R2 and Cache API calls one request may make: 1000 on the
//                     free plan, 10000 by default on the paid one (default 1000).
//   PREFETCH_CHUNKS   chunks open per NAR response (read, not yet sent), 1-5
//                     (default 4): Workers allow 6 open connections per invocation.
//   PREFETCH_BYTES    stored bytes among them (default 16 MiB; at least one
//                     chunk is always open).
//   CACHE_CHUNKS      "false" to skip the Cache API for chunks (default true).
export const DEFAULTS = Object.freeze({
  narinfoTtl: 3600,
  narinfoMissTtl: 60,
  cacheInfoTtl: 600,
  maxSubrequests: 1000,
  prefetchChunks: 4,
  prefetchBytes: 16 << 20,
  cacheChunks: true,
});

export class ConfigError extends Error {}

const parsed = new WeakMap(); // env -> config (or the ConfigError), once per isolate

// The config for `env`, or throws ConfigError naming the bad variable.
export function edgeConfig(env, core) {
  if (!parsed.has(env)) {
    try {
      parsed.set(env, readConfig(env, core));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      parsed.set(env, e);
    }
  }
  const config = parsed.get(env);
  if (config instanceof ConfigError) throw config;
  return config;
}

function readConfig(env, core) {
  const trustedKeys = readTrustedKeys(env.TRUSTED_KEYS, core);
  const defaultCache = String(env.DEFAULT_CACHE ?? '');
  if (defaultCache !== '' && !trustedKeys.has(defaultCache)) {
    throw new ConfigError(`DEFAULT_CACHE '${defaultCache}' has no entry in TRUSTED_KEYS`);
  }
  return Object.freeze({
    trustedKeys,
    defaultCache,
    narinfoTtl: readInteger(env, 'NARINFO_TTL', DEFAULTS.narinfoTtl, 0, 31536000),
    narinfoMissTtl: readInteger(env, 'NARINFO_MISS_TTL', DEFAULTS.narinfoMissTtl, 0, 86400),
    cacheInfoTtl: readInteger(env, 'CACHE_INFO_TTL', DEFAULTS.cacheInfoTtl, 0, 31536000),
    maxSubrequests: readInteger(env, 'MAX_SUBREQUESTS', DEFAULTS.maxSubrequests, 10, 10000000),
    prefetchChunks: readInteger(env, 'PREFETCH_CHUNKS', DEFAULTS.prefetchChunks, 1, 5),
    prefetchBytes: readInteger(env, 'PREFETCH_BYTES', DEFAULTS.prefetchBytes, 1, 64 << 20),
    cacheChunks: readBoolean(env, 'CACHE_CHUNKS', DEFAULTS.cacheChunks),
  });
}

// cache -> the trusted keys, space-separated, as the core's narinfoCheck takes them.
function readTrustedKeys(value, core) {
  if (value === undefined || value === '') {
    throw new ConfigError('TRUSTED_KEYS is not set: give {"<cache>": ["<key name>:<base64>"]}');
  }
  let map = value;
  if (typeof value === 'string') {
    try {
      map = JSON.parse(value);
    } catch (e) {
      throw new ConfigError(`TRUSTED_KEYS is not JSON: ${e.message}`);
    }
  }
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new ConfigError('TRUSTED_KEYS must be an object {"<cache>": ["<key>", ...]}');
  }
  const keys = new Map();
  for (const [cache, list] of Object.entries(map)) {
    const valid = core.cacheNameValidate(cache);
    if (!valid.ok) throw new ConfigError(`TRUSTED_KEYS: ${valid.detail}`);
    if (!Array.isArray(list) || list.length === 0) {
      throw new ConfigError(`TRUSTED_KEYS.${cache} must be a non-empty array of public keys`);
    }
    const canonical = list.map((key) => {
      const parsedKey = core.publicKeyParse(String(key));
      if (!parsedKey.ok) throw new ConfigError(`TRUSTED_KEYS.${cache}: '${key}': ${parsedKey.detail}`);
      return parsedKey.value;
    });
    keys.set(cache, canonical.join(' '));
  }
  if (keys.size === 0) throw new ConfigError('TRUSTED_KEYS names no cache');
  return keys;
}

function readInteger(env, name, fallback, min, max) {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const number = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not '${value}'`);
  }
  return number;
}

function readBoolean(env, name, fallback) {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ConfigError(`${name} must be true or false, not '${value}'`);
}
