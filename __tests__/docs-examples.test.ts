// Docs that cannot rot: every fenced YAML block of the README and docs/ is run through what would read it for real.
// A config block (`.github/perf-gate.yml` or a part of one) goes through the config loader, so every documented key
// exists and every example is valid; a workflow, or a list of steps, goes through GitHub's own workflow parser and
// its perf-gate steps may use only declared inputs; every target expression written in the docs parses.
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUT_NAMES, resolveConfig } from '../src/config/load.js';
import { configFileSchema } from '../src/config/schema.js';
import { parseTarget } from '../src/gate/targets.js';
import { parseGuard } from '../src/phases/guards.js';
import { fencedBlocks, type Block } from './helpers/doc-blocks.js';
import { workflowParser } from './helpers/workflow-parser.js';

const root = join(import.meta.dirname, '..');
const docFiles = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

const yamlBlocks = docFiles.flatMap((f) => fencedBlocks(root, f)).filter((b) => b.lang === 'yaml'); // ```yml is other YAML (an Artillery script), left alone
const CONFIG_KEYS = new Set(Object.keys(configFileSchema.shape));

type Kind = 'workflow' | 'steps' | 'config';
function kindOf(value: unknown): Kind | undefined {
  if (Array.isArray(value))
    return value.every((s) => s && typeof s === 'object' && ('uses' in s || 'run' in s)) ? 'steps' : undefined;
  if (!value || typeof value !== 'object') return undefined;
  if ('jobs' in value) return 'workflow';
  return Object.keys(value).every((k) => CONFIG_KEYS.has(k)) ? 'config' : undefined;
}

const where = (b: Block) => `${b.file}:${b.line}`;

/** A workflow text for a block: a list of steps becomes one job's steps; a workflow without `on` gets one. */
function asWorkflow(b: Block, kind: 'workflow' | 'steps'): string {
  if (kind === 'steps') {
    const steps = b.text
      .split('\n')
      .map((l) => (l === '' ? l : `      ${l}`))
      .join('\n');
    return `on: push\njobs:\n  docs:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`;
  }
  return /^on:/m.test(b.text) ? b.text : `on: push\n${b.text}`;
}

function perfGateSteps(workflow: unknown): Array<{ with?: Record<string, unknown> }> {
  const jobs = (
    workflow as { jobs: Record<string, { steps?: Array<{ uses?: string; with?: Record<string, unknown> }> }> }
  ).jobs;
  return Object.values(jobs)
    .flatMap((j) => j.steps ?? [])
    .filter((s) => s.uses === 'ftw/perf-gate@v1');
}

/** A workspace with the files the examples refer to (data files), so the loader checks them as it would in a repo. */
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-docs-'));
  cpSync(join(root, 'examples', 'users.csv'), join(dir, 'users.csv'));
  writeFileSync(join(dir, 'users.json'), '[{"email":"a@example.com","password":"x"}]');
  return dir;
}

describe('fenced YAML blocks of the README and docs/', () => {
  it('are found, and each is a config, a workflow or a list of workflow steps', () => {
    expect(yamlBlocks.length).toBeGreaterThan(25);
    for (const b of yamlBlocks)
      expect(kindOf(parse(b.text)), `${where(b)} is neither a perf-gate config nor a workflow`).toBeDefined();
  });

  it('config blocks load with the config loader', () => {
    const ws = workspace();
    const blocks = yamlBlocks.filter((b) => kindOf(parse(b.text)) === 'config');
    expect(blocks.length).toBeGreaterThan(8);
    for (const b of blocks) {
      const file = join(ws, 'perf-gate.yml');
      writeFileSync(file, b.text);
      const value = parse(b.text) as Record<string, unknown>;
      // A block that shows one part of the file (sources, flows, abort guards) is loaded with a target given.
      const inputs = { config: file, ...(value.target === undefined ? { target: 'http://127.0.0.1:9' } : {}) };
      expect(() => resolveConfig(inputs, { workspace: ws }), where(b)).not.toThrow();
    }
  });

  it("workflow blocks and lists of steps pass GitHub's workflow parser, and perf-gate steps use declared inputs only", async () => {
    const parser = await workflowParser();
    const blocks = yamlBlocks.filter((b) => kindOf(parse(b.text)) !== 'config');
    expect(blocks.length).toBeGreaterThan(15);
    for (const b of blocks) {
      const kind = kindOf(parse(b.text)) as 'workflow' | 'steps';
      const text = asWorkflow(b, kind);
      const { errors } = await parser.validateWorkflow(where(b), text);
      expect(errors, where(b)).toEqual([]);
      for (const step of perfGateSteps(parse(text)))
        for (const k of Object.keys(step.with ?? {})) expect(INPUT_NAMES, `${where(b)}: ${k}`).toContain(k);
    }
  });

  it("the example workflows in examples/ and action.yml pass GitHub's parsers", async () => {
    const parser = await workflowParser();
    for (const f of readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yml') && f !== 'perf-gate.yml')) {
      expect((await parser.validateWorkflow(f, readFileSync(join(root, 'examples', f), 'utf8'))).errors, f).toEqual([]);
    }
    expect(parser.validateAction('action.yml', readFileSync(join(root, 'action.yml'), 'utf8')).errors).toEqual([]);
  });

  it('the parsers catch what they are here to catch', async () => {
    const parser = await workflowParser();
    expect(
      (await parser.validateWorkflow('bad', 'on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n')).errors.join(),
    ).toMatch(/stepz/);
    expect(
      (
        await parser.validateWorkflow(
          'bad',
          'on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ github.event.number \n',
        )
      ).errors.length,
    ).toBeGreaterThan(0);
    const ws = workspace();
    writeFileSync(join(ws, 'c.yml'), 'target: http://127.0.0.1:9\nhttp: { time-out: 5s }\n');
    expect(() => resolveConfig({ config: join(ws, 'c.yml') }, { workspace: ws })).toThrow(/time-out/);
  });
});

// Abort guards in the docs: inline code such as `error_rate > 5% for 30s`, and the entries of `abort:` lists.
function documentedGuards(): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  for (const file of docFiles) {
    let fence = false;
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*```/.test(line)) fence = !fence;
        if (fence) return;
        for (const m of line.matchAll(/`([^`]+)`/g)) {
          const span = m[1]!.trim();
          if (/^[A-Za-z_][\w.{}, /]*\s*(<=|>=|==|!=|<|>)\s*[\d.]+\S*\s+for\s+\S+$/.test(span) && !/<[a-z]+>/.test(span))
            out.push({ where: `${file}:${i + 1}`, text: span });
        }
      });
  }
  for (const b of yamlBlocks) {
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'abort' && x !== false)
            for (const g of typeof x === 'string' ? x.split('\n') : (x as string[]))
              if (g.trim() && g.trim() !== 'none') out.push({ where: where(b), text: g.trim() });
              else walk(x);
        }
      }
    };
    walk(parse(b.text));
  }
  return out;
}

describe('abort guards in the README and docs/', () => {
  const guards = documentedGuards();
  it('are found, and all parse', () => {
    expect(guards.length).toBeGreaterThan(8);
    const failures = guards.flatMap(({ where, text }) => {
      try {
        parseGuard(text, where);
        return [];
      } catch (e) {
        return [`${where}: ${text}: ${(e as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });
});

// Target expressions in the docs: inline code spans that read `<metric> <op> <value>` in a line about targets, and
// the entries of every YAML `targets:` list or block.
function documentedTargets(): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  const guardish = / for \d|^\w+: /;
  for (const file of docFiles) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    let fence = false;
    lines.forEach((line, i) => {
      if (/^\s*```/.test(line)) fence = !fence;
      if (fence) return;
      for (const m of line.matchAll(/`([^`]+)`/g)) {
        const span = m[1]!.trim();
        if (
          !/^(optional:\s*)?[A-Za-z_][\w.(){}:, /]*\s*(<=|>=|==|!=|<|>)\s*[^\s<>=]/.test(span) ||
          guardish.test(span.replace(/^optional: /, ''))
        )
          continue;
        // Placeholders (`file:<path>`, `p99 < ...`) and command lines are not targets.
        if (/[;|]|<[a-z]+>|\.\.\./.test(span) || /^(?:npx|npm|node|artillery|k6) /.test(span)) continue;
        out.push({ where: `${file}:${i + 1}`, text: span });
      }
    });
  }
  for (const b of yamlBlocks) {
    const lists: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) k === 'targets' ? lists.push(x) : walk(x);
    };
    walk(parse(b.text));
    for (const l of lists)
      for (const t of typeof l === 'string' ? l.split('\n') : (l as string[]))
        if (t.trim()) out.push({ where: where(b), text: t.trim() });
  }
  return out;
}

describe('target expressions in the README and docs/', () => {
  const targets = documentedTargets();
  it('are found in their dozens', () => {
    expect(targets.length).toBeGreaterThan(60);
    expect(targets.map((t) => t.text)).toEqual(
      expect.arrayContaining([
        'p99 < 500ms',
        'error_rate{payment} == 0',
        'db_connections < 80% of max',
        'bids_stored == responses{bid, 201}',
      ]),
    );
  });
  it('all parse', () => {
    const failures = targets.flatMap(({ where, text }) => {
      try {
        parseTarget(text, where);
        return [];
      } catch (e) {
        return [`${where}: ${text}: ${(e as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });
});
