// Hostile result files: a genuine Artillery report with one value forged. Each forgery is an error naming the file
// and the field; before the check, the reader skipped the bad value and the run passed with 0 % errors. Every
// genuine output in the shared real-outputs collection still reads without a validation error.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResultFile } from '../src/readers/index.js';
import type { ReadOptions } from '../src/readers/types.js';
import { UserError } from '../src/errors.js';

const OPTS: ReadOptions = { phase: 'sustained', count4xxAsErrors: false };
const GENUINE = '__tests__/fixtures/artillery/v2-sawady-nodejscourse.json';

function forged(edit: (doc: Record<string, any>) => void): string {
  const doc = JSON.parse(readFileSync(GENUINE, 'utf8')) as Record<string, any>;
  edit(doc);
  const path = join(mkdtempSync(join(tmpdir(), 'perf-gate-forged-')), 'report.json');
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

async function errorOf(path: string): Promise<string> {
  try {
    await readResultFile(path, OPTS);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('read without complaint');
}

describe('result files validated as data', () => {
  it('reads the genuine file (the baseline for the forgeries below)', async () => {
    const r = await readResultFile(GENUINE, OPTS);
    expect(r.requests).toBe(3000);
    expect(r.statusCodes['500']).toBe(3);
  });

  it.each([
    ['-2000', -2000, /aggregate\.counters\.http\.codes\.500 is -2000; expected a count: a whole number, 0 or more/],
    ['"lots"', 'lots', /aggregate\.counters\.http\.codes\.500 is "lots"; expected a count/],
    ['"NaN"', 'NaN', /aggregate\.counters\.http\.codes\.500 is "NaN"; expected a count/],
    ['2.5', 2.5, /aggregate\.counters\.http\.codes\.500 is 2\.5; expected a count/],
  ])('http.codes.500 of %s is an error naming the file and the field', async (_name, value, message) => {
    const path = forged((d) => (d.aggregate.counters['http.codes.500'] = value));
    const m = await errorOf(path);
    expect(m).toContain(`Results file ${path}: `);
    expect(m).toMatch(message);
  });

  it('more responses than requests is an error', async () => {
    const path = forged((d) => (d.aggregate.counters['http.codes.200'] = 10_000_000));
    expect(await errorOf(path)).toMatch(
      /statusCodes: 10000\d+ responses for \d+ requests; responses cannot outnumber requests/,
    );
  });

  it('percentiles out of order (p99 far below p95) are an error', async () => {
    const path = forged((d) => (d.aggregate.summaries['http.response_time'].p99 = 0.1));
    expect(await errorOf(path)).toMatch(
      /: latency\.p99 is 0\.1, below latency\.p95 \([\d.]+\); percentiles must be in order \(p50 <= p95 <= p99 <= max\)$/,
    );
  });

  it('a percentile that is not finite is an error', async () => {
    const path = forged((d) => (d.aggregate.summaries['http.response_time'].p95 = 'Infinity'));
    expect(await errorOf(path)).toMatch(
      /aggregate\.summaries\.http\.response_time\.p95 is "Infinity"; expected a finite number/,
    );
  });

  it('every genuine output in the shared collection passes the checks', async () => {
    // Beside the checkout (CI lays shared/ next to its clone), else the workplace's copy.
    const root =
      [resolve('../shared/fixtures/real-outputs'), '/work/shared/fixtures/real-outputs'].find((d) => existsSync(d)) ??
      '';
    const files: string[] = [];
    try {
      for (const dir of readdirSync(root)) {
        if (!statSync(join(root, dir)).isDirectory()) continue;
        for (const f of readdirSync(join(root, dir))) files.push(join(root, dir, f));
      }
    } catch {
      return; // the collection lives outside the repository; __tests__/fixtures is checked by the readers' tests
    }
    const complaints: string[] = [];
    for (const f of files) {
      try {
        await readResultFile(f, OPTS);
      } catch (e) {
        const m = (e as Error).message;
        if (/expected a count|percentiles must be in order|expected a finite number|cannot outnumber/.test(m))
          complaints.push(m);
      }
    }
    expect(complaints).toEqual([]);
    expect(files.length).toBeGreaterThan(20);
  });
});

describe('results files bounded in depth and size', () => {
  it('a results file nested 200,000 levels deep: an error naming the file, not a stack overflow', async () => {
    const path = forged((doc) => {
      doc.aggregate.deep = JSON.parse('['.repeat(1000) + ']'.repeat(1000));
    });
    // Written by hand: JSON.stringify itself cannot write 200,000 levels.
    const text = readFileSync(path, 'utf8').replace(
      /"deep":\[\[.*?\]\]/,
      `"deep":${'['.repeat(200_000)}${']'.repeat(200_000)}`,
    );
    writeFileSync(path, text);
    expect(await errorOf(path)).toMatch(
      /^Results file .*report\.json cannot be read: it is nested deeper than 256 levels/,
    );
  });

  it('a gzip that inflates past 256 MiB is refused while it is read, naming the file', async () => {
    const { createGzip, constants } = await import('node:zlib');
    const { createWriteStream } = await import('node:fs');
    const { pipeline } = await import('node:stream/promises');
    const { Readable } = await import('node:stream');
    const path = join(mkdtempSync(join(tmpdir(), 'perf-gate-bomb-')), 'report.json.gz');
    const chunk = Buffer.alloc(4 * 1024 * 1024, ' ');
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"aggregate":{"counters":{}},"intermediate":[],"x":"');
      for (let i = 0; i < 70; i++) yield chunk; // 280 MiB
      yield Buffer.from('"}');
    }
    await pipeline(Readable.from(body()), createGzip({ level: constants.Z_BEST_SPEED }), createWriteStream(path));
    expect(statSync(path).size).toBeLessThan(4 * 1024 * 1024);
    expect(await errorOf(path)).toMatch(/^Results file .*report\.json\.gz is larger than 256 MiB once decompressed/);
  }, 30_000);
});
