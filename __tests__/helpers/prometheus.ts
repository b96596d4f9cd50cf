// A real Prometheus scraping a real node-exporter, both from the Debian packages, started on free 127.0.0.1
// ports with a temporary config and TSDB folder and a 1 s scrape interval (never as system services). A missing
// binary is an error naming scripts/ci-services.sh, never a silent skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './postgres.js';

export interface PrometheusStack {
  /** Prometheus base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  nodeExporterUrl: string;
  /** Instant query, for the tests' own cross-checks. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

export function findBinary(names: string[]): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/local/bin', '/usr/sbin']);
  for (const name of names) {
    for (const dir of dirs) {
      const p = join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // keep looking
      }
    }
  }
  throw new Error(
    `${names.join(' or ')} not found on PATH: run scripts/ci-services.sh (it installs prometheus, prometheus-node-exporter and redis-server with apt-get) before these tests`,
  );
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8').slice(-2000);
      } catch {
        // no log
      }
      throw new Error(`${what} was not ready within ${timeoutMs} ms\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface StackOptions {
  /** More scrape jobs, e.g. a test's own exporter whose values it controls: {job: 'fake', target: '127.0.0.1:1234'}. */
  extraTargets?: Array<{ job: string; target: string | string[] }>;
}

export async function startPrometheusStack(opts: StackOptions = {}): Promise<PrometheusStack> {
  const promBin = findBinary(['prometheus']);
  const exporterBin = findBinary(['prometheus-node-exporter', 'node_exporter']);
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-prom-'));
  const exporterPort = await freePort();
  const promPort = await freePort();
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const exporterLog = join(dir, 'node-exporter.log');
    const exporterOut = openSync(exporterLog, 'a');
    children.push(
      spawn(
        exporterBin,
        [
          `--web.listen-address=127.0.0.1:${exporterPort}`,
          '--collector.disable-defaults',
          '--collector.cpu',
          '--collector.meminfo',
        ],
        {
          stdio: ['ignore', exporterOut, exporterOut],
        },
      ),
    );
    const nodeExporterUrl = `http://127.0.0.1:${exporterPort}`;
    await waitFor('node-exporter', async () => (await fetch(`${nodeExporterUrl}/metrics`)).ok, 15_000, exporterLog);

    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: node',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${exporterPort}']`,
        '  - job_name: prometheus',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${promPort}']`,
        ...(opts.extraTargets ?? []).flatMap((t) => [
          `  - job_name: ${t.job}`,
          '    static_configs:',
          `      - targets: [${[t.target]
            .flat()
            .map((x) => `'${x}'`)
            .join(', ')}]`,
        ]),
        '',
      ].join('\n'),
    );
    const promLog = join(dir, 'prometheus.log');
    const promOut = openSync(promLog, 'a');
    children.push(
      spawn(
        promBin,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--storage.tsdb.retention.time=1h',
        ],
        { stdio: ['ignore', promOut, promOut] },
      ),
    );
    const url = `http://127.0.0.1:${promPort}`;
    const query = async (
      promql: string,
    ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return body.data.result;
    };
    await waitFor('prometheus', async () => (await fetch(`${url}/-/ready`)).ok, 30_000, promLog);
    // Enough node scrapes for rate() over a few seconds to have two samples.
    await waitFor(
      'node-exporter scrapes',
      async () => Number((await query('count_over_time(up{job="node"}[1m])'))[0]?.value[1] ?? 0) >= 3,
      20_000,
      promLog,
    );
    return { url, nodeExporterUrl, query, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
