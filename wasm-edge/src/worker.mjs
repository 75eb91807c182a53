// The edge Worker's entry. For now a smoke Worker: it loads the core module
// (proving the wasm instantiates in workerd) and says plainly that the cache
// routes are not served yet. Only GET and HEAD exist; anything else is 405.
import wasm from '../../build-wasm/wasm-edge/nixedge-edge.wasm';
import { loadCore } from './core.mjs';

let core;

export default {
  async fetch(request) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed\n', { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    core ??= await loadCore(wasm);
    const abi = core.exports.ne_abi_version();
    return new Response(`nixedge edge: cache routes are not served yet (core ABI ${abi} loaded)\n`, {
      status: 501,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });
  },
};
