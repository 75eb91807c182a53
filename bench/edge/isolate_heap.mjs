// bench/edge/isolate_heap.mjs INSPECTOR_PORT SECONDS: the peak memory of the
// Worker's isolate under `wrangler dev`, sampled every 100 ms for SECONDS
// through the DevTools protocol (Runtime.getHeapUsage) on wrangler's
// inspector port. Prints one line "heap_mb=… backing_mb=… total_mb=… samples=…":
// the highest V8 heap in use, the highest ArrayBuffer backing store (chunk
// buffers, wasm memory) and the highest of their sum, in MB (10^6 bytes).
// What Workers count against the 128 MB isolate limit is close to that sum.
// Uses the `ws` client that wrangler brings (Node 20 has no WebSocket).
import WebSocket from 'ws';

const [port, seconds] = process.argv.slice(2);
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
let id = 0;
const pending = new Map();
ws.on('message', (data) => {
  const message = JSON.parse(data);
  pending.get(message.id)?.(message);
  pending.delete(message.id);
});
const send = (method) =>
  new Promise((resolve) => {
    pending.set(++id, resolve);
    ws.send(JSON.stringify({ id, method, params: {} }));
  });
await new Promise((resolve, reject) => {
  ws.on('open', resolve);
  ws.on('error', reject);
});
const end = Date.now() + Number(seconds) * 1000;
const peak = { heap: 0, backing: 0, total: 0 };
let samples = 0;
while (Date.now() < end) {
  const usage = (await send('Runtime.getHeapUsage')).result;
  if (usage) {
    const backing = usage.backingStorageSize ?? 0;
    peak.heap = Math.max(peak.heap, usage.usedSize);
    peak.backing = Math.max(peak.backing, backing);
    peak.total = Math.max(peak.total, usage.usedSize + backing);
    samples += 1;
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
ws.terminate(); // close() would wait for the proxy's close frame (30 s)
const mb = (v) => (v / 1e6).toFixed(1);
console.log(`heap_mb=${mb(peak.heap)} backing_mb=${mb(peak.backing)} total_mb=${mb(peak.total)} samples=${samples}`);
process.exit(0);
