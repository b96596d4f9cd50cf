#!/usr/bin/env node
// Thin launcher so `npx perf-gate` runs the bundled CLI (dist/cli.js) with the arguments given.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
