// Inputs + `.github/perf-gate.yml` -> typed Config. Everything is validated here, before any load is sent, and a
// mistake is reported as one line naming the input or config path, the value received and what is allowed.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  COMMENT_MODES,
  DECIDE_ON,
  DISTRIBUTED_MODES,
  ENGINES,
  FAIL_ON,
  PRESET_PHASES,
  type CommentMode,
  type EngineName,
  type FailOn,
} from '../model.js';
import { parseTargets } from '../gate/targets.js';
import { errorsOptedOut, withErrorBound } from '../gate/error-bound.js';
import { didYouMean } from './suggest.js';
import { endpointSelectorProblems, selectorMetric, targetMetrics, type EndpointMetric } from '../gate/selectors.js';
import { PRESETS, timeFactorOf, totalDurationMs, type PhaseDefinition } from '../phases/presets.js';
import { parseGuards, type AbortGuard } from '../phases/guards.js';
import { resolveBaselineConfig } from './baseline.js';
import type { Config } from './types.js';
import { parseDuration, parseRate } from '../units.js';
import { formatDurationCompact } from '../format.js';
import { redactUrl } from '../secrets.js';
import { formatCount, LIMITS } from './limits.js';
import { UserError } from '../errors.js';
import { infraTargetProblems } from './infra-targets.js';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from './file.js';
import { customPhases, ownValue, toFlow } from './phases-flows.js';

// Re-exported: the engines and the pipeline print the target through the config module they already import.

/** Every input of the action, by its kebab-case name; the CLI takes the same names as flags. */
export const INPUT_NAMES = [
  'target',
  'phase',
  'engine',
  'config',
  'targets',
  'duration',
  'duration-scale',
  'rate',
  'decide-on',
  'abort',
  'fail-on',
  'comment',
  'comment-header',
  'github-token',
  'output-dir',
  'script',
  'results',
  'distributed',
  'count',
  'region',
  'baseline',
  'environment',
  'regression-rules',
  'accept-label',
  'confirm-regressions',
  'shard',
] as const;
export type InputName = (typeof INPUT_NAMES)[number];
export type RawInputs = Partial<Record<InputName, string>>;

export const DEFAULTS = {
  phase: 'warmup',
  engine: 'builtin' as EngineName,
  failOn: 'any' as FailOn,
  comment: 'auto' as CommentMode,
  outputDir: 'perf-gate-results',
  timeoutMs: 30_000,
  maxInFlight: 1000,
  intervalMs: 10_000,
};

export interface LoadOptions {
  /** Directory relative paths are resolved against (GITHUB_WORKSPACE or the current directory). */
  workspace: string;
  readFile?: (path: string) => string;
  fileExists?: (path: string) => boolean;
}

export function resolveConfig(inputs: RawInputs, options: LoadOptions): Config {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const fileExists = options.fileExists ?? existsSync;
  const input = (name: InputName): string | undefined => {
    const v = inputs[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };

  const { file, path: configPath } = loadConfigFile(input('config'), options.workspace, readFile, fileExists);
  const where = (inputName: InputName, fileKey: string = inputName): string =>
    input(inputName) !== undefined ? `input "${inputName}"` : `${configPath ?? DEFAULT_CONFIG_PATH}: ${fileKey}`;
  const pick = (name: InputName, fromFile: unknown): string | undefined =>
    input(name) ?? (fromFile === undefined || fromFile === null ? undefined : String(fromFile));

  const engine = oneOf(pick('engine', file.engine) ?? DEFAULTS.engine, ENGINES, where('engine'));

  // The results engine judges files that were already written: it sends no load and needs no target.
  const targetUrl = pick('target', file.target);
  if (targetUrl === undefined && engine !== 'results') {
    throw new UserError(
      `input "target" is required (the base URL of the deployment), unless ${configPath ?? DEFAULT_CONFIG_PATH} sets "target"`,
    );
  }
  const { url: target, authorization } =
    targetUrl === undefined
      ? { url: '', authorization: undefined }
      : splitCredentials(validateUrl(targetUrl, where('target')));

  const scriptText = pick('script', file.script);
  let script: string | undefined;
  // engine "artillery" or "k6" without a script runs the config's flows, translated (src/engines/artillery/translate.ts,
  // src/engines/k6/translate.ts).
  const flowsOnTool =
    (engine === 'artillery' || engine === 'k6') && scriptText === undefined && file.flows !== undefined;
  if ((engine === 'artillery' || engine === 'k6') && !flowsOnTool) {
    if (scriptText === undefined) {
      throw new UserError(
        `input "script" is required with engine "${engine}": the path of the ${engine === 'k6' ? 'k6 script (.js)' : 'Artillery test (.yml)'}, unless ${configPath ?? DEFAULT_CONFIG_PATH} has flows to run`,
      );
    }
    script = isAbsolute(scriptText) ? scriptText : resolve(options.workspace, scriptText);
    if (!fileExists(script))
      throw new UserError(`${where('script')}: file "${scriptText}" does not exist (looked in ${script})`);
  }
  const resultsText = input('results') ?? file.results;
  const results =
    resultsText === undefined
      ? undefined
      : (typeof resultsText === 'string' ? resultsText.split(/\r?\n/) : resultsText)
          .map((r) => r.trim())
          .filter(Boolean);
  if (engine === 'results' && (results === undefined || results.length === 0)) {
    throw new UserError(
      `input "results" is required with engine "results": result files or glob patterns, one per line (k6 JSON or NDJSON, Artillery JSON)`,
    );
  }

  const distributedMode = oneOf(
    pick('distributed', file.distributed) ?? 'none',
    DISTRIBUTED_MODES,
    where('distributed'),
  );
  const expectedEngine = distributedMode.startsWith('artillery')
    ? 'artillery'
    : distributedMode === 'k6-cloud'
      ? 'k6'
      : engine;
  if (expectedEngine !== engine) {
    throw new UserError(
      `${where('distributed')}: "${distributedMode}" needs engine "${expectedEngine}", but the engine is "${engine}"`,
    );
  }
  const countText = pick('count', file.count);
  let count: number | undefined;
  if (countText !== undefined) {
    count = Number(countText);
    if (!Number.isInteger(count) || count < 1 || count > LIMITS.count) {
      throw new UserError(
        `${where('count')}: got "${countText}"; expected a whole number of load generators from 1 to ${formatCount(LIMITS.count)}`,
      );
    }
  }
  const region = pick('region', file.region);

  const shard = parseShard(input('shard'), engine);

  const phases = customPhases(file, configPath ?? DEFAULT_CONFIG_PATH);
  const phaseName = pick('phase', file.phase) ?? DEFAULTS.phase;
  // Own keys only: `__proto__`, `constructor` or `toString` are names someone may type, not table entries.
  const phase = ownValue(phases, phaseName) ?? ownValue(PRESETS as Record<string, PhaseDefinition>, phaseName);
  if (!phase) {
    const allowed = [
      ...PRESET_PHASES,
      ...Object.keys(phases).filter((p) => !(PRESET_PHASES as readonly string[]).includes(p)),
    ];
    throw new UserError(
      `${where('phase')}: got "${phaseName}"${didYouMean(phaseName, allowed)}; allowed: ${allowed.join(', ')}`,
    );
  }

  const durationText = pick('duration', file.duration);
  let durationMs: number | undefined;
  if (durationText !== undefined) {
    durationMs = parseDuration(durationText);
    if (durationMs === undefined || !Number.isFinite(durationMs) || durationMs <= 0) {
      throw new UserError(
        `${where('duration')}: got "${durationText}"; expected a positive duration such as 30s, 2m or 1h30m`,
      );
    }
    if (durationMs > LIMITS.phaseMs)
      throw new UserError(`${where('duration')}: got "${durationText}"; the longest phase allowed is 24h`);
  }

  const scaleText = pick('duration-scale', file['duration-scale']);
  let durationScale: number | undefined;
  if (scaleText !== undefined) {
    if (durationMs !== undefined) {
      throw new UserError(
        `${where('duration')} and ${where('duration-scale')} are both set ("${durationText}" and "${scaleText}"): ` +
          `"duration" sets the phase length, "duration-scale" multiplies it; set one of them`,
      );
    }
    durationScale = Number(scaleText.replace(/^x/i, ''));
    if (
      !Number.isFinite(durationScale) ||
      durationScale <= 0 ||
      scaleText.trim() === '' ||
      durationScale > LIMITS.durationScale
    ) {
      throw new UserError(
        `${where('duration-scale')}: got "${scaleText}"; expected a positive factor up to ${LIMITS.durationScale}, such as 0.0167 (an hour becomes a minute) or 2`,
      );
    }
  }

  const rateText = pick('rate', file.rate);
  let rate: number | undefined;
  if (rateText !== undefined) {
    rate = parseRate(rateText);
    if (rate === undefined || !Number.isFinite(rate) || rate <= 0) {
      throw new UserError(
        `${where('rate')}: got "${rateText}"; expected a positive arrival rate (arrivals per second) such as 50 or 100/s`,
      );
    }
    if (rate > LIMITS.rate)
      throw new UserError(
        `${where('rate')}: got "${rateText}"; the highest rate allowed is ${formatCount(LIMITS.rate)} arrivals/s`,
      );
  }

  const targetsText = input('targets');
  const targetList = targetsText ?? file.targets ?? phase.defaultTargets;
  const given =
    targetsText !== undefined
      ? parseTargets(targetsText, 'input "targets"')
      : file.targets !== undefined
        ? parseTargets(file.targets, `${configPath}: targets`)
        : parseTargets(phase.defaultTargets, `phase "${phase.name}" default targets`);
  // Errors are always judged: a list naming no error-rate bound keeps the phase's; only `error_rate: not judged` removes it.
  const errorsNotJudged = errorsOptedOut(targetList);
  const targets = errorsNotJudged ? given : withErrorBound(given, phase.defaultTargets, phase.name);

  const sources = file.sources ?? [];
  const infraProblems = infraTargetProblems(targets, sources);
  if (infraProblems.length) throw new UserError(infraProblems.join('; '));
  if (file.checks) {
    const cfgPath = configPath ?? DEFAULT_CONFIG_PATH;
    if (file.checks.reachable && !sources.some((s) => s.kind === 'postgres' || s.kind === 'redis')) {
      throw new UserError(
        `${cfgPath}: checks.reachable: got true, but sources: has no postgres or redis source to check; add one, or remove the line`,
      );
    }
    if (
      file.checks.monitoringMs !== undefined &&
      !sources.some((s) => s.kind === 'cloudwatch' || s.kind === 'prometheus')
    ) {
      throw new UserError(
        `${cfgPath}: checks.monitoring: sources: has no cloudwatch or prometheus source whose metrics could be checked; add one, or remove the line`,
      );
    }
  }

  const failOn = oneOf(pick('fail-on', file['fail-on']) ?? DEFAULTS.failOn, FAIL_ON, where('fail-on'));
  const comment = oneOf(pick('comment', file.comment) ?? DEFAULTS.comment, COMMENT_MODES, where('comment'));
  const commentHeader = pick('comment-header', file['comment-header']) ?? phase.name;
  const outputDir = pick('output-dir', file['output-dir']) ?? DEFAULTS.outputDir;

  const decideOn = oneOf(
    pick('decide-on', file['decide-on']) ?? phase.decideOn ?? 'steady',
    DECIDE_ON,
    where('decide-on'),
  );
  const guards = abortGuards(input('abort'), file.abort, phase, configPath ?? DEFAULT_CONFIG_PATH);

  // Without an `interval`, aim for about 60 points over the run, between 1 s and 10 s: a minute-long scaled phase
  // still gets a curve to find a breaking point on, and an hour-long one no more points than a chart can show.
  const shapedMs = totalDurationMs(phase.stages) * timeFactorOf(phase.stages, { durationMs, scale: durationScale });
  if (shapedMs > LIMITS.phaseMs) {
    const cause = durationScale !== undefined ? where('duration-scale') : `phase "${phase.name}"`;
    throw new UserError(
      `${cause}: the phase would run for ${formatDurationCompact(shapedMs)}; the longest phase allowed is 24h`,
    );
  }
  if (file.interval !== undefined && shapedMs / file.interval > LIMITS.intervals) {
    throw new UserError(
      `${configPath ?? DEFAULT_CONFIG_PATH}: interval: ${formatDurationCompact(file.interval)} cuts a ${formatDurationCompact(shapedMs)} phase into more than ${formatCount(LIMITS.intervals)} intervals; use a longer interval`,
    );
  }
  const autoIntervalMs = Math.min(DEFAULTS.intervalMs, Math.max(1000, Math.round(shapedMs / 60 / 1000) * 1000));

  const http = file.http ?? {};
  const configDir = dirname(resolve(options.workspace, configPath ?? DEFAULT_CONFIG_PATH));
  const flows = file.flows
    ? file.flows.map((f) => toFlow(f, configDir))
    : [{ name: 'default', weight: 1, steps: [{ kind: 'request' as const, method: 'GET', path: '' }] }];
  // An endpoint selector (`p99{bid}`) that no step of the built-in flows has is a mistake to report before any load.
  if ((engine === 'builtin' || flowsOnTool) && file.flows) {
    const selected = [
      ...targets.map((t) => ({ source: t.source, metrics: targetMetrics(t) })),
      ...guards
        .filter((g) => g.endpoint !== undefined)
        .map((g) => ({
          source: g.source,
          metrics: [selectorMetric(g.metric as EndpointMetric, { endpoint: g.endpoint! })],
        })),
    ];
    const problems = endpointSelectorProblems(selected, flows);
    if (problems.length) throw new UserError(`${configPath ?? DEFAULT_CONFIG_PATH}: ${problems.join('; ')}`);
  }

  return {
    target,
    phase,
    engine,
    targets,
    ...(errorsNotJudged ? { errorsNotJudged: true as const } : {}),
    durationMs,
    ...(durationScale !== undefined ? { durationScale } : {}),
    rate,
    decideOn,
    guards,
    failOn,
    comment,
    commentHeader,
    githubToken: input('github-token'),
    outputDir: isAbsolute(outputDir) ? outputDir : resolve(options.workspace, outputDir),
    configPath,
    flows,
    http: {
      timeoutMs: http.timeout ?? DEFAULTS.timeoutMs,
      maxInFlight: http['max-in-flight'] ?? DEFAULTS.maxInFlight,
      // 4xx are errors unless asked otherwise, as k6's http_req_failed counts them: one meaning of "error" everywhere.
      count4xxAsErrors: http['count-4xx-as-errors'] ?? true,
      traceparent: http.traceparent ?? true,
      headers: withAuthorization(http.headers ?? {}, authorization),
    },
    // Result files come from a run whose shape is not the phase's: their default stays the tools' usual 10 s.
    intervalMs: file.interval ?? (engine === 'results' ? DEFAULTS.intervalMs : autoIntervalMs),
    script,
    results,
    workspace: options.workspace,
    distributed: { mode: distributedMode, count, region },
    baseline: resolveBaselineConfig(
      {
        baseline: input('baseline'),
        environment: input('environment'),
        'regression-rules': input('regression-rules'),
        'accept-label': input('accept-label'),
        'confirm-regressions': input('confirm-regressions'),
      },
      file.baseline,
      configPath ?? DEFAULT_CONFIG_PATH,
    ),
    sources,
    ...(file.checks ? { checks: file.checks } : {}),
    // The smoke pass runs the config's own flows; the default flow (a GET of the target) is the reachability check.
    smoke: file.flows !== undefined && engine !== 'results' && (file.smoke ?? true),
    ...(shard ? { shard } : {}),
  };
}

/** GitHub's matrix runs at most 256 jobs, so no workflow can run more shards than that. */
export const MAX_SHARDS = 256;

/**
 * `2/4`: this job sends 1/4 of the phase's arrivals. Only an input (and CLI flag): it differs per matrix job, so a
 * config file shared by all of them cannot hold it.
 */
function parseShard(text: string | undefined, engine: EngineName): Config['shard'] {
  if (text === undefined) return undefined;
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > MAX_SHARDS || index < 1 || index > count) {
    throw new UserError(
      `input "shard": got "${text}"; expected INDEX/COUNT with 1 <= INDEX <= COUNT <= ${MAX_SHARDS}, such as 2/4 (the second of four matrix jobs: shard: \${{ matrix.shard }}/4)`,
    );
  }
  if (engine !== 'builtin') {
    const why =
      engine === 'results'
        ? 'the job that merges the shards runs engine "results" without "shard"'
        : `engine "${engine}" runs its own load shape; for more load generators use its distributed mode ("distributed")`;
    throw new UserError(
      `input "shard": got "${text}" with engine "${engine}"; sharded runs need engine "builtin" (${why})`,
    );
  }
  return { index, count };
}

function oneOf<T extends string>(value: string, allowed: readonly T[], where: string): T {
  const v = value.trim().toLowerCase();
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new UserError(`${where}: got "${value}"${didYouMean(v, allowed)}; allowed: ${allowed.join(', ')}`);
}

function validateUrl(text: string, where: string): string {
  // `localhost:8080/api` parses as a URL of protocol "localhost:": a host and port without a scheme is the likelier reading.
  const noScheme = !/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && /^[\w.-]+(:\d+)?(\/|$)/.test(text);
  const hint = noScheme ? ` (a URL needs its scheme: did you mean "http://${redactUrl(text)}"?)` : '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(
      `${where}: got "${redactUrl(text)}"; expected an absolute http(s) URL such as https://staging.example.com${hint}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(
      `${where}: got ${noScheme ? 'no scheme' : `protocol "${url.protocol}"`} in "${redactUrl(text)}"; allowed: http, https${hint}`,
    );
  }
  return text;
}

/**
 * `https://user:pass@host` becomes the bare URL plus a Basic Authorization header: fetch refuses URLs with
 * credentials, and a URL without them can be printed and stored as it is.
 */
function splitCredentials(text: string): { url: string; authorization?: string } {
  const url = new URL(text);
  if (!url.username && !url.password) return { url: text };
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
}

function withAuthorization(headers: Record<string, string>, authorization: string | undefined): Record<string, string> {
  if (!authorization || Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) return headers;
  return { ...headers, authorization };
}

const NO_GUARDS = /^(none|false|off|no)$/i;

/** The `abort` input wins over the config's `abort:`, which wins over the phase's default guards. */
function abortGuards(
  inputText: string | undefined,
  fileValue: string | string[] | false | undefined,
  phase: PhaseDefinition,
  path: string,
): AbortGuard[] {
  if (inputText !== undefined) return NO_GUARDS.test(inputText) ? [] : parseGuards(inputText, 'input "abort"');
  if (fileValue !== undefined) {
    if (fileValue === false || (typeof fileValue === 'string' && NO_GUARDS.test(fileValue.trim()))) return [];
    return parseGuards(fileValue, `${path}: abort`);
  }
  const defaults = parseGuards(phase.defaultGuards ?? [], `phase "${phase.name}" default guards`);
  return phase.guardsScaleWithShape ? defaults.map((g) => ({ ...g, scalesWithShape: true })) : defaults;
}
