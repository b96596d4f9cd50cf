// The diagnosis (results.json's `why`): why the run failed, as far as its figures tell.
import { z } from 'zod';
import { CAUSE_KINDS } from '../model.js';
import { ms, slowRequest } from './measures.js';
import { lockWait, statement, stoppedTaskFields, tableScans } from './infra.js';

const saturationFinding = z.strictObject({
  name: z.string(),
  basis: z.enum(['limit', 'target']),
  threshold: z.number(),
  limit: z.number(),
  unit: z.enum(['%', 'count', 'ms', 'bytes', '/s', 'requests']),
  firstAtMs: ms('First sample past the threshold, from the run start'),
  peak: z.number(),
  order: z.enum(['before', 'with', 'after', 'no-rise']).describe('Against the latency or error rise.'),
});

export const diagnosisSchema = z
  .strictObject({
    cause: z
      .strictObject({ kind: z.enum(CAUSE_KINDS), subject: z.string() })
      .optional()
      .describe('The cause named; absent: no single cause found.'),
    when: z
      .strictObject({
        target: z.string(),
        metric: z.string(),
        threshold: z.number(),
        unit: z.enum(['ms', '%', '/s', 'count']),
        atMs: z.number().optional(),
        value: z.number().optional(),
        slow: z
          .strictObject({
            requests: z.number(),
            ofRequests: z.number(),
            endpoints: z.array(z.strictObject({ name: z.string(), slow: z.number(), requests: z.number() })),
          })
          .optional(),
      })
      .optional()
      .describe('When the first target broke, and where the slow requests were.'),
    saturation: z
      .array(saturationFinding)
      .describe('Series past 80 % of their limit or past their target, earliest first.'),
    unsaturated: z.array(z.strictObject({ name: z.string(), peakPercent: z.number() })),
    throughputLimit: z
      .strictObject({
        fromMs: z.number(),
        toMs: z.number(),
        servedRps: z.number(),
        askedRps: z.number().optional(),
        inFlightFrom: z.number(),
        inFlightTo: z.number(),
        littleMs: z.number(),
      })
      .optional(),
    database: z
      .strictObject({
        source: z.string(),
        totalMs: z.number().optional(),
        top: z.array(statement),
        dealloc: z.number().optional(),
        seqScanTables: z.array(tableScans),
        heavyReads: z.array(statement),
        lockWaits: z.array(lockWait),
        slower: z
          .array(
            z.strictObject({ queryid: z.string(), query: z.string(), meanMs: z.number(), baselineMeanMs: z.number() }),
          )
          .optional(),
      })
      .optional(),
    memory: z.array(
      z.strictObject({
        name: z.string(),
        unit: z.enum(['%', 'count', 'ms', 'bytes', '/s']),
        slopePerMin: z.number(),
        r2: z.number(),
        fromValue: z.number(),
        toValue: z.number(),
        samples: z.number(),
        leak: z.boolean(),
      }),
    ),
    errors: z
      .strictObject({
        endpoints: z.array(
          z.strictObject({
            name: z.string(),
            errors: z.number(),
            requests: z.number(),
            codes: z.record(z.string(), z.number()),
          }),
        ),
        logs: z.array(
          z.strictObject({
            group: z.enum(['payment', 'auth', 'other']),
            message: z.string(),
            count: z.number(),
            source: z.string(),
          }),
        ),
      })
      .optional(),
    slowest: z.array(slowRequest).optional().describe('The slowest requests with their trace ids.'),
    stoppedTasks: z
      .array(z.strictObject({ ...stoppedTaskFields, outOfMemory: z.boolean() }))
      .optional()
      .describe('ECS tasks stopped during the run.'),
    limits: z.array(z.string()).describe('What the diagnosis could not look at.'),
  })
  .describe('Why the run failed, as far as its figures tell (the report\'s "Why" block).');
