// The shape of results.json (schema version 1), for the tools that read it: a zod schema of the model's RunResult
// and Verdict as written, turned into schema/results.schema.json by `npm run build`. The model's interfaces stay the
// types the code uses; the compile-time checks at the bottom fail when the two drift apart, and the schema test
// validates real results files of every engine against it.
// Its parts, one file each under results-schema/: the measurements (measures.ts), the run (run.ts), what the sources
// saw (infra.ts), the diagnosis (diagnosis.ts) and the verdict (verdict.ts); this file puts them together.
import { z } from 'zod';
import {
  RESULTS_SCHEMA_VERSION,
  type DatabaseActivity,
  type Diagnosis,
  type RunResult,
  type Target,
  type TargetResult,
  type Verdict,
} from './model.js';
import { latency } from './results-schema/measures.js';
import type { databaseActivity } from './results-schema/infra.js';
import { diagnosisSchema } from './results-schema/diagnosis.js';
import { runSchema } from './results-schema/run.js';
import { type target, type targetResult, verdictSchema } from './results-schema/verdict.js';

export const RESULTS_SCHEMA_FILE = 'results.schema.json';

export const resultsFileSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
    run: runSchema,
    verdict: verdictSchema,
    confirmation: z
      .strictObject({
        run: runSchema,
        pooled: z.strictObject({
          requests: z.number(),
          errors: z.number(),
          errorRate: z.number().optional(),
          throughputRps: z.number().optional(),
          latency,
        }),
      })
      .optional()
      .describe('After a confirmation run: that run, and the pooled figures the regressions were judged on.'),
    why: diagnosisSchema.optional(),
  })
  .describe('perf-gate results.json: the normalised run and its verdict.');

export function resultsJsonSchema(): Record<string, unknown> {
  // Shapes used in several places (latency, histograms, the run of a confirmation) are written once, as definitions.
  const { $schema, ...rest } = z.toJSONSchema(resultsFileSchema, {
    target: 'draft-7',
    io: 'output',
    reused: 'ref',
  }) as Record<string, unknown>;
  return {
    $schema,
    $id: `https://raw.githubusercontent.com/ftw/perf-gate/v1/schema/${RESULTS_SCHEMA_FILE}`,
    title: 'perf-gate results.json',
    ...rest,
  };
}

// The schema and the model must describe the same file: each must be assignable to the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
export type RunMatchesModel = Expect<Same<z.infer<typeof runSchema>, RunResult>>;
export type VerdictMatchesModel = Expect<Same<z.infer<typeof verdictSchema>, Verdict>>;
// Assignability forgives an optional key missing on one side: the key lists must match too.
export type RunKeysMatch = Expect<Same<keyof z.infer<typeof runSchema>, keyof RunResult>>;
export type VerdictKeysMatch = Expect<Same<keyof z.infer<typeof verdictSchema>, keyof Verdict>>;
export type DiagnosisMatchesModel = Expect<Same<z.infer<typeof diagnosisSchema>, Diagnosis>>;
export type DiagnosisKeysMatch = Expect<Same<keyof z.infer<typeof diagnosisSchema>, keyof Diagnosis>>;
export type DatabaseMatchesModel = Expect<Same<z.infer<typeof databaseActivity>, DatabaseActivity>>;
export type TargetKeysMatch = Expect<Same<keyof z.infer<typeof target>, keyof Target>>;
export type TargetResultKeysMatch = Expect<Same<keyof z.infer<typeof targetResult>, keyof TargetResult>>;
