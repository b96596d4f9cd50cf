// History files written safely: concurrent writers lose nothing, ids stay unique, a corrupt or foreign history
// is moved aside to a backup and never overwritten, and "recorded this run" is said only when it was.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore } from '../src/baseline/file-store.js';
import { emptyHistory, serializeHistory } from '../src/baseline/entry.js';
import type { BaselineContext } from '../src/baseline/types.js';
import { useDemoServer } from './helpers/demo-server.js';
import { runCli } from './helpers/run-action.js';
import type { BaselineEntry } from '../src/model.js';

const demo = useDemoServer();
const cli = runCli;

function entry(id: string, createdAt = '2025-03-01T00:00:00.000Z'): BaselineEntry {
  return {
    id,
    createdAt,
    engine: 'builtin',
    phase: 'warmup',
    environment: 'local',
    shape: 'x',
    requests: 10,
    errors: 0,
    metrics: { p99: 5 },
  };
}

function ctx(dir: string, onCorrupt: 'error' | 'missing', logs: string[]): BaselineContext {
  return {
    log: { info: (m) => logs.push(m), warning: (m) => logs.push(`warning: ${m}`), debug: () => undefined },
    workspace: dir,
    outputDir: dir,
    environment: 'local',
    historyLimit: 30,
    onCorrupt,
    git: { owner: '', repo: '', eventName: 'push', branch: 'local', defaultBranch: 'local' },
  } as BaselineContext;
}

describe('the file store under concurrency', () => {
  it('3 CLI writers recording 10 rounds each into one history lose nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-writers-'));
    const history = join(dir, 'h.json');
    // Each round starts the three writers together: same load, same length, so their writes land together too.
    const writer = async (w: number, round: number): Promise<string | undefined> => {
      const r = await cli(
        [
          'run',
          '--target',
          demo.url,
          '--duration',
          '1s',
          '--rate',
          '5',
          '--targets',
          'p99 < 5s',
          '--baseline',
          `file:${history}`,
          '--record',
          '--confirm-regressions',
          'false',
          '--fail-on',
          'never',
          '--output-dir',
          `out-${w}-${round}`,
        ],
        dir,
      );
      expect(r.code, r.stderr).toBe(0);
      return /baseline: recorded this run/.test(r.stderr) ? `${w}.${round}` : undefined;
    };
    const said: string[] = [];
    for (let round = 0; round < 10; round++) {
      for (const s of await Promise.all([0, 1, 2].map((w) => writer(w, round)))) if (s) said.push(s);
    }
    const entries = (JSON.parse(readFileSync(history, 'utf8')) as { entries: BaselineEntry[] }).entries;
    expect(said).toHaveLength(30);
    expect(entries).toHaveLength(30);
    expect(new Set(entries.map((e) => e.id)).size).toBe(30);
    // Nothing left behind: no lock, no temporary files.
    expect(readdirSync(dir).filter((f) => f.startsWith('h.json.'))).toEqual([]);
  }, 240_000);

  it('20 writers in one process, started together, keep all 20 entries (same millisecond, distinct ids)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-writers-'));
    const logs: string[] = [];
    const store = new FileStore('h.json', ctx(dir, 'error', logs));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.record({ environment: 'local', phase: 'warmup' }, entry(`e${i}`))),
    );
    expect(results.every((r) => r.written)).toBe(true);
    const entries = (JSON.parse(readFileSync(join(dir, 'h.json'), 'utf8')) as { entries: BaselineEntry[] }).entries;
    expect(entries.map((e) => e.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`).sort());
  });

  it('takes over a lock left by a writer that died', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-writers-'));
    // A pid that cannot be running.
    writeFileSync(join(dir, 'h.json.lock'), '2147483646 deadbeef');
    const store = new FileStore('h.json', ctx(dir, 'error', []));
    expect((await store.record({ environment: 'local', phase: 'warmup' }, entry('a'))).written).toBe(true);
    expect(existsSync(join(dir, 'h.json.lock'))).toBe(false);
  });
});

describe('a history that cannot be added to', () => {
  const foreign = serializeHistory({
    ...emptyHistory({ environment: 'production', phase: 'stress' }),
    entries: Array.from({ length: 9 }, (_, i) => entry(`p${i}`)),
  });
  const otherSchema = JSON.stringify({
    schemaVersion: 2,
    kind: 'perf-gate-history',
    environment: 'local',
    phase: 'warmup',
    entries: [{ id: 'x' }],
  });

  it.each([
    ['another schema', otherSchema],
    ['another environment and phase', foreign],
    ['not JSON', '{"schemaVersion": 1, "entr'],
  ])('with on-corrupt: missing, a history of %s is moved to a backup, not overwritten', async (_name, text) => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-foreign-'));
    writeFileSync(join(dir, 'h.json'), text);
    const logs: string[] = [];
    const r = await new FileStore('h.json', ctx(dir, 'missing', logs)).record(
      { environment: 'local', phase: 'warmup' },
      entry('new'),
    );
    expect(r.written).toBe(true);
    const backups = readdirSync(dir).filter((f) => /^h\.json\..*\.bak$/.test(f));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dir, backups[0]!), 'utf8')).toBe(text);
    expect(logs.join('\n')).toMatch(
      /warning: baseline file h\.json cannot be added to .*moved it to .*\.bak and started a new history/,
    );
    expect((JSON.parse(readFileSync(join(dir, 'h.json'), 'utf8')) as { entries: unknown[] }).entries).toHaveLength(1);
  });

  it('with on-corrupt: error, it is refused and left exactly as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-foreign-'));
    writeFileSync(join(dir, 'h.json'), foreign);
    await expect(
      new FileStore('h.json', ctx(dir, 'error', [])).record({ environment: 'local', phase: 'warmup' }, entry('new')),
    ).rejects.toThrow(
      /baseline file h\.json cannot be added to: it is the history of environment "production", phase "stress"/,
    );
    expect(readFileSync(join(dir, 'h.json'), 'utf8')).toBe(foreign);
    expect(readdirSync(dir).sort()).toEqual(['h.json']);
  });
});
