// A throwaway PostgreSQL server for tests: initdb into a temporary folder, started on 127.0.0.1 with a free port
// and password (SCRAM) authentication over TCP, with pg_stat_statements preloaded when the server has it.
// PostgreSQL refuses to run as root, so when the tests run as root the server runs as the `postgres` user.
// A missing server is an error naming scripts/ci-services.sh, never a silent skip.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresServer {
  port: number;
  /** Superuser password (the tests check it never leaks). */
  password: string;
  maxConnections: number;
  hasStatStatements: boolean;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` (a superuser: perf-gate refuses it for `queries:`) */
  url: string;
  /**
   * The least-privilege role the README shows for perf-gate's source: pg_read_all_stats and SELECT on the tables of
   * `public` (now and created later by postgres), in database `postgres`. What a source with `queries:` connects as.
   */
  readerUrl: string;
  /** The reader's URL for another database, after granting it SELECT on that database's tables (now and later). */
  readerFor(database: string): Promise<string>;
  stop(): Promise<void>;
}

/** The newest PostgreSQL server installed the Debian way (/usr/lib/postgresql/<version>/bin), or PG_BINDIR. */
export function findPostgresBin(): { bin: string; version: string } {
  const fromEnv = process.env.PG_BINDIR;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return { bin: fromEnv, version: 'custom' };
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries not found (no /usr/lib/postgresql/<version>/bin/initdb, PG_BINDIR unset): ' +
        'run scripts/ci-services.sh (it installs postgresql with apt-get) before these tests',
    );
  }
  return { bin: join(root, versions[0]!, 'bin'), version: versions[0]! };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPostgres(opts: { maxConnections?: number } = {}): Promise<PostgresServer> {
  const { bin, version } = findPostgresBin();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}-S3cr3t`;
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  let uid: number | undefined;
  let gid: number | undefined;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
      throw new Error(
        'tests run as root but there is no "postgres" user to run the server as: install postgresql (scripts/ci-services.sh)',
      );
    });
    uid = Number(stdout.trim());
    gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const as = (cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 60_000 })
      : run(cmd, args, { timeout: 60_000 });

  await as(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--pwfile',
    pwfile,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const shareDir = (
    await run(join(bin, 'pg_config'), ['--sharedir']).catch(() => ({ stdout: `/usr/share/postgresql/${version}` }))
  ).stdout.trim();
  const hasStatStatements = existsSync(join(shareDir, 'extension', 'pg_stat_statements.control'));
  const port = await freePort();
  const maxConnections = opts.maxConnections ?? 40;
  const settings = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    `max_connections = ${maxConnections}`,
    `fsync = off`,
    `shared_buffers = 16MB`,
    ...(hasStatStatements ? [`shared_preload_libraries = 'pg_stat_statements'`, `pg_stat_statements.track = all`] : []),
  ];
  writeFileSync(
    join(data, 'postgresql.conf'),
    `${readFileSync(join(data, 'postgresql.conf'), 'utf8')}\n${settings.join('\n')}\n`,
  );
  try {
    await as(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
  } catch (e) {
    const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000) : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(e as Error).message}\n${log}`);
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  if (hasStatStatements) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.end();
  }
  const readerPassword = `rd-${Math.random().toString(36).slice(2)}-S3cr3t`;
  {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`CREATE ROLE perf_reader LOGIN PASSWORD '${readerPassword}'`);
    await client.query('GRANT pg_read_all_stats TO perf_reader');
    await client.end();
  }
  const grantReader = async (database: string): Promise<string> => {
    const client = new pg.Client({ connectionString: url.replace(/\/postgres$/, `/${database}`) });
    await client.connect();
    await client.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO perf_reader');
    await client.query(
      'ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO perf_reader',
    );
    await client.end();
    return `postgres://perf_reader:${encodeURIComponent(readerPassword)}@127.0.0.1:${port}/${database}`;
  };
  const readerUrl = await grantReader('postgres');
  let stopped = false;
  return {
    readerUrl,
    readerFor: grantReader,
    port,
    password,
    maxConnections,
    hasStatStatements,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
