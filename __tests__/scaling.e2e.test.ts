// The checks and the scalability figures on real parts: instances of a small app behind a real HAProxy (health
// checks, weights and a server enabled mid-run through its runtime API), all scraped by the real Prometheus every
// second. One instance killed: the pre-flight check names it and no load is sent. The balancer sending nearly
// everything to one instance: the balance target fails, an even spread passes. A fourth instance started during
// the run: the instance count shows the scale-out and when.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { resolveConfig } from '../src/config/load.js';
import { runPipeline } from '../src/pipeline.js';
import { appInstance, startHaproxy, type AppInstance, type Haproxy } from './helpers/haproxy.js';
import { memoryLog } from './helpers/memory-log.js';
import { freePort } from './helpers/postgres.js';
import { startPrometheusStack, type PrometheusStack } from './helpers/prometheus.js';

let apps: AppInstance[];
let spare: AppInstance;
let lb: Haproxy;
let prom: PrometheusStack;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const upOf = async (address: string): Promise<number | undefined> => {
  const r = await prom.query(`up{job="app",instance="${address}"}`);
  return r[0] ? Number(r[0].value[1]) : undefined;
};

beforeAll(async () => {
  apps = await Promise.all(['a1', 'a2', 'a3'].map((n) => appInstance(n)));
  spare = await appInstance('a4', await freePort());
  await spare.stop();
  lb = await startHaproxy([
    ...apps.map((a) => ({ name: a.name, port: a.port })),
    { name: spare.name, port: spare.port, disabled: true },
  ]);
  prom = await startPrometheusStack({
    extraTargets: [
      { job: 'app', target: [...apps, spare].map((a) => a.address) },
      { job: 'haproxy', target: lb.metricsAddress },
    ],
  });
  await until('three instances up in Prometheus', async () =>
    (await Promise.all(apps.map((a) => upOf(a.address)))).every((v) => v === 1),
  );
}, 90_000);

afterAll(async () => {
  await lb?.stop();
  await prom?.stop();
  await Promise.all([...(apps ?? []), spare].filter(Boolean).map((a) => a.stop()));
});

async function gate(file: Record<string, unknown>) {
  const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-scaling-'));
  const configPath = join(workspace, '.github/perf-gate.yml');
  const text = toYaml(file);
  const config = resolveConfig(
    { target: lb.url, phase: 'quick', 'output-dir': 'out' },
    { workspace, fileExists: (p) => p === configPath, readFile: () => text },
  );
  const log = memoryLog('warnings');
  const before = apps.map((a) => a.served());
  const outcome = await runPipeline(config, { log });
  return {
    ...outcome,
    lines: log.lines,
    results: readFileSync(outcome.resultsPath, 'utf8'),
    served: apps.map((a, i) => a.served() - before[i]!),
  };
}

const phase = (seconds: number, rate: number) => ({ quick: { stages: [{ duration: `${seconds}s`, rate }] } });
const sources = () => [
  {
    kind: 'prometheus',
    url: prom.url,
    step: '1s',
    metrics: [
      { preset: 'instances-up', labels: { job: 'app' } },
      {
        name: 'balance',
        query: 'sum by (instance) (rate(app_requests_total{job="app"}[3s]))',
        'shares-by': 'instance',
      },
    ],
  },
];

describe('instances behind a real HAProxy, scraped by the real Prometheus', () => {
  it('one instance killed: the pre-flight check fails naming it, and no load is sent', async () => {
    const victim = apps[1]!;
    await victim.stop();
    try {
      await until('Prometheus sees it down', async () => (await upOf(victim.address)) === 0);
      const r = await gate({
        phases: phase(3, 20),
        targets: ['error_rate < 1%'],
        checks: { instances: { url: prom.url, query: `up{job="app",instance!="${spare.address}"}`, 'min-healthy': 3 } },
      });
      expect(r.verdict.status).toBe('error');
      expect(r.run.environment!.checks).toEqual([
        {
          kind: 'instances',
          name: `up{job="app",instance!="${spare.address}"}`,
          ok: false,
          detail: `1 of 3 not healthy: ${victim.address}; 2 healthy, at least 3 needed`,
        },
      ]);
      expect(r.verdict.reasons.join('\n')).toContain(`failed: 1 of 3 not healthy: ${victim.address}`);
      expect(r.run.requests).toBe(0);
      // Only the reachability probe of the target reached an instance.
      expect(r.served.reduce((a, b) => a + b, 0)).toBe(1);
    } finally {
      await victim.start();
    }
    await until('it is back', async () => (await upOf(victim.address)) === 1);
    const ok = await gate({
      phases: phase(1, 5),
      targets: ['error_rate < 1%'],
      checks: { instances: { url: prom.url, query: `up{job="app",instance!="${spare.address}"}`, 'min-healthy': 3 } },
    });
    expect(ok.run.environment!.checks[0]).toMatchObject({
      ok: true,
      detail: `3 of 3 healthy (${apps
        .map((a) => a.address)
        .sort()
        .join(', ')})`,
    });
    expect(ok.verdict.status).toBe('pass');
  }, 90_000);

  it('the balancer sends nearly everything to one instance: balance > 0.7 fails; an even spread passes', async () => {
    for (const [name, w] of [
      ['a1', 100],
      ['a2', 1],
      ['a3', 1],
    ] as const)
      expect(await lb.command(`set weight app/${name} ${w}`)).toBe('');
    let skewed;
    try {
      skewed = await gate({ phases: phase(6, 30), targets: ['error_rate < 1%', 'balance > 0.7'], sources: sources() });
    } finally {
      for (const name of ['a1', 'a2', 'a3']) await lb.command(`set weight app/${name} 1`);
    }
    // What the instances served themselves: a1 got the lion's share.
    expect(skewed.served[0]!).toBeGreaterThan((10 * (skewed.served[1]! + skewed.served[2]!)) / 2);
    const balance = skewed.run.infra!.find((m) => m.name === 'balance')!;
    expect(balance.role).toBe('balance');
    expect(balance.stats.last!).toBeLessThan(0.2);
    expect(balance.shares![apps[0]!.address]!).toBeGreaterThan(85);
    expect(skewed.verdict.targets.find((t) => t.target.source === 'balance > 0.7')).toMatchObject({ status: 'fail' });
    expect(skewed.verdict.status).toBe('fail');
    expect(skewed.markdown).toMatch(/\*\*Load balance\.\*\*/);
    console.log(
      `skewed: served ${JSON.stringify(skewed.served)}, balance ${balance.stats.last}, shares ${JSON.stringify(balance.shares)}`,
    );

    const even = await gate({
      phases: phase(6, 30),
      targets: ['error_rate < 1%', 'balance > 0.7'],
      sources: sources(),
    });
    const b = even.run.infra!.find((m) => m.name === 'balance')!;
    console.log(
      `even: served ${JSON.stringify(even.served)}, balance ${b.stats.last}, shares ${JSON.stringify(b.shares)}`,
    );
    expect(b.stats.last!).toBeGreaterThan(0.7);
    expect(Object.keys(b.shares!).sort()).toEqual(apps.map((a) => a.address).sort());
    expect(even.verdict.status).toBe('pass');
  }, 90_000);

  it('a fourth instance started during the run: the instance count shows the scale-out and when', async () => {
    const started = new Promise<number>((resolve) => {
      setTimeout(() => {
        void spare.start().then(async () => {
          expect(await lb.command('enable server app/a4')).toBe('');
          resolve(Date.now());
        });
      }, 3000);
    });
    let r;
    try {
      r = await gate({
        phases: phase(8, 20),
        targets: ['error_rate < 1%', 'max(instances) > min(instances)', 'min(instances) >= 3'],
        sources: sources(),
      });
      const at = await started;
      const instances = r.run.infra!.find((m) => m.name === 'instances')!;
      expect(instances.role).toBe('instances');
      expect(instances.stats).toMatchObject({ min: 3, max: 4 });
      expect(r.verdict.targets.map((t) => [t.target.source, t.status])).toEqual([
        ['error_rate < 1%', 'pass'],
        ['max(instances) > min(instances)', 'pass'],
        ['min(instances) >= 3', 'pass'],
      ]);
      // The change is seen at the first scrape after the start, within a couple of seconds of it.
      const { instanceChanges } = await import('../src/report/environment.js');
      const changes = instanceChanges(instances.series!, r.run.durationMs);
      expect(changes.map((c) => [c.from, c.to])).toEqual([[3, 4]]);
      const startedAtMs = at - Date.parse(r.run.startedAt);
      expect(changes[0]!.atMs).toBeGreaterThanOrEqual(startedAtMs - 1500);
      expect(changes[0]!.atMs).toBeLessThanOrEqual(startedAtMs + 3500);
      expect(r.markdown).toMatch(/<summary><b>Environment<\/b>: instances 3 → 4, balance [0-9.]+<\/summary>/);
      expect(r.markdown).toMatch(/\| `instances` \| +3 \| +4 \| 3 → 4 at [0-9.]+ s +\|/);
      console.log(
        `scale-out: a4 started at ${startedAtMs} ms, seen at ${changes[0]!.atMs} ms; served by a4 ${spare.served()}`,
      );
    } finally {
      await started;
      await lb.command('disable server app/a4');
      await spare.stop();
    }
  }, 90_000);
});
