// Inputs + `.github/perf-gate.yml` -> typed Config. Everything is validated here, before any load is sent, and a
// mistake is reported as one line naming the input or config path, the value received and what is allowed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
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
  type PresetPhaseName,
  type Stage,
} from '../model.js';
import { errorsOptedOut, parseTargets, withErrorBound } from '../gate/targets.js';
import { didYouMean } from './suggest.js';
import { endpointSelectorProblems, selectorMetric, targetMetrics, type EndpointMetric } from '../gate/selectors.js';
import { PRESETS, timeFactorOf, totalDurationMs, type PhaseDefinition } from '../phases/presets.js';
import { parseGuards, type AbortGuard } from '../phases/guards.js';
import { resolveBaselineConfig } from './baseline.js';
import { configFileSchema, HTTP_METHODS, type ConfigFile, type StepInput } from './schema.js';
import type { Config } from './types.js';
import { parseDuration, parseRate } from '../units.js';
import { formatDurationCompact } from '../format.js';
import { redactSecrets, redactUrl } from '../secrets.js';
import { formatCount, LIMITS } from './limits.js';
import { UserError, messageOf } from '../errors.js';
import { infraTargetProblems } from './infra-targets.js';
import type { CaptureSpec, Expectations, Flow, FlowStep } from '../flows/steps.js';

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

export const DEFAULT_CONFIG_PATH = '.github/perf-gate.yml';
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

function loadConfigFile(
  given: string | undefined,
  workspace: string,
  readFile: (p: string) => string,
  fileExists: (p: string) => boolean,
): { file: ConfigFile; path?: string } {
  const rel = given ?? DEFAULT_CONFIG_PATH;
  const full = isAbsolute(rel) ? rel : resolve(workspace, rel);
  if (!fileExists(full)) {
    // The default path is optional; a path the user named must exist.
    if (given === undefined) return { file: {} };
    throw new UserError(`input "config": file "${given}" does not exist (looked in ${full})`);
  }
  let text: string;
  try {
    const size = statSize(full);
    if (size !== undefined && size > LIMITS.configBytes) {
      throw new UserError(
        `input "config": "${rel}" is ${formatCount(size)} bytes; the largest config file allowed is ${formatCount(LIMITS.configBytes)} bytes (1 MiB)`,
      );
    }
    text = readFile(full);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`input "config": cannot read "${rel}": ${messageOf(e)}`);
  }
  // A reader given in tests may bypass the size check above; the text is checked too.
  if (text.length > LIMITS.configBytes) {
    throw new UserError(
      `input "config": "${rel}" is ${formatCount(text.length)} characters; the largest config file allowed is ${formatCount(LIMITS.configBytes)} bytes (1 MiB)`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    const detail = e instanceof YAMLParseError ? `${e.message.split('\n')[0]}${yamlSnippet(text, e)}` : String(e);
    throw new UserError(`${rel}: not valid YAML: ${detail}`);
  }
  if (data === null || data === undefined) return { file: {}, path: rel };
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(
      `${rel}: expected a mapping of settings (target, phase, flows, ...), got ${Array.isArray(data) ? 'a list' : typeof data}`,
    );
  }
  const parsed = configFileSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new UserError(formatIssue(rel, parsed.error.issues, configFileSchema));
  return { file: parsed.data, path: rel };
}

/** The offending line of a YAML file, with the line before it and a caret under the column. */
export function yamlSnippet(text: string, e: YAMLParseError): string {
  const at = e.linePos?.[0];
  if (!at) return '';
  const lines = text.split(/\r?\n/);
  const shown: string[] = [];
  const width = String(at.line).length;
  for (let n = Math.max(1, at.line - 1); n <= at.line; n++)
    shown.push(`  ${String(n).padStart(width)} | ${redactSecrets(lines[n - 1] ?? '')}`);
  shown.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, at.col - 1))}^`);
  return `\n${shown.join('\n')}`;
}

/** Names the deepest useful path, the value received and what is allowed. */
function formatIssue(file: string, issues: z.core.$ZodIssue[], schema?: z.ZodType): string {
  const issue = pickIssue(issues);
  const path = formatPath(issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const allowed = schema ? keysAt(schema, issue.path) : [];
    const hints = issue.keys.map((k) => `"${k}"${didYouMean(k, allowed)}`);
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${hints.join(', ')}${allowed.length ? `; allowed here: ${allowed.join(', ')}` : ''}`;
  } else if (issue.code === 'invalid_value' && typeof issue.input === 'string' && issue.values.length > 1) {
    const values = issue.values.map(String);
    message = `allowed: ${values.join(', ')}${didYouMean(issue.input, values)}`;
  }
  const got =
    'input' in issue && issue.input !== undefined && issue.code !== 'unrecognized_keys'
      ? `got ${show(issue.input)}; `
      : '';
  return `${file}: ${path || '(top level)'}: ${got}${message}`;
}

function pickIssue(issues: z.core.$ZodIssue[]): z.core.$ZodIssue {
  // A union reports one branch per alternative; the branch that got deepest says the most about the mistake.
  const custom = issues.find((i) => i.code === 'custom');
  if (custom) return custom;
  let best = issues[0]!;
  let bestDepth = -1;
  const visit = (list: z.core.$ZodIssue[], prefix: PropertyKey[]): void => {
    for (const i of list) {
      const full = { ...i, path: [...prefix, ...i.path] } as z.core.$ZodIssue;
      if (i.code === 'invalid_union' && i.errors.length) {
        for (const branch of i.errors) visit(branch, full.path);
        continue;
      }
      const depth = full.path.length + (i.code === 'invalid_type' ? 0 : 0.5);
      if (depth > bestDepth) {
        best = full;
        bestDepth = depth;
      }
    }
  };
  visit(issues, []);
  return best;
}

/** The keys an object in the schema may have at `path` (every alternative of a union), for "did you mean". */
export function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  const out = new Set<string>();
  const visit = (t: z.core.$ZodType | undefined, rest: PropertyKey[]): void => {
    if (!t) return;
    const def = t._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'readonly':
      case 'catch':
      case 'prefault':
      case 'nonoptional':
        return visit(def.innerType as z.core.$ZodType, rest);
      case 'pipe':
        return visit(def.in as z.core.$ZodType, rest);
      case 'union':
        for (const o of def.options as z.core.$ZodType[]) visit(o, rest);
        return;
      case 'array':
        return visit(def.element as z.core.$ZodType, typeof rest[0] === 'number' ? rest.slice(1) : rest);
      case 'record':
        return visit(def.valueType as z.core.$ZodType, rest.slice(1));
      case 'object': {
        const shape = def.shape as Record<string, z.core.$ZodType>;
        if (rest.length === 0) for (const k of Object.keys(shape)) out.add(k);
        else visit(Object.hasOwn(shape, String(rest[0])) ? shape[String(rest[0])] : undefined, rest.slice(1));
        return;
      }
    }
  };
  visit(schema, path);
  return [...out];
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

function show(v: unknown): string {
  // A value echoed back may be a URL with a password in it, wherever in the config it was.
  const s = redactSecrets(typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
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

/** `table[key]` only when the table itself has the key: never a prototype's `constructor` or `toString`. */
export function ownValue<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function statSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

function customPhases(file: ConfigFile, path: string): Record<string, PhaseDefinition> {
  const out: Record<string, PhaseDefinition> = Object.create(null) as Record<string, PhaseDefinition>;
  for (const [name, def] of Object.entries(file.phases ?? {})) {
    const stages: Stage[] = def.stages.map((s) =>
      'rate' in s
        ? { durationMs: s.duration, startRate: s.rate, endRate: s.rate, name: s.name }
        : { durationMs: s.duration, startRate: s.from, endRate: s.to, name: s.name },
    );
    const preset = ownValue(PRESETS as Record<string, PhaseDefinition>, name);
    const targets =
      def.targets === undefined
        ? undefined
        : typeof def.targets === 'string'
          ? def.targets.split(/\r?\n/)
          : def.targets;
    if (targets) parseTargets(targets, `${path}: phases.${name}.targets`);
    const phase: PhaseDefinition = {
      name,
      stages,
      description: def.description ?? preset?.description ?? `custom phase from ${path}`,
      defaultTargets: targets ?? preset?.defaultTargets ?? PRESETS.sustained.defaultTargets,
    };
    // A phase that overrides a preset's stages keeps what the preset is for, unless it says otherwise.
    const decideOn = def['decide-on'] ?? preset?.decideOn;
    if (decideOn) phase.decideOn = decideOn;
    const analyses = def.analyze ?? preset?.analyses;
    if (analyses) phase.analyses = analyses;
    if (def.abort !== undefined) {
      const list = def.abort === false ? [] : def.abort;
      parseGuards(list, `${path}: phases.${name}.abort`);
      phase.defaultGuards = typeof list === 'string' ? list.split(/\r?\n/) : list;
    } else if (preset?.defaultGuards) {
      phase.defaultGuards = preset.defaultGuards;
      phase.guardsScaleWithShape = preset.guardsScaleWithShape;
    }
    out[name] = phase;
  }
  return out;
}

function toFlow(f: NonNullable<ConfigFile['flows']>[number], configDir: string): Flow {
  const flow: Flow = { name: f.name, weight: f.weight ?? 1, steps: f.steps.map(toStep) };
  if (f.data !== undefined) {
    // Relative to the config file, like a path in any other file that names its neighbours.
    const source = typeof f.data === 'string' ? f.data : f.data.file;
    const order = typeof f.data === 'string' ? 'sequential' : (f.data.order ?? 'sequential');
    flow.data = { file: isAbsolute(source) ? source : resolve(configDir, source), source, order };
  }
  return flow;
}

function toStep(s: StepInput): Flow['steps'][number] {
  if ('think' in s) return { kind: 'think', ms: s.think };
  if ('request' in s)
    return { kind: 'request', ...requestOf(s.request.method.toUpperCase(), s.request.path, s.request) };
  for (const m of HTTP_METHODS) {
    const path = (s as Record<string, unknown>)[m];
    if (typeof path === 'string') return { kind: 'request', ...requestOf(m.toUpperCase(), path, s as RequestExtras) };
  }
  throw new Error('unreachable: schema admits only think, request or a method');
}

type StepExtras = Extract<StepInput, { request: unknown }>['request'];
type RequestExtras = Partial<Pick<StepExtras, 'name' | 'headers' | 'json' | 'body' | 'capture' | 'expect'>>;

function requestOf(method: string, path: string, extra: RequestExtras): Omit<FlowStep, 'kind'> {
  const step: Omit<FlowStep, 'kind'> = { method, path };
  if (extra.name !== undefined) step.name = extra.name;
  if (extra.headers !== undefined) step.headers = extra.headers;
  if (extra.json !== undefined) step.json = extra.json;
  if (extra.body !== undefined) step.body = extra.body;
  if (extra.capture !== undefined) {
    const capture: Record<string, CaptureSpec> = {};
    for (const [name, spec] of Object.entries(extra.capture)) {
      capture[name] =
        typeof spec === 'string'
          ? { kind: 'json', path: spec }
          : 'header' in spec
            ? { kind: 'header', name: spec.header.toLowerCase() }
            : { kind: 'regex', pattern: spec.regex };
    }
    step.capture = capture;
  }
  if (extra.expect !== undefined) {
    const e = extra.expect;
    const expect: Expectations = {};
    if (e.status !== undefined) expect.status = Array.isArray(e.status) ? e.status : [e.status];
    if (e.json !== undefined)
      expect.json = Object.entries(e.json).map(([path, value]) =>
        value === 'exists' ? { path, exists: true as const } : { path, value },
      );
    if (e.contains !== undefined) expect.contains = Array.isArray(e.contains) ? e.contains : [e.contains];
    if (e.header !== undefined) {
      expect.header = Object.entries(e.header).map(([name, value]) =>
        value === 'exists' ? { name: name.toLowerCase(), exists: true as const } : { name: name.toLowerCase(), value },
      );
    }
    step.expect = expect;
  }
  return step;
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
