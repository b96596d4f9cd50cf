// `npm run demo`: start the bundled demo target on 127.0.0.1 and run the bundled action (dist/index.js) against
// it exactly as the GitHub runner would, with its embedded defaults (built-in engine, warm-up phase), scaled
// to 20 s so it finishes quickly. Prints the outputs and the Markdown report it wrote.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoServer } from '../demo/server.ts';

const server = await startDemoServer({ port: 0 });
const scratch = mkdtempSync(join(tmpdir(), 'perf-gate-demo-'));
const outputFile = join(scratch, 'output');
const summaryFile = join(scratch, 'summary.md');
writeFileSync(outputFile, '');
writeFileSync(summaryFile, '');

const duration = process.env.DEMO_DURATION ?? '20s';
console.log(`demo target on ${server.url}; running the action (phase warmup, ${duration})\n`);
const child = spawn(process.execPath, ['dist/index.js'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    INPUT_TARGET: server.url,
    INPUT_DURATION: duration,
    'INPUT_OUTPUT-DIR': 'perf-gate-results',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: process.cwd(),
  },
});
const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
await server.close();

console.log('\n--- outputs (GITHUB_OUTPUT) ---');
const outputs = readFileSync(outputFile, 'utf8').replace(/<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\1/g, '=$2');
console.log(outputs.trim());
console.log('\n--- perf-gate-results/LOAD_TEST_RESULTS.md ---');
console.log(readFileSync('perf-gate-results/LOAD_TEST_RESULTS.md', 'utf8'));
process.exitCode = code;
