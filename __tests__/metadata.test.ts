// action.yml, the docs and the examples must say what the code does: these checks keep them in step.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUT_NAMES, resolveConfig } from '../src/config/load.js';
import { OUTPUT_NAMES } from '../src/github/outputs.js';

const action = parse(readFileSync('action.yml', 'utf8'));
const configurationPage = readFileSync('docs/configuration.md', 'utf8');

describe('action.yml', () => {
  it('runs the committed bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  it('declares exactly the inputs and outputs the code reads and writes', () => {
    expect(Object.keys(action.inputs).sort()).toEqual([...INPUT_NAMES].sort());
    expect(Object.keys(action.outputs).sort()).toEqual([...OUTPUT_NAMES].sort());
  });

  it('sets no input defaults that would hide the config file, except the token', () => {
    const withDefaults = Object.entries(action.inputs).filter(
      ([, v]) => (v as { default?: string }).default !== undefined,
    );
    expect(withDefaults.map(([k]) => k)).toEqual(['github-token']);
  });

  it('documents every input and output in docs/configuration.md', () => {
    for (const name of [...INPUT_NAMES, ...OUTPUT_NAMES]) expect(configurationPage, name).toContain(`\`${name}\``);
  });
});

describe('examples', () => {
  it('the example config file is valid', () => {
    const c = resolveConfig({ config: 'examples/perf-gate.yml' }, { workspace: process.cwd() });
    expect(c.flows[0]!.steps).toHaveLength(5);
    expect(c.phase.name).toBe('sustained');
  });

  it('every example workflow uses ftw/perf-gate@v1 with declared inputs only', () => {
    for (const file of readdirSync('examples').filter((f) => f.endsWith('.yml') && f !== 'perf-gate.yml')) {
      const wf = parse(readFileSync(`examples/${file}`, 'utf8'));
      const steps = Object.values(
        wf.jobs as Record<string, { steps?: Array<{ uses?: string; with?: object }> }>,
      ).flatMap((j) => j.steps ?? []);
      const gates = steps.filter((s) => s.uses === 'ftw/perf-gate@v1');
      expect(gates.length, file).toBeGreaterThan(0);
      for (const g of gates)
        for (const k of Object.keys(g.with ?? {})) expect(INPUT_NAMES, `${file}: ${k}`).toContain(k);
    }
  });
});
