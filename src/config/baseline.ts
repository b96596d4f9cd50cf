// The `baseline:` section of .github/perf-gate.yml and the inputs that override it, validated into a typed
// BaselineConfig. config/load.ts only has to plug the schema fragment in and call resolveBaselineConfig.
import { z } from 'zod';
import {
  DEFAULT_REGRESSION_RULES,
  parseRegressionRules,
  type RegressionRule,
  MIN_HISTORY,
} from '../gate/regression.js';

/** Default number of runs a history keeps. */
export const DEFAULT_HISTORY_LIMIT = 30;
/** The label on a pull request that accepts its regressions. */
export const DEFAULT_ACCEPT_LABEL = 'perf-regression-accepted';
/** `branch` without a name. */
export const DEFAULT_DATA_BRANCH = 'perf-gate-data';
/** `artifact` without a name: the name to give actions/upload-artifact for the output dir. */
export const DEFAULT_ARTIFACT_NAME = 'perf-gate-results';

export const ON_CORRUPT = ['error', 'missing'] as const;
export type OnCorrupt = (typeof ON_CORRUPT)[number];
import { UserError } from '../errors.js';

export const BASELINE_STORES = ['file', 'branch', 'artifact'] as const;
export type BaselineStoreKind = (typeof BASELINE_STORES)[number];

export interface BaselineSpec {
  kind: BaselineStoreKind;
  /** Path (file), branch name (branch) or artifact name (artifact). */
  location: string;
  /** As written, for the report. */
  text: string;
}

/** The action inputs this section adds (kebab-case, like the others). */
export const BASELINE_INPUT_NAMES = [
  'baseline',
  'environment',
  'regression-rules',
  'accept-label',
  'confirm-regressions',
] as const;
export type BaselineInputName = (typeof BASELINE_INPUT_NAMES)[number];

const listOrString = z.union([z.string(), z.array(z.string())]);

/**
 * `baseline: branch:perf-gate-data` (just the store) or the long form:
 *
 *   baseline:
 *     store: branch:perf-gate-data      # file:<path> | branch[:<name>] | artifact[:<name>] | none
 *     environment: staging              # runs of different environments are never compared
 *     history: 30                       # runs kept, and looked back over for the noise band
 *     min-history: 5                    # runs needed before the noise band is used
 *     branches: [main, release/*]       # runs recorded from these (default: the default branch)
 *     rules: ["p99: +10%", "error_rate: +0.2pp", "throughput: -10%", "p50: off"]
 *     accept-label: perf-regression-accepted
 *     on-corrupt: error                 # or missing: a corrupt history counts as no baseline
 *     confirm: true                     # default: re-run the phase once before failing on a regression
 */
export const baselineConfigSchema = z.union([
  z.string(),
  z.strictObject({
    store: z.string().optional(),
    environment: z.string().optional(),
    history: z.number().int().min(1).max(200).optional(),
    'min-history': z.number().int().min(2).max(200).optional(),
    branches: listOrString.optional(),
    rules: listOrString.optional(),
    'accept-label': z.string().optional(),
    'on-corrupt': z.enum(ON_CORRUPT).optional(),
    confirm: z.boolean().optional(),
  }),
]);
export type BaselineConfigFile = z.infer<typeof baselineConfigSchema>;

export interface BaselineConfig {
  /** Undefined: no baseline comparison (no `baseline` input or key, or `none`). */
  spec?: BaselineSpec;
  environment: string;
  historyLimit: number;
  minHistory: number;
  /** Undefined: the repository's default branch. Entries may end in `*` for a prefix. */
  recordBranches?: string[];
  rules: RegressionRule[];
  acceptLabel: string;
  onCorrupt: OnCorrupt;
  confirm: boolean;
}

export const DEFAULT_ENVIRONMENT = 'default';
const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function parseBaselineSpec(text: string, where = 'input "baseline"'): BaselineSpec | undefined {
  const t = text.trim();
  if (t === '' || /^(none|off|false)$/i.test(t)) return undefined;
  const m = /^(?<kind>[a-z]+)(?::(?<rest>.*))?$/i.exec(t);
  const kind = m?.groups?.kind?.toLowerCase();
  const rest = m?.groups?.rest?.trim() ?? '';
  const allowed = 'file:<path>, branch[:<name>], artifact[:<name>], none';
  if (!kind || !(BASELINE_STORES as readonly string[]).includes(kind)) {
    throw new UserError(`${where}: got "${t}"; allowed: ${allowed}`);
  }
  const k = kind as BaselineStoreKind;
  switch (k) {
    case 'file':
      if (rest === '')
        throw new UserError(
          `${where}: "file:" needs a path, e.g. file:perf-gate-baseline/results.json; allowed: ${allowed}`,
        );
      return { kind: k, location: rest, text: t };
    case 'branch':
      if (rest !== '' && !/^[A-Za-z0-9._/-]+$/.test(rest))
        throw new UserError(`${where}: "${rest}" is not a valid branch name; allowed: ${allowed}`);
      return { kind: k, location: rest || DEFAULT_DATA_BRANCH, text: t };
    case 'artifact':
      return { kind: k, location: rest || DEFAULT_ARTIFACT_NAME, text: t };
    default:
      return assertNever(k);
  }
}

export function resolveBaselineConfig(
  inputs: Partial<Record<BaselineInputName, string | undefined>>,
  file: BaselineConfigFile | undefined,
  configPath = '.github/perf-gate.yml',
): BaselineConfig {
  const input = (n: BaselineInputName): string | undefined => {
    const v = inputs[n]?.trim();
    return v ? v : undefined;
  };
  const section = typeof file === 'string' ? { store: file } : (file ?? {});
  const where = (n: BaselineInputName, key: string): string =>
    input(n) !== undefined ? `input "${n}"` : `${configPath}: baseline.${key}`;

  const specText = input('baseline') ?? section.store;
  const spec = specText === undefined ? undefined : parseBaselineSpec(specText, where('baseline', 'store'));

  const environment = input('environment') ?? section.environment ?? DEFAULT_ENVIRONMENT;
  if (!ENV_NAME.test(environment)) {
    throw new UserError(
      `${where('environment', 'environment')}: got "${environment}"; allowed: letters, digits, ".", "_" and "-" (up to 64, starting with a letter or digit)`,
    );
  }

  const rulesInput = input('regression-rules');
  const rules =
    rulesInput !== undefined
      ? parseRegressionRules(rulesInput, 'input "regression-rules"')
      : parseRegressionRules(section.rules, `${configPath}: baseline.rules`);

  const branches =
    section.branches === undefined
      ? undefined
      : (typeof section.branches === 'string' ? section.branches.split(/[\s,]+/) : section.branches).filter(Boolean);
  return {
    ...(spec ? { spec } : {}),
    environment,
    historyLimit: section.history ?? DEFAULT_HISTORY_LIMIT,
    minHistory: section['min-history'] ?? MIN_HISTORY,
    ...(branches && branches.length ? { recordBranches: branches } : {}),
    rules,
    acceptLabel: input('accept-label') ?? section['accept-label'] ?? DEFAULT_ACCEPT_LABEL,
    onCorrupt: section['on-corrupt'] ?? 'error',
    confirm: confirmSetting(input('confirm-regressions')) ?? section.confirm ?? true,
  };
}

/** The `confirm-regressions` input: the words an Actions input uses for a switch. */
function confirmSetting(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  const v = text.toLowerCase();
  if (v === 'true' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === 'no' || v === 'off') return false;
  throw new UserError(`input "confirm-regressions": got "${text}"; allowed: true, false`);
}

export { DEFAULT_REGRESSION_RULES };

function assertNever(x: never): never {
  throw new Error(`unhandled baseline store ${String(x)}`);
}
