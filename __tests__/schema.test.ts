// The JSON Schemas in schema/: generated from the zod schemas (fresh), a description on every key of the config
// schema, every documented config example valid under it, an unknown key rejected with its path, and real
// results.json files of the built-in engine and of result files valid under the results schema.
import { Ajv, type ErrorObject } from 'ajv';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configFileSchema } from '../src/config/schema.js';
import { CONFIG_SCHEMA_FILE, CONFIG_SCHEMA_URL, configJsonSchema, schemaKeys } from '../src/config/json-schema.js';
import { RESULTS_SCHEMA_FILE, resultsJsonSchema } from '../src/results-schema.js';
import { docFiles, fencedBlocks } from './helpers/doc-blocks.js';
import { useDemoServer } from './helpers/demo-server.js';
import { runCli } from './helpers/run-action.js';
import { lastResults } from './helpers/output-dir.js';

const root = join(import.meta.dirname, '..');
const committed = (file: string) => JSON.parse(readFileSync(join(root, 'schema', file), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validateConfig = ajv.compile(committed(CONFIG_SCHEMA_FILE));
const validateResults = ajv.compile(committed(RESULTS_SCHEMA_FILE));
const WORKFLOW_SCHEMA = 'https://json.schemastore.org/github-workflow.json';

const configKeys = new Set(Object.keys(configFileSchema.shape));
const configBlocks = docFiles(root)
  .flatMap((f) => fencedBlocks(root, f))
  .filter((b) => b.lang === 'yaml')
  .map((b) => ({ ...b, value: parse(b.text) as unknown }))
  .filter(
    (b) =>
      b.value !== null &&
      typeof b.value === 'object' &&
      !Array.isArray(b.value) &&
      !('jobs' in b.value) &&
      Object.keys(b.value).every((k) => configKeys.has(k)),
  );

const errorsOf = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);

describe('schema/perf-gate.schema.json', () => {
  it('is what the zod schema and descriptions.ts generate (npm run build writes it)', () => {
    expect(committed(CONFIG_SCHEMA_FILE)).toEqual(configJsonSchema());
    expect(committed(CONFIG_SCHEMA_FILE).$id).toBe(CONFIG_SCHEMA_URL);
  });

  it('has a description on every key', () => {
    const keys = schemaKeys(committed(CONFIG_SCHEMA_FILE));
    expect(keys.size).toBeGreaterThan(140);
    for (const [path, nodes] of keys)
      for (const n of nodes) expect(typeof n.description === 'string' && n.description.length > 10, path).toBe(true);
  });

  it('accepts every config example of the docs and examples/perf-gate.yml', () => {
    expect(configBlocks.length).toBeGreaterThan(8);
    for (const b of configBlocks)
      expect(validateConfig(b.value) ? [] : errorsOf(validateConfig.errors), `${b.file}:${b.line}`).toEqual([]);
    const example = parse(readFileSync(join(root, 'examples', 'perf-gate.yml'), 'utf8'));
    expect(validateConfig(example) ? [] : errorsOf(validateConfig.errors)).toEqual([]);
  });

  it('rejects an unknown key, naming its path', () => {
    expect(validateConfig(parse('target: https://x.example\nhttp: { time-out: 5s }\n'))).toBe(false);
    expect(validateConfig.errors).toContainEqual(
      expect.objectContaining({
        instancePath: '/http',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'time-out' },
      }),
    );
    expect(validateConfig(parse('targts: [p99 < 500ms]\n'))).toBe(false);
    expect(validateConfig.errors).toContainEqual(
      expect.objectContaining({ instancePath: '', params: { additionalProperty: 'targts' } }),
    );
    expect(validateConfig(parse('sources:\n  - kind: redis\n    url-env: REDIS_URL\n    intervall: 1s\n'))).toBe(false);
    expect(validateConfig.errors).toContainEqual(
      expect.objectContaining({ instancePath: '/sources/0', params: { additionalProperty: 'intervall' } }),
    );
    expect(
      validateConfig(parse('flows:\n  - name: a\n    steps:\n      - get: /\n        expct: { status: 200 }\n')),
    ).toBe(false);
    expect(validateConfig.errors).toContainEqual(
      expect.objectContaining({ instancePath: '/flows/0/steps/0', params: { additionalProperty: 'expct' } }),
    );
  });

  it('rejects a value outside a list the loader checks (engine, fail-on)', () => {
    expect(validateConfig({ engine: 'jmeter' })).toBe(false);
    expect(validateConfig({ 'fail-on': 'always' })).toBe(false);
    expect(validateConfig({ engine: 'k6', 'fail-on': 'target', phase: 'my-own-phase' })).toBe(true);
  });

  it('examples name their schema on the first line, for the editor', () => {
    expect(readFileSync(join(root, 'examples', 'perf-gate.yml'), 'utf8').split('\n')[0]).toBe(
      `# yaml-language-server: $schema=${CONFIG_SCHEMA_URL}`,
    );
    for (const f of readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yml') && f !== 'perf-gate.yml')) {
      expect(readFileSync(join(root, 'examples', f), 'utf8').split('\n')[0], f).toBe(
        `# yaml-language-server: $schema=${WORKFLOW_SCHEMA}`,
      );
    }
    // Whole config files in the docs (those that set the target) do too.
    const whole = configBlocks.filter((b) => 'target' in (b.value as object));
    expect(whole.length).toBeGreaterThan(1);
    for (const b of whole)
      expect(b.text.split('\n')[0], `${b.file}:${b.line}`).toBe(`# yaml-language-server: $schema=${CONFIG_SCHEMA_URL}`);
  });
});

describe('schema/results.schema.json', () => {
  const demo = useDemoServer();

  it('is what src/results-schema.ts generates', () => {
    expect(committed(RESULTS_SCHEMA_FILE)).toEqual(resultsJsonSchema());
  });

  it('accepts the results.json of a built-in run with flows and a stress analysis, and of real Artillery and k6 files', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'perf-gate-schema-'));
    writeFileSync(
      join(ws, 'perf-gate.yml'),
      'flows:\n  - name: browse\n    steps:\n      - get: /\n        name: home\n        expect: { status: 200 }\n      - get: /missing\nabort: [ "error_rate > 99% for 10s" ]\n' +
        // The 404 of /missing is what the run is about: the smoke pass would stop it before the load.
        'smoke: false\n',
    );
    const built = await runCli(
      [
        'run',
        '--target',
        demo.url,
        '--config',
        'perf-gate.yml',
        '--phase',
        'stress',
        '--duration',
        '2s',
        '--rate',
        '20',
        '--output-dir',
        'out',
      ],
      ws,
    );
    expect(built.code, built.stderr).toBeLessThan(2);
    const files = [lastResults(join(ws, 'out'))];

    const fixtures = [
      join(root, '..', 'shared', 'fixtures', 'real-outputs'),
      '/work/shared/fixtures/real-outputs',
    ].find((d) => {
      try {
        return readdirSync(d).length > 0;
      } catch {
        return false;
      }
    });
    if (fixtures) {
      for (const [i, f] of [
        'artillery-v2/sawady-nodejscourse.json',
        ...readdirSync(join(fixtures, 'k6-ndjson'))
          .slice(0, 1)
          .map((n) => `k6-ndjson/${n}`),
      ].entries()) {
        const r = await runCli(
          [
            'run',
            '--engine',
            'results',
            '--results',
            join(fixtures, f),
            '--targets',
            'p99 < 500ms',
            '--output-dir',
            `res${i}`,
          ],
          ws,
        );
        expect(r.code, `${f}: ${r.stderr}`).toBeLessThan(2);
        files.push(lastResults(join(ws, `res${i}`)));
      }
    }
    for (const file of files) {
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      expect(validateResults(doc) ? [] : errorsOf(validateResults.errors), file).toEqual([]);
    }
    const doc = JSON.parse(readFileSync(files[0]!, 'utf8'));
    expect(doc.run.endpoints.length).toBe(2);
    expect(doc.run.analysis.stress).toBeDefined();
    doc.run.latency.p99ms = 1;
    expect(validateResults(doc)).toBe(false);
    expect(validateResults.errors).toContainEqual(
      expect.objectContaining({ instancePath: '/run/latency', params: { additionalProperty: 'p99ms' } }),
    );
  });
});
