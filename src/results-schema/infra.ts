// What the sources saw during the run: infrastructure metrics, the database's work (statements, table scans,
// lock waits) and the ECS tasks that stopped. The run carries them; the diagnosis names them.
import { z } from 'zod';
import { SOURCE_KINDS } from '../model.js';
import { ms } from './measures.js';

export const infraMetric = z
  .strictObject({
    name: z.string().describe('The name a target uses (cpu, db_connections, ...).'),
    source: z.enum(SOURCE_KINDS),
    query: z.string().describe('What was queried.'),
    unit: z.enum(['%', 'count', 'ms', 'bytes', '/s']),
    stats: z.strictObject({
      min: z.number().optional(),
      mean: z.number().optional(),
      p95: z.number().optional(),
      max: z.number().optional(),
      last: z.number().optional(),
    }),
    limit: z.number().optional().describe('What a "% of max" target compares against.'),
    series: z
      .array(z.tuple([z.number(), z.number()]))
      .optional()
      .describe('Samples as [ms from the run start, value].'),
    unavailable: z.string().optional().describe('Why the metric could not be read.'),
    role: z
      .enum(['instances', 'balance'])
      .optional()
      .describe('instances: a count of instances; balance: lowest / highest per-instance share.'),
    shares: z
      .record(z.string(), z.number())
      .optional()
      .describe('Per-instance share of the total over the run window, percent.'),
  })
  .describe('One infrastructure metric over the run window.');

export const statement = z
  .strictObject({
    queryid: z.string().describe('pg_stat_statements queryid (an md5 of the text where there is none).'),
    query: z.string().describe('Normalised text, passwords masked, cut to 500 characters.'),
    calls: z.number(),
    totalMs: ms('Execution time during the run'),
    meanMs: ms('Mean execution time'),
    sharePercent: z.number().optional().describe("Share of all statements' execution time, percent."),
    blocksPerCall: z.number().optional().describe('Shared blocks (8 KiB) hit or read per call.'),
    databases: z.array(z.string()).optional(),
  })
  .describe('A statement during the run, grouped by queryid across databases and users.');

export const tableScans = z
  .strictObject({
    table: z.string().describe('schema.table'),
    seqScan: z.number(),
    seqTupRead: z.number().describe('Rows read by the sequential scans.'),
    idxScan: z.number(),
    liveRows: z.number().optional(),
    indexes: z.array(z.strictObject({ name: z.string(), scans: z.number() })).optional(),
  })
  .describe('Scans of one table during the run (pg_stat_user_tables, pg_stat_user_indexes).');

export const lockWait = z
  .strictObject({
    statement: z.string().describe('The waiting statement.'),
    table: z.string().optional(),
    lockType: z.string().optional().describe('pg_locks.locktype of the lock waited for.'),
    samples: z.number(),
    maxWaiting: z.number().describe('Most connections waiting at once.'),
    firstAtMs: ms('First seen, from the run start'),
  })
  .describe('Connections seen waiting on a lock.');

export const databaseActivity = z
  .strictObject({
    source: z.string().describe("The PostgreSQL source's metric name."),
    totalMs: z.number().optional(),
    statements: z.array(statement).optional(),
    statementCount: z.number().optional(),
    dealloc: z.number().optional().describe('pg_stat_statements entries evicted during the run.'),
    tables: z.array(tableScans).optional(),
    lockWaits: z.array(lockWait).optional(),
    notes: z.array(z.string()).optional(),
  })
  .describe("The database's work during the run.");

export const stoppedTaskFields = {
  service: z.string().describe('cluster/service'),
  taskArn: z.string(),
  stoppedAtMs: ms('When it stopped, from the run start'),
  stopCode: z.string().optional(),
  stoppedReason: z.string().optional(),
  containers: z.array(
    z.strictObject({ name: z.string(), exitCode: z.number().optional(), reason: z.string().optional() }),
  ),
};
