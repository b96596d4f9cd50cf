// Target expressions, one per line: `p99 < 500ms`, `error_rate < 0.5%`, `throughput > 100/s`, `vus >= 500`,
// k6's `p(99)<500`, and `optional: p999 < 1s` (or a trailing `?`) for a metric that may not be measured.
// Infrastructure metrics from the configured sources: `cpu < 80%`, `max(cpu) < 80%`, `mean(memory) < 70%`,
// `db_connections < 80% of max`, `alb_5xx == 0`, or any source metric by its configured name. The Target model
// has no room for a statistic or a limit, so they travel in `metric`: `mean(memory)`, `db_connections%max`.
//
// Per-endpoint targets put a selector after the metric: `p99{bid} < 500ms`, `responses{bid, 201} >= 1000` (see
// selectors.ts). A right-hand side may be a metric, times an optional factor: `bids_stored == responses{bid, 201}`,
// `bids_stored >= requests{bid} * 0.99`.
import { COMPARISON_OPS, type ComparisonOp, type MetricUnit, type Target } from '../model.js';
import { isEndpointMetric, parseSelectorBody, selectorMetric, type EndpointMetric } from './selectors.js';
import { UserError } from '../errors.js';
import {
  builtinMetric,
  METRIC_CATALOGUE,
  metricBySpelling,
  UNIT_OF_KIND,
  type MetricDefinition,
  type MetricKind,
} from '../metrics/catalogue.js';

/** Infrastructure metrics with well-known names (the presets' default names) and the kind of value they hold. */
export const INFRA_METRICS: Record<string, MetricKind> = {
  cpu: 'percent',
  memory: 'percent',
  rds_cpu: 'percent',
  db_connections: 'count',
  alb_5xx: 'count',
  alb_requests: 'rate',
  alb_target_p99: 'latency',
  // The guide's scalability verification (docs/checks.md): instance counts, the load balance, statement slowdown.
  tasks: 'count',
  healthy_hosts: 'count',
  unhealthy_hosts: 'count',
  instances: 'count',
  balance: 'count',
  statement_slowdown: 'count',
};

/** Statistics over the run window a target can pick; infrastructure targets without one use `max`. */
export const INFRA_STATS = ['min', 'mean', 'p95', 'max', 'last'] as const;
export type InfraStat = (typeof INFRA_STATS)[number];
export const DEFAULT_INFRA_STAT: InfraStat = 'max';
/** Suffix of a `% of max` target's metric: `db_connections%max`. */
export const OF_MAX_SUFFIX = '%max';

/** Own keys only: a metric called `constructor` must not find Object.prototype's. */
export function isInfraName(name: string): boolean {
  return Object.hasOwn(INFRA_METRICS, name.toLowerCase());
}

const STAT_ALIAS: Record<string, InfraStat> = {
  min: 'min',
  mean: 'mean',
  avg: 'mean',
  average: 'mean',
  p95: 'p95',
  max: 'max',
  last: 'last',
};
const STAT_CALL = /^(?<stat>[a-z0-9]+)\((?<name>[a-z_][\w.-]*)\)$/i;
const OF_MAX = /\s+of\s+max\s*$/i;

const EXPR =
  /^(?<metric>[A-Za-z_][\w.:{}()-]*?)\s*(?<op><=|>=|==|!=|<|>|=)\s*(?<num>-?\d+(?:\.\d+)?)\s*(?<unit>[a-z%/]*(?:\/s)?)\s*$/i;

// `p99 < 500ms warn 400ms`: a warning level after the target, in the same units, on the passing side of it.
const WARN = /\s+warn\s+(?<level>.+?)\s*(?<optional>\?)?$/i;

export function parseTarget(line: string, where = 'targets'): Target {
  const written = line.trim();
  commonSlips(written, where);
  const w = WARN.exec(written);
  // " warn " inside an endpoint selector (`p99{GET /a warn b} < 1s`) is part of the label, not a warning level.
  const before = w ? written.slice(0, w.index) : '';
  if (!w?.groups || before.split('{').length !== before.split('}').length) return parseLevel(written, where);
  const main = written.slice(0, w.index) + (w.groups.optional ?? '');
  const target = parseLevel(main, where);
  const level = w.groups.level!;
  if (target.rhsMetric || target.op === '==' || target.op === '!=') {
    throw new UserError(
      `${where}: target "${written}" cannot have a warning level: "warn" goes with <, <=, > or >= and a number, e.g. "p99 < 500ms warn 400ms"`,
    );
  }
  // The level is read as the same target with that threshold, so it takes the same units (and "% of max").
  const split = splitAtOperator(main.replace(/^optional\s*:\s*/i, '').replace(/\?$/, ''))!;
  const ofMax = OF_MAX.test(split.right) && !OF_MAX.test(level) ? ' of max' : '';
  let warn: number;
  try {
    warn = parseLevel(`${split.left} ${target.op} ${level}${ofMax}`, where).value;
  } catch {
    throw new UserError(
      `${where}: target "${written}": cannot read the warning level "${level}": write it like the threshold, e.g. "p99 < 500ms warn 400ms"`,
    );
  }
  const below = target.op === '<' || target.op === '<=';
  if (below ? warn >= target.value : warn <= target.value) {
    throw new UserError(
      `${where}: target "${written}": the warning level must be ${below ? 'below' : 'above'} the threshold, so it warns before the target fails (e.g. "${split.left} ${target.op} ${split.right} warn ${below ? 'a smaller value' : 'a larger value'}")`,
    );
  }
  return { ...target, warn, source: written };
}

function parseLevel(line: string, where: string): Target {
  let text = line.trim();
  let optional = false;
  if (/^optional\s*:/i.test(text)) {
    optional = true;
    text = text.replace(/^optional\s*:\s*/i, '');
  }
  if (text.endsWith('?')) {
    optional = true;
    text = text.slice(0, -1).trim();
  }
  let ofMax = false;
  if (OF_MAX.test(text)) {
    ofMax = true;
    text = text.replace(OF_MAX, '');
  }
  // Selectors and metric right-hand sides need more than one regular expression can say; plain targets keep to EXPR.
  const split = splitAtOperator(text);
  if (split && !ofMax && (split.left.includes('{') || !NUMBER_SIDE.test(split.right))) {
    return parseExtended(line.trim(), where, split, optional);
  }
  const m = EXPR.exec(text);
  if (!m?.groups) {
    throw new UserError(
      `${where}: cannot read target "${line.trim()}": expected "<metric> <op> <value><unit>", ` +
        `for example "p99 < 500ms", "error_rate < 0.5%", "throughput > 100/s", "p(95)<300"`,
    );
  }
  const rawMetric = m.groups.metric!.toLowerCase();
  const op = (m.groups.op === '=' ? '==' : m.groups.op) as ComparisonOp;
  if (!COMPARISON_OPS.includes(op)) throw new UserError(`${where}: unknown operator in "${line.trim()}"`);
  const num = Number(m.groups.num);
  const unit = m.groups.unit!.toLowerCase();
  const canonical = metricBySpelling(rawMetric)?.name;
  const bad = (allowed: string): UserError =>
    new UserError(
      `${where}: target "${line.trim()}" has unit "${unit || '(none)'}" for ${rawMetric}; allowed: ${allowed}`,
    );

  const call = STAT_CALL.exec(rawMetric);
  if (call?.groups || ofMax || isInfraName(rawMetric)) {
    return parseInfraTarget({
      line: line.trim(),
      where,
      rawMetric,
      written: m.groups.metric!,
      call: call?.groups,
      ofMax,
      op,
      num,
      unit,
      optional,
    });
  }

  if (!canonical) {
    // A custom metric (k6 trend, Artillery counter, ...): keep the unit the user wrote.
    const customUnit: MetricUnit =
      unit === ''
        ? 'count'
        : unit === 'ms' || unit === 's'
          ? 'ms'
          : unit === '%'
            ? '%'
            : unit === '/s'
              ? '/s'
              : 'count';
    if (unit !== '' && !['ms', 's', '%', '/s'].includes(unit)) throw bad('ms, s, %, /s or none');
    return {
      metric: m.groups.metric!,
      op,
      value: unit === 's' ? num * 1000 : num,
      unit: customUnit,
      source: line.trim(),
      optional,
    };
  }
  const kind = builtinMetric(canonical)!.kind;
  let value: number;
  switch (kind) {
    case 'latency':
      if (unit === '' || unit === 'ms')
        value = num; // k6 style: a bare number is milliseconds
      else if (unit === 's') value = num * 1000;
      else if (unit === 'm' || unit === 'min') value = num * 60_000;
      else throw bad('ms, s, m (a bare number is ms)');
      break;
    case 'percent':
      // Zero is zero in any unit: `error_rate{payment} == 0` needs no `%`.
      if (unit !== '%' && !(unit === '' && num === 0)) throw bad('% (write error_rate < 0.5%)');
      value = num;
      break;
    case 'rate':
      if (unit === '' || unit === '/s' || unit === 'rps' || unit === 'req/s') value = num;
      else if (unit === '/m' || unit === '/min') value = num / 60;
      else throw bad('/s, rps, /m');
      break;
    case 'count':
      if (unit !== '') throw bad('a plain number');
      value = num;
      break;
    case 'duration':
      if (unit === '' || unit === 's') value = num * 1000;
      else if (unit === 'ms') value = num;
      else if (unit === 'm' || unit === 'min') value = num * 60_000;
      else if (unit === 'h') value = num * 3_600_000;
      else throw bad('s, m, h, ms (a bare number is seconds)');
      break;
  }
  if (value < 0) throw new UserError(`${where}: target "${line.trim()}" has a negative threshold`);
  return { metric: canonical, op, value, unit: UNIT_OF_KIND[kind], source: line.trim(), optional };
}

const NUMBER_SIDE = /^-?\d+(?:\.\d+)?\s*[a-z%/]*(?:\/s)?\s*$/i;
const OPERATORS = ['<=', '>=', '==', '!=', '<', '>', '='] as const;

/** The first comparison operator outside braces and parentheses: endpoint labels may hold anything else. */
function splitAtOperator(text: string): { left: string; op: ComparisonOp; right: string } | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '{' || c === '(') depth++;
    else if (c === '}' || c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (c === '<' || c === '>' || c === '=' || c === '!')) {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (!op) return undefined;
      return {
        left: text.slice(0, i).trim(),
        op: (op === '=' ? '==' : op) as ComparisonOp,
        right: text.slice(i + op.length).trim(),
      };
    }
  }
  return undefined;
}

/** A metric as a target names it: canonical name (selector included) and the unit its values are in. */
export interface MetricRef {
  metric: string;
  unit: MetricUnit;
  /** The endpoint metric and selector, for `p99{bid}`. */
  base?: EndpointMetric;
  endpoint?: string;
  status?: string;
}

const K6_TREND = /^http_req_duration(?:\.(?<stat1>[\w().]+))?\{(?<body>.*)\}(?:\.(?<stat2>[\w().]+))?$/s;
const K6_STAT: Record<string, EndpointMetric> = { avg: 'mean', med: 'p50', min: 'min', max: 'max' };

/**
 * Reads one side of a target as a metric: `p99{bid}`, k6's `http_req_duration{name:bid}.p95`, `error_rate`,
 * `max(cpu)`, a source or tool metric by its name.
 */
export function parseMetricRef(written: string, where: string, line: string): MetricRef {
  const text = written.trim();
  if (text === '') throw new UserError(`${where}: target "${line}" has no metric on one side of its operator`);
  const k6 = K6_TREND.exec(text)?.groups;
  if (k6) {
    const statText = (k6.stat1 ?? k6.stat2)?.toLowerCase();
    if (!statText) {
      throw new UserError(
        `${where}: target "${line}": k6's http_req_duration needs a statistic here; write e.g. "p95{name:${k6.body!.replace(/^name\s*:\s*/, '')}} < 500ms" or "http_req_duration{${k6.body}}.p95 < 500ms"`,
      );
    }
    const stat = K6_STAT[statText] ?? metricBySpelling(statText)?.name;
    if (!stat || !isEndpointMetric(stat) || builtinMetric(stat)!.kind !== 'latency') {
      throw new UserError(
        `${where}: target "${line}": "${statText}" is not a latency statistic; allowed: p50, p90, p95, p99, p999, min, max, mean (avg), med`,
      );
    }
    return selectorRef(stat, k6.body!, where, line);
  }
  const open = text.indexOf('{');
  if (open > 0 && text.endsWith('}')) {
    const rawBase = text.slice(0, open).trim().toLowerCase();
    const base = metricBySpelling(rawBase)?.name;
    if (base && isEndpointMetric(base)) return selectorRef(base, text.slice(open + 1, -1), where, line);
    if (base) {
      throw new UserError(
        `${where}: target "${line}": ${base} has no per-endpoint figure; an endpoint selector goes with ${['p50', 'p90', 'p95', 'p99', 'p999', 'max', 'min', 'mean', 'error_rate', 'requests', 'errors', 'responses'].join(', ')}`,
      );
    }
    // Anything else with braces is a tool's own metric by its full name (k6 `checks{check:status is 200}`).
    return { metric: text, unit: 'count' };
  }
  const lower = text.toLowerCase();
  const canonical = metricBySpelling(lower)?.name;
  if (canonical) return { metric: canonical, unit: UNIT_OF_KIND[builtinMetric(canonical)!.kind] };
  const call = STAT_CALL.exec(text);
  if (call?.groups) {
    const key = call.groups.stat!.toLowerCase();
    const stat = Object.hasOwn(STAT_ALIAS, key) ? STAT_ALIAS[key] : undefined;
    if (!stat)
      throw new UserError(
        `${where}: target "${line}" uses statistic "${call.groups.stat}"; allowed: ${INFRA_STATS.join(', ')} (and avg)`,
      );
    const name = call.groups.name!;
    const known = isInfraName(name) ? name.toLowerCase() : name;
    return { metric: `${stat}(${known})`, unit: infraUnit(known) };
  }
  if (isInfraName(lower)) return { metric: lower, unit: infraUnit(lower) };
  if (!/^[A-Za-z_][\w.:-]*$/.test(text)) {
    throw new UserError(
      `${where}: target "${line}": "${text}" is not a metric name (letters, digits, _ . : -, an optional {endpoint} selector)`,
    );
  }
  return { metric: text, unit: 'count' };
}

function infraUnit(name: string): MetricUnit {
  const kind = isInfraName(name) ? INFRA_METRICS[name.toLowerCase()]! : undefined;
  return kind ? UNIT_OF_KIND[kind] : 'count';
}

function selectorRef(base: EndpointMetric, body: string, where: string, line: string): MetricRef {
  const sel = parseSelectorBody(body);
  if (!sel)
    throw new UserError(
      `${where}: target "${line}" has an empty endpoint selector; write e.g. "${base}{bid}" or "${base}{POST /api/bids}"`,
    );
  if (sel.status && base !== 'responses') {
    throw new UserError(
      `${where}: target "${line}": a status in the selector goes with responses only, as in "responses{${sel.endpoint}, ${sel.status}} >= 1000"`,
    );
  }
  return {
    metric: selectorMetric(base, sel),
    unit: UNIT_OF_KIND[builtinMetric(base)!.kind],
    base,
    endpoint: sel.endpoint,
    ...(sel.status ? { status: sel.status } : {}),
  };
}

const FACTOR = /^(?<ref>.*?)\s*\*\s*(?<factor>\d+(?:\.\d+)?)\s*$/s;

/** A target with an endpoint selector, or with a metric on its right-hand side. */
function parseExtended(
  line: string,
  where: string,
  split: { left: string; op: ComparisonOp; right: string },
  optional: boolean,
): Target {
  const left = parseMetricRef(split.left, where, line);
  const selectorFields = {
    ...(left.endpoint !== undefined ? { endpoint: left.endpoint } : {}),
    ...(left.status !== undefined ? { status: left.status } : {}),
  };
  if (NUMBER_SIDE.test(split.right)) {
    // A threshold: the base metric's units apply (`p99{bid} < 0.5s`, `error_rate{payment} == 0%`).
    // A tool metric with braces in its name goes through the custom-metric rules under a stand-in name.
    const base = left.base ?? (left.metric.includes('{') ? 'custom_metric' : left.metric);
    const probe = `${base} ${split.op} ${split.right}`;
    let plain: Target;
    try {
      plain = parseTarget(probe, where);
    } catch (e) {
      if (e instanceof UserError)
        throw new UserError(
          e.message
            .split(`"${probe}"`)
            .join(`"${line}"`)
            .replace(/ for custom_metric;/, ` for ${left.metric};`),
        );
      throw e;
    }
    return { ...plain, metric: left.metric, source: line, optional, ...selectorFields };
  }
  const f = FACTOR.exec(split.right)?.groups;
  const rightText = f ? f.ref! : split.right;
  // A plain word that names no metric perf-gate knows is far more likely a mistyped threshold (`p99 < fast`) than a
  // tool metric: a right-hand side names a built-in or source metric, or a tool's metric with a `_`, `.` or selector.
  if (
    /^[a-z]+$/i.test(rightText.trim()) &&
    !metricBySpelling(rightText.trim().toLowerCase()) &&
    !isInfraName(rightText.trim())
  ) {
    throw new UserError(
      `${where}: cannot read target "${line}": expected "<metric> <op> <value><unit>" or "<metric> <op> <metric> [* factor]", ` +
        `for example "p99 < 500ms", "error_rate{payment} == 0", "bids_stored >= requests{bid} * 0.99"`,
    );
  }
  const factor = f ? Number(f.factor) : 1;
  if (!(factor > 0) || !Number.isFinite(factor))
    throw new UserError(`${where}: target "${line}" has a factor that is not a positive number`);
  const right = parseMetricRef(rightText, where, line);
  if (right.metric === left.metric)
    throw new UserError(`${where}: target "${line}" compares ${left.metric} with itself`);
  const unit = left.unit !== 'count' || right.unit === 'count' ? left.unit : right.unit;
  return {
    metric: left.metric,
    op: split.op,
    value: 0,
    unit,
    source: line,
    optional,
    ...selectorFields,
    rhsMetric: { metric: right.metric, factor, label: split.right.replace(/\s+/g, ' ') },
  };
}

interface InfraParts {
  line: string;
  where: string;
  rawMetric: string;
  written: string;
  call?: Record<string, string>;
  ofMax: boolean;
  op: ComparisonOp;
  num: number;
  unit: string;
  optional: boolean;
}

function parseInfraTarget(p: InfraParts): Target {
  const { line, where, op, num, unit, optional } = p;
  let name = p.rawMetric;
  let stat: InfraStat | undefined;
  if (p.call) {
    const key = p.call.stat!.toLowerCase();
    stat = Object.hasOwn(STAT_ALIAS, key) ? STAT_ALIAS[key] : undefined;
    if (!stat) {
      throw new UserError(
        `${where}: target "${line}" uses statistic "${p.call.stat}"; allowed: ${INFRA_STATS.join(', ')} (and avg)`,
      );
    }
    name = p.call.name!.toLowerCase();
  } else if (!isInfraName(name)) {
    // A configured source metric keeps the spelling it was given, as custom metrics do.
    name = p.written;
  }
  const base = stat ? `${stat}(${name})` : name;
  if (num < 0) throw new UserError(`${where}: target "${line}" has a negative threshold`);
  const bad = (allowed: string): UserError =>
    new UserError(`${where}: target "${line}" has unit "${unit || '(none)'}" for ${name}; allowed: ${allowed}`);

  if (p.ofMax) {
    if (unit !== '%') throw bad('% (write db_connections < 80% of max)');
    return { metric: `${base}${OF_MAX_SUFFIX}`, op, value: num, unit: '%', source: line, optional };
  }
  const kind = isInfraName(name) ? INFRA_METRICS[name.toLowerCase()] : undefined;
  let value = num;
  let targetUnit: MetricUnit = 'count';
  switch (kind) {
    case 'percent':
      if (unit !== '%') throw bad(`% (write ${base} < 80%)`);
      targetUnit = '%';
      break;
    case 'count':
      if (unit === '%') throw bad(`a plain number, or "% of max" (write ${base} < 80% of max)`);
      if (unit !== '') throw bad('a plain number');
      targetUnit = 'count';
      break;
    case 'rate':
      if (unit === '/m' || unit === '/min') value = num / 60;
      else if (!['', '/s', 'rps', 'req/s'].includes(unit)) throw bad('/s, rps, /m');
      targetUnit = '/s';
      break;
    case 'latency':
      if (unit === 's') value = num * 1000;
      else if (unit !== '' && unit !== 'ms') throw bad('ms, s (a bare number is ms)');
      targetUnit = 'ms';
      break;
    case undefined:
      // A configured source metric: the unit is whatever the user wrote, as for custom metrics.
      if (unit !== '' && !['ms', 's', '%', '/s'].includes(unit)) throw bad('ms, s, %, /s or none');
      targetUnit = unit === '' ? 'count' : unit === 's' ? 'ms' : (unit as MetricUnit);
      if (unit === 's') value = num * 1000;
      break;
  }
  return { metric: base, op, value, unit: targetUnit, source: line, optional };
}

/**
 * The one line that removes a phase's error-rate bound (`error_rate: not judged`): an explicit opt-out, visible in
 * the config and said in the report. Nothing else does: a target list without an error-rate bound keeps the phase's.
 */
export const ERRORS_NOT_JUDGED = /^error[_ -]?rate\s*:\s*not\s+judged$/i;

/** The lines of a target list, `#` comments and surrounding blanks removed. */
export function targetLines(lines: string[] | string): string[] {
  return (typeof lines === 'string' ? lines.split(/\r?\n/) : lines).map((raw) => raw.replace(/\s+#.*$/, '').trim());
}

/**
 * The mistakes people make writing targets, named before the grammar would call them something else: a list split
 * by commas reads as one target whose metric is "500ms, p95", and `=<` as the operator `=` and a metric "< 500ms".
 */
function commonSlips(text: string, where: string): void {
  const flip = /(=<|=>)/.exec(text);
  if (flip) {
    const right = flip[1] === '=<' ? '<=' : '>=';
    throw new UserError(
      `${where}: target "${text}": "${flip[1]}" is not an operator; write "${right}" (did you mean "${text.replace(flip[1]!, right)}"?); allowed: <, <=, >, >=, ==, !=`,
    );
  }
  // Commas outside a selector's braces: `p99{bid, 201}` is one target, `p99<500ms, p95<300ms` two.
  let depth = 0;
  let ops = 0;
  let comma = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '{' || c === '(') depth++;
    else if (c === '}' || c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && c === ',') comma = true;
    else if (depth === 0 && (c === '<' || c === '>' || c === '=' || c === '!') && !'<>=!'.includes(text[i - 1] ?? ''))
      ops++;
  }
  if (comma && ops > 1) {
    const parts = text.split(/\s*,\s*(?![^{(]*[})])/).filter((p) => p !== '');
    throw new UserError(
      `${where}: "${text}" looks like ${parts.length} targets separated by commas; give one target per line, or ";" between them (did you mean "${parts.join('; ')}"?)`,
    );
  }
}

/** The built-in metric names and their aliases, for "did you mean" on a metric that is none of them. */
export function knownMetricNames(): string[] {
  return [
    ...(METRIC_CATALOGUE as readonly MetricDefinition[]).flatMap((m) => [m.name, ...m.aliases]),
    ...Object.keys(INFRA_METRICS),
  ];
}

/** Newline- or comma-free list: one expression per line; blank lines and `#` comments are skipped. */
export function parseTargets(lines: string[] | string, where = 'targets'): Target[] {
  const list = targetLines(lines);
  const out: Target[] = [];
  list.forEach((line, i) => {
    if (line === '' || line.startsWith('#') || ERRORS_NOT_JUDGED.test(line)) return;
    out.push(parseTarget(line, list.length > 1 ? `${where}[${i}]` : where));
  });
  return out;
}

export function compare(actual: number, op: ComparisonOp, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

/** `p99 < 500 ms`, in the unit the metric is shown in. */
export function describeTarget(t: Target): string {
  if (t.rhsMetric) return `${t.op} ${t.rhsMetric.label}`;
  const v =
    t.unit === 'ms' && t.value >= 1000 && t.value % 1000 === 0
      ? `${t.value / 1000} s`
      : `${t.value}${unitSuffix(t.unit)}`;
  return `${t.op} ${v}${t.metric.endsWith(OF_MAX_SUFFIX) ? ' of max' : ''}`;
}

function unitSuffix(unit: MetricUnit): string {
  switch (unit) {
    case 'ms':
      return ' ms';
    case '%':
      return ' %';
    case '/s':
      return '/s';
    case 'count':
      return '';
  }
}
