// Runs the core's Catch2 unit tests as built by Emscripten (make build-wasm-tests)
// under this Node, so the native ctest run covers wasm32 too. Extra arguments go
// to Catch2. Exits with the suite's status.
//
// Usage: node run_emscripten_tests.mjs path/to/nixedge-unit-tests.js [catch2 args...]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const [suite, ...args] = process.argv.slice(2);
if (!suite) {
  console.error('usage: node run_emscripten_tests.mjs nixedge-unit-tests.js [catch2 args...]');
  process.exit(2);
}
if (!existsSync(suite)) {
  console.error(`run_emscripten_tests: ${suite} does not exist: build it first (make build-wasm-tests)`);
  process.exit(2);
}
// --warn NoTests: a filter that matches nothing is a failure, not a silent pass.
const run = spawnSync(process.execPath, [suite, '--use-colour', 'no', '--warn', 'NoTests', ...args], {
  stdio: 'inherit',
});
if (run.error) {
  console.error(`run_emscripten_tests: ${run.error.message}`);
  process.exit(2);
}
process.exit(run.status ?? 1);
