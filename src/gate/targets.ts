// Target expressions, one per line: `p99 < 500ms`, `error_rate < 0.5%`, `throughput > 100/s`, `vus >= 500`,
// k6's `p(99)<500`, and `optional: p999 < 1s` (or a trailing `?`) for a metric that may not be measured.
import { UserError } from '../config/types.js';
import { COMPARISON_OPS, type ComparisonOp, type MetricUnit, type Target } from '../model.js';

type MetricKind = 'latency' | 'percent' | 'rate' | 'count';

/** Built-in metrics and the names people use for them. */
const METRICS: Record<string, { kind: MetricKind; aliases: string[] }> = {
  p50: { kind: 'latency', aliases: ['median', 'med', 'p(50)'] },
  p90: { kind: 'latency', aliases: ['p(90)'] },
  p95: { kind: 'latency', aliases: ['p(95)'] },
  p99: { kind: 'latency', aliases: ['p(99)'] },
  p999: { kind: 'latency', aliases: ['p99.9', 'p(99.9)'] },
  max: { kind: 'latency', aliases: [] },
  min: { kind: 'latency', aliases: [] },
  mean: { kind: 'latency', aliases: ['avg', 'average'] },
  error_rate: { kind: 'percent', aliases: ['errors_rate', 'error-rate', 'errorrate', 'http_req_failed'] },
  throughput: { kind: 'rate', aliases: ['rps', 'req_rate', 'request_rate'] },
  requests: { kind: 'count', aliases: ['reqs', 'http_reqs'] },
  errors: { kind: 'count', aliases: [] },
  vus: { kind: 'count', aliases: ['vus_max', 'concurrent_users', 'users'] },
};

const ALIAS: Map<string, string> = new Map();
for (const [name, { aliases }] of Object.entries(METRICS)) {
  ALIAS.set(name, name);
  for (const a of aliases) ALIAS.set(a, name);
}

export const BUILTIN_METRICS = Object.keys(METRICS);

const UNIT_FOR_KIND: Record<MetricKind, MetricUnit> = { latency: 'ms', percent: '%', rate: '/s', count: 'count' };

const EXPR = /^(?<metric>[A-Za-z_][\w.:{}()\-]*?)\s*(?<op><=|>=|==|!=|<|>|=)\s*(?<num>-?\d+(?:\.\d+)?)\s*(?<unit>[a-z%/]*(?:\/s)?)\s*$/i;

export function parseTarget(line: string, where = 'targets'): Target {
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
  const canonical = ALIAS.get(rawMetric) ?? ALIAS.get(rawMetric.replace(/^p\((\d+(?:\.\d+)?)\)$/, 'p$1'));
  const bad = (allowed: string): UserError =>
    new UserError(`${where}: target "${line.trim()}" has unit "${unit || '(none)'}" for ${rawMetric}; allowed: ${allowed}`);

  if (!canonical) {
    // A custom metric (k6 trend, Artillery counter, ...): keep the unit the user wrote.
    const customUnit: MetricUnit = unit === '' ? 'count' : unit === 'ms' || unit === 's' ? 'ms' : unit === '%' ? '%' : unit === '/s' ? '/s' : 'count';
    if (unit !== '' && !['ms', 's', '%', '/s'].includes(unit)) throw bad('ms, s, %, /s or none');
    return { metric: m.groups.metric!, op, value: unit === 's' ? num * 1000 : num, unit: customUnit, source: line.trim(), optional };
  }
  const kind = METRICS[canonical]!.kind;
  let value: number;
  switch (kind) {
    case 'latency':
      if (unit === '' || unit === 'ms') value = num; // k6 style: a bare number is milliseconds
      else if (unit === 's') value = num * 1000;
      else if (unit === 'm' || unit === 'min') value = num * 60_000;
      else throw bad('ms, s, m (a bare number is ms)');
      break;
    case 'percent':
      if (unit !== '%') throw bad('% (write error_rate < 0.5%)');
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
  }
  if (value < 0) throw new UserError(`${where}: target "${line.trim()}" has a negative threshold`);
  return { metric: canonical, op, value, unit: UNIT_FOR_KIND[kind], source: line.trim(), optional };
}

/** Newline- or comma-free list: one expression per line; blank lines and `#` comments are skipped. */
export function parseTargets(lines: string[] | string, where = 'targets'): Target[] {
  const list = typeof lines === 'string' ? lines.split(/\r?\n/) : lines;
  const out: Target[] = [];
  list.forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
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
  const v = t.unit === 'ms' && t.value >= 1000 && t.value % 1000 === 0 ? `${t.value / 1000} s` : `${t.value}${unitSuffix(t.unit)}`;
  return `${t.op} ${v}`;
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
