// Where the PostgreSQL source connects and how a session is set up: the connection from the config (url, url-env,
// host fields, password-env) with every secret in it registered with the redactor, the label that names the
// database without its password, and the settings each session gets before its first statement. Kept apart from
// the source class so the sampling session and the query sessions are set up by one piece of code.
import type { Client, ClientConfig } from 'pg';
import type { PostgresSourceConfig } from '../config/sources.js';
import type { Redactor } from '../secrets.js';
import { MARK } from './postgres-activity.js';

/** The client configuration from the source's config; throws (with the setting's name) when an env var is unset. */
export function resolveConnection(cfg: PostgresSourceConfig, env: NodeJS.ProcessEnv, redactor: Redactor): ClientConfig {
  let connectionString: string | undefined;
  if (cfg.urlEnv) {
    connectionString = env[cfg.urlEnv];
    if (!connectionString) throw new Error(`environment variable ${cfg.urlEnv} (url-env) is not set`);
  } else connectionString = cfg.url;
  if (connectionString) {
    redactor.add(connectionString);
    try {
      const u = new URL(connectionString);
      if (u.password) redactor.add(decodeURIComponent(u.password)).add(u.password);
    } catch {
      // Not URL-shaped (a libpq key=value string): the pattern rules cover `password=`.
    }
  }
  let password: string | undefined;
  if (cfg.passwordEnv) {
    password = env[cfg.passwordEnv];
    if (password === undefined) throw new Error(`environment variable ${cfg.passwordEnv} (password-env) is not set`);
    redactor.add(password);
  }
  const out: ClientConfig = {
    application_name: 'perf-gate',
    connectionTimeoutMillis: cfg.connectTimeoutMs,
    // Client-side guard in case the server ignores statement_timeout (a pooler in between).
    query_timeout: cfg.statementTimeoutMs + 1000,
  };
  if (connectionString) out.connectionString = connectionString;
  if (cfg.host) out.host = cfg.host;
  if (cfg.port) out.port = cfg.port;
  if (cfg.user) out.user = cfg.user;
  if (cfg.database) out.database = cfg.database;
  if (password !== undefined) out.password = password;
  return out;
}

/** user@host:port/database, or the URL without its password: what the label and the metric descriptions name. */
export function describeConnection(c: ClientConfig, redactor: Redactor): string | undefined {
  if (c.connectionString) return redactor.redact(describeUrl(c.connectionString));
  if (c.host || c.database)
    return `${c.user ? `${c.user}@` : ''}${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}`;
  return undefined;
}

function describeUrl(text: string): string {
  try {
    const u = new URL(text);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'connection string';
  }
}

/** A short statement_timeout and read-only transactions, set on every session before its first statement. */
export async function configureSession(client: Client, statementTimeoutMs: number): Promise<void> {
  // SET rather than startup parameters: poolers such as PgBouncer reject unknown startup parameters.
  await client.query(`SET statement_timeout = ${Math.round(statementTimeoutMs)} ${MARK}`);
  await client.query(`SET default_transaction_read_only = on ${MARK}`);
}
