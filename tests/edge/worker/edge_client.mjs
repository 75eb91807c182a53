// Ways to call the Worker from a test: through SELF (the runtime's own HTTP
// path: Content-Length, HEAD handling, streams as a client sees them), or
// directly with a counting R2 binding, to assert how many bucket calls (and
// of which kind) a request made.
import { SELF, createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../../wasm-edge/src/worker.mjs';

let hosts = 0;
// A host of its own per test: Cache API entries are keyed by URL, so tests
// sharing the Cache API never see each other's entries.
export function freshOrigin() {
  hosts += 1;
  return `http://t${hosts}.edge.test`;
}

export function edgeFetch(origin, path, init = {}) {
  return SELF.fetch(`${origin}${path}`, init);
}

// The R2 binding with every method call counted, and how many objects are
// open at once: from the get until its body is read to the end or cancelled.
export function countingBucket(bucket = env.BUCKET) {
  const calls = {};
  const gets = { open: 0, maxOpen: 0 };
  const closed = () => {
    gets.open -= 1;
  };
  const tracked = async (pending) => {
    const object = await pending;
    if (object === null) {
      closed();
      return null;
    }
    let done = false;
    const finish = () => {
      if (!done) closed();
      done = true;
    };
    const reader = object.body.getReader();
    const body = new ReadableStream({
      async pull(controller) {
        const { value, done: end } = await reader.read();
        if (end) {
          finish();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    return { key: object.key, size: object.size, body, arrayBuffer: () => new Response(body).arrayBuffer() };
  };
  const proxy = new Proxy(bucket, {
    get(target, name) {
      const value = target[name];
      if (typeof value !== 'function') return value;
      return (...args) => {
        calls[name] = (calls[name] ?? 0) + 1;
        if (name !== 'get') return value.apply(target, args);
        gets.open += 1;
        gets.maxOpen = Math.max(gets.maxOpen, gets.open);
        return tracked(value.apply(target, args));
      };
    },
  });
  return { bucket: proxy, calls, gets };
}

// Calls the Worker's fetch directly with `vars` over the configured env and a
// counting bucket. Returns {response, calls, gets, body} (body: the bytes read,
// or the error that reading the stream raised), after waitUntil work finished.
export async function countedFetch(origin, path, { init = {}, vars = {}, bucket = env.BUCKET } = {}) {
  const counting = countingBucket(bucket);
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${origin}${path}`, init), { ...env, ...vars, BUCKET: counting.bucket }, ctx);
  let body;
  try {
    body = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    body = e;
  }
  await waitOnExecutionContext(ctx);
  return { response, body, calls: counting.calls, gets: counting.gets };
}

// Reads a body to the end: its bytes, or the error the stream ended with.
export async function readBody(response) {
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    return e;
  }
}

export function sameBytes(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) return false;
  return true;
}
