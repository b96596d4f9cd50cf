// Hover text for every key of `.github/perf-gate.yml`, by path, for the JSON Schema generated from the zod schema
// (src/config/json-schema.ts). Paths name object keys only: list items are transparent (`flows.steps.get`), a
// record's entries are `*` (`phases.*.stages`), and a source's keys go under its kind (`sources.redis.url-env`).
// The schema test fails on a key without a description and on a description whose key no longer exists.

const DURATION = 'A duration such as 500ms, 30s, 2m or 1h (a bare number is seconds).';

const REQUEST_FIELDS: Record<string, string> = {
  name: 'Endpoint name of this request in the report and in selectors such as p99{bid}; default "METHOD /path" as written.',
  headers:
    'Request headers; values may hold {{ templates }}. Framing headers (content-length, transfer-encoding, ...) are refused.',
  json: 'A JSON body (sent with content-type: application/json); strings may hold {{ templates }}.',
  body: 'A text body, sent as written; may hold {{ templates }}.',
  capture:
    'Values taken from the response for later steps of the same arrival, by template name: a JSONPath ($.token), { header: name } or { regex: "id=(\\\\d+)" } (its first group). Nothing found is a failed check.',
  expect:
    'Checks on the response; one that fails makes the request an error of kind "check" and ends this arrival\'s flow.',
  'expect.status': 'Accepted status code or list of codes (e.g. 201 or [200, 201]); a 4xx listed here is not an error.',
  'expect.json': 'JSONPath -> expected value (compared as JSON), or the word exists.',
  'expect.contains': 'Text, or a list of texts, the body must contain.',
  'expect.header': 'Header name -> exact value, or the word exists.',
};

const prefixed = (prefix: string, table: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(table).map(([k, v]) => [`${prefix}.${k}`, v]));

const METHOD_STEP = (m: string) =>
  `Sends ${m.toUpperCase()} to this path (relative to target; may hold {{ templates }}).`;

const awsRetry = {
  timeout: 'Per request to AWS (default 15s). ' + DURATION,
  retries: 'Retries of a throttled or failed request, with backoff (default 4).',
  'retry-delay': 'First backoff between retries, doubled each time (default 1s). ' + DURATION,
  region: 'AWS region; default AWS_REGION (configure-aws-credentials sets it).',
  endpoint: 'Endpoint URL override, e.g. a VPC endpoint.',
};

export const CONFIG_DESCRIPTIONS: Record<string, string> = {
  target: 'Base URL of the deployment under test. The input "target" overrides it. Never put credentials here.',
  phase: 'Phase to run: warmup, sustained, stress, recovery, or a phase defined under phases. Default warmup.',
  engine:
    'Load generator: builtin (bundled, nothing to install), artillery, k6, or results (judge result files already written). Default builtin.',
  targets:
    'Target expressions, a list or one per line, e.g. "p99 < 500ms", "error_rate < 0.5%", "p99{bid} < 500ms", "cpu < 80%"; "... warn 400ms" adds a warning level that shows ⚠️ without failing. Default: the phase\'s targets.',
  duration:
    'Length of the whole phase; the stages keep their proportions. Not together with duration-scale. ' + DURATION,
  'duration-scale':
    "Factor for every stage's duration, e.g. 0.0167 runs the hour of sustained in one minute (positive, at most 1000).",
  rate: 'Peak arrival rate (arrivals per second, e.g. 100 or 100/s); the other stages scale with it. At most 100,000/s.',
  'decide-on':
    'The part of the run targets are judged on: steady (constant-rate stages, ramps left out) or all. Default steady (all for warmup).',
  abort:
    'Abort guards checked every interval, e.g. "error_rate > 5% for 30s"; false switches off the phase\'s default guard.',
  'fail-on':
    'When the check fails: any (a target fails or a metric regressed), target, regression, or never. A verdict of error always fails.',
  comment: 'Sticky PR comment: auto (on pull_request events), true or false.',
  'comment-header': 'Tells apart the comments of several perf-gate steps on one pull request. Default: the phase name.',
  'output-dir': 'Folder for LOAD_TEST_RESULTS.md, report.html and results.json. Default perf-gate-results.',
  baseline:
    'Where earlier runs live, for regression checks: branch[:<name>], artifact[:<name>], file:<path> or none; or an object with the details.',
  'baseline.store': 'file:<path>, branch[:<name>] (default data branch perf-gate-data), artifact[:<name>] or none.',
  'baseline.environment':
    'Name of the environment measured; runs of different environments are never compared. Default default.',
  'baseline.history': 'Runs kept in the history, and looked back over for the noise band (1-200, default 30).',
  'baseline.min-history': 'Comparable runs needed before the noise band of the history is used (2-200, default 5).',
  'baseline.branches': "Branches whose runs are recorded (default: the repository's default branch).",
  'baseline.rules':
    'Regression rules over the defaults, e.g. "p99: +10%" (floor derived from the measurement), "p99: +10% and +20ms" (floor 20 ms), "error_rate: +0.2pp", "p95: off".',
  'baseline.accept-label':
    'PR label that turns a regression into a pass, naming who applied it. Default perf-regression-accepted.',
  'baseline.on-corrupt':
    'A history file that cannot be read: error (default) refuses it; missing moves it aside and starts a new history.',
  'baseline.confirm': 'Run the phase once more before failing on a suspected regression (default true).',
  script:
    "Artillery test (.yml) or k6 script (.js) for engine artillery or k6; without it, the config's flows are translated.",
  results:
    'Result files or glob patterns for engine results (k6 JSON or NDJSON, Artillery JSON, perf-gate results.json shards).',
  distributed:
    'Distributed load: artillery-fargate, artillery-lambda (engine artillery), k6-cloud (engine k6), or none.',
  count: 'Number of load generators for Artillery on Fargate or Lambda (1-1000).',
  region: 'AWS region for Artillery on Fargate or Lambda.',
  interval:
    'Width of the time-series intervals (100ms to 1h; default about 60 intervals per run, 1s to 10s). ' + DURATION,
  http: 'HTTP settings of the built-in engine.',
  'http.timeout': 'Per request, connecting included (10ms to 10m, default 30s). ' + DURATION,
  'http.max-in-flight':
    'Requests in flight at most, one socket each (1-10,000, default 1000); arrivals beyond it are dropped and counted.',
  'http.count-4xx-as-errors': "Count HTTP 4xx responses as errors, as k6's http_req_failed does (default true).",
  'http.traceparent':
    'Built-in engine: send a W3C traceparent header with fresh ids on every request, and keep the trace ids of the slowest requests (default true; false to leave it out).',
  'http.headers': 'Headers sent with every request.',
  flows: 'User journeys: each arrival runs one flow, picked by weight. Default: one GET of target.',
  'flows.name': 'Name of the flow in the report.',
  'flows.weight': 'Relative weight when an arrival picks its flow (default 1).',
  'flows.data': 'Data file (CSV or JSON) with one row per arrival, its columns as {{ templates }}; or { file, order }.',
  'flows.data.file': "Path of the CSV or JSON data file, relative to the config file's folder.",
  'flows.data.order': 'sequential (default) or random.',
  'flows.steps': 'Steps in order: think, a request by method (get: /path), or request: { method, path }.',
  'flows.steps.think': 'Pause before the next step (at most 10m). ' + DURATION,
  'flows.steps.request': 'A request in long form: { method, path, ... }.',
  'flows.steps.request.method': 'HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.',
  'flows.steps.request.path': 'Path relative to target; may hold {{ templates }}.',
  ...prefixed('flows.steps.request', REQUEST_FIELDS),
  ...prefixed('flows.steps', REQUEST_FIELDS),
  ...Object.fromEntries(
    ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].map((m) => [`flows.steps.${m}`, METHOD_STEP(m)]),
  ),
  sources:
    'Where infrastructure metrics for the run window come from: cloudwatch, prometheus, postgres, redis, cloudwatch-logs.',

  'sources.cloudwatch.kind': 'CloudWatch metrics (GetMetricData), read for the run window after the run.',
  ...prefixed('sources.cloudwatch', awsRetry),
  'sources.cloudwatch.margin':
    'Read this long before and after the run, for the chart; statistics use the run window only (default 1m). ' +
    DURATION,
  'sources.cloudwatch.period':
    'Requested period, whole seconds (default 60), raised to the finest CloudWatch keeps for data that old.',
  'sources.cloudwatch.lag-wait':
    "How long to keep asking for the run's last period, which CloudWatch publishes late (default 3m). " + DURATION,
  'sources.cloudwatch.lag-retry': 'Pause between those attempts (default 20s). ' + DURATION,
  'sources.cloudwatch.allow-incomplete':
    'Judge the periods that arrived when the last one never did (default false: the metric is unavailable).',
  'sources.cloudwatch.metrics': 'Metrics to read: a preset, or namespace + metric.',
  'sources.cloudwatch.metrics.preset':
    'ecs-cpu, ecs-memory, rds-cpu, rds-connections, alb-requests, alb-5xx, alb-target-p99, or the instance counts ecs-running-tasks (Container Insights RunningTaskCount: tasks), alb-healthy-hosts (healthy_hosts) and alb-unhealthy-hosts (unhealthy_hosts).',
  'sources.cloudwatch.metrics.name':
    "Metric name for targets; a preset's default is cpu, memory, rds_cpu, db_connections, alb_requests, alb_5xx, alb_target_p99.",
  'sources.cloudwatch.metrics.cluster': 'ECS cluster (ecs-* presets).',
  'sources.cloudwatch.metrics.service': 'ECS service (ecs-* presets; optional).',
  'sources.cloudwatch.metrics.instance': 'RDS DB instance identifier (rds-* presets).',
  'sources.cloudwatch.metrics.load-balancer': 'ALB as app/<name>/<id>, or its ARN (alb-* presets).',
  'sources.cloudwatch.metrics.target-group': 'ALB target group, or its ARN (alb-* presets; optional).',
  'sources.cloudwatch.metrics.max-connections':
    'The RDS instance\'s max_connections, for "db_connections < 80% of max".',
  'sources.cloudwatch.metrics.limit': 'Limit for "% of max" targets.',
  'sources.cloudwatch.metrics.namespace': 'CloudWatch namespace of a custom metric, e.g. AWS/SQS.',
  'sources.cloudwatch.metrics.metric': 'CloudWatch metric name of a custom metric.',
  'sources.cloudwatch.metrics.dimensions': 'Dimensions of a custom metric, name -> value.',
  'sources.cloudwatch.metrics.stat':
    "Statistic: Average (custom default), Maximum, Sum, p99, ...; overrides a preset's.",
  'sources.cloudwatch.metrics.unit': 'Unit of the values: %, count, ms, bytes or /s.',
  'sources.cloudwatch.metrics.high-resolution':
    'The metric is published at high resolution (needed for sub-minute periods).',

  'sources.prometheus.kind': 'A Prometheus server (range queries over the run window, after the run).',
  'sources.prometheus.url':
    'Base URL of the Prometheus server (no password in it: use password-env or bearer-token-env).',
  'sources.prometheus.step': 'Query resolution (default 15s). ' + DURATION,
  'sources.prometheus.rate-window':
    'Range of rate() in the presets (default 1m); never reads samples from before the run.',
  'sources.prometheus.bearer-token-env': 'Environment variable holding a bearer token.',
  'sources.prometheus.username': 'User for basic authentication (with password-env).',
  'sources.prometheus.password-env': 'Environment variable holding the basic-authentication password.',
  'sources.prometheus.timeout': 'Per request (default 10s). ' + DURATION,
  'sources.prometheus.retries': 'Retries of a failed request (default 2).',
  'sources.prometheus.metrics': "Metrics to read: a preset or a PromQL query of one's own.",
  'sources.prometheus.metrics.preset':
    'node-cpu, node-memory (node-exporter), container-cpu or container-memory (cAdvisor, need container), or instances-up (instances: how many targets up == 1, e.g. with labels { job: api }).',
  'sources.prometheus.metrics.name': 'Metric name for targets (presets: cpu or memory); required with query.',
  'sources.prometheus.metrics.query': 'PromQL returning one series (aggregate with max/avg/sum otherwise).',
  'sources.prometheus.metrics.labels': "Label matchers added to a preset's selectors, e.g. { job: shop-api }.",
  'sources.prometheus.metrics.container': 'Container label (container-* presets).',
  'sources.prometheus.metrics.unit': 'Unit of the values: %, count (default for a query), ms, bytes or /s.',
  'sources.prometheus.metrics.limit': 'Limit for "% of max" targets.',
  'sources.prometheus.metrics.shares-by':
    "The query returns one series per instance (sum by (instance) (...)): the metric is the load balance, lowest share / highest over the run window (1 is even), with each instance's share; the label names the instances.",

  'sources.postgres.kind':
    "A PostgreSQL database, sampled during the run (connections, activity, slow statements, queries of one's own).",
  'sources.postgres.url': 'postgres:// URL without a password (use url-env or password-env for secrets).',
  'sources.postgres.url-env': 'Environment variable holding the postgres:// URL (set from a secret).',
  'sources.postgres.host': 'Host, instead of a URL.',
  'sources.postgres.port': 'Port (default 5432).',
  'sources.postgres.user': 'User, instead of a URL.',
  'sources.postgres.database': 'Database, instead of a URL.',
  'sources.postgres.password-env': 'Environment variable holding the password.',
  'sources.postgres.name':
    'Name of the connection-count metric (default db_connections); prefixes the activity metrics too.',
  'sources.postgres.interval': 'Sampling interval (default 1s). ' + DURATION,
  'sources.postgres.slow-queries': 'Report the slowest statements from pg_stat_statements (default true).',
  'sources.postgres.statement-slowdown':
    "Metric statement_slowdown: the largest ratio of a statement's mean time in the last third of the steady part to the first third (pg_stat_statements, statements with 10+ calls in both); default false.",
  'sources.postgres.top': 'Statements kept (1-100, default 10).',
  'sources.postgres.statement-timeout': 'Per statement (default 2s). ' + DURATION,
  'sources.postgres.connect-timeout': 'Connecting (default 5s). ' + DURATION,
  'sources.postgres.activity':
    'Connections by state, lock waits, longest transaction, statement rows and block hits (default true).',
  'sources.postgres.queries': "Read-only queries of one's own, each returning one number ($1, $2 = run start and end).",
  'sources.postgres.queries.name': 'Metric name for targets, e.g. bids_stored.',
  'sources.postgres.queries.sql':
    'One SQL statement returning one row with one number; runs READ ONLY and is rolled back.',
  'sources.postgres.queries.at':
    'end: once after the run; interval (default): sampled every interval; start: once right before the load (the database baseline); change: before the load and after the run, the metric is after - before (e.g. bids added).',
  'sources.postgres.queries.unit': 'Unit of the value: %, count (default), ms, bytes or /s.',

  'sources.redis.kind': 'A Redis node, INFO read before, during and after the run.',
  'sources.redis.url': 'redis:// or rediss:// URL without a password (use url-env or password-env).',
  'sources.redis.url-env': 'Environment variable holding the redis:// URL (set from a secret).',
  'sources.redis.host': 'Host, instead of a URL.',
  'sources.redis.port': 'Port (default 6379).',
  'sources.redis.username': 'ACL user name.',
  'sources.redis.password-env': 'Environment variable holding the password.',
  'sources.redis.tls': 'Connect with TLS (as rediss:// does).',
  'sources.redis.name': 'Prefix of the metric names (default redis: redis_clients, redis_evictions, ...).',
  'sources.redis.interval': 'INFO every interval (default 1s). ' + DURATION,
  'sources.redis.connect-timeout': 'Connecting (default 5s). ' + DURATION,
  'sources.redis.timeout': 'Per command (default 2s). ' + DURATION,

  'sources.cloudwatch-logs.kind':
    'CloudWatch Logs Insights: error lines in the run window, counted and grouped after the run.',
  ...prefixed('sources.cloudwatch-logs', awsRetry),
  'sources.cloudwatch-logs.name': 'Metric name of the count (default log_errors).',
  'sources.cloudwatch-logs.log-groups': 'Log group, or list of up to 50, to query.',
  'sources.cloudwatch-logs.query': "A Logs Insights query of one's own instead of pattern.",
  'sources.cloudwatch-logs.pattern': 'Regular expression of an error line (default ERROR|Exception|panic).',
  'sources.cloudwatch-logs.top': 'Most frequent messages kept (1-50, default 10).',
  'sources.cloudwatch-logs.delay':
    'Wait this long after the run for its last lines to arrive (default 15s). ' + DURATION,
  'sources.cloudwatch-logs.query-timeout': 'Longest a query may run before it is stopped (default 60s). ' + DURATION,
  'sources.cloudwatch-logs.poll': 'Interval between GetQueryResults calls (default 1s). ' + DURATION,

  phases: 'Custom phases, or overrides of the presets, by name.',
  'phases.*': 'A phase: its stages, targets, analyses and guards.',
  'phases.*.description': 'What the phase is for, shown in the report.',
  'phases.*.stages':
    'The load shape: stages of a constant rate ({ duration, rate }) or a linear ramp ({ duration, from, to }).',
  'phases.*.stages.duration': 'Length of the stage (at most 24h). ' + DURATION,
  'phases.*.stages.rate': 'Constant arrival rate of the stage (arrivals per second).',
  'phases.*.stages.from': 'Arrival rate at the start of a ramp.',
  'phases.*.stages.to': 'Arrival rate at the end of a ramp.',
  'phases.*.stages.name': 'Name of the stage in the log and the report.',
  'phases.*.targets': "The phase's targets (see targets).",
  'phases.*.analyze': 'Analyses: stress (breaking point, capacity) and recovery (recovery time from the ramp-down).',
  'phases.*.decide-on': 'steady or all (see decide-on).',
  'phases.*.abort': "The phase's abort guards (see abort); false for none.",
  checks:
    'What must hold before the load (the pre-test checklist); each check is a line of the report, and any failure is verdict error before a single request of the phase.',
  'checks.timeout': "Bound on each check's answer (default 10s). " + DURATION,
  'checks.reachable': 'Every postgres and redis source connects and answers SELECT 1 / PING (default false).',
  'checks.monitoring':
    'Every cloudwatch and prometheus metric has data for this long before the run (true: 5m), so a misspelt dimension shows now. ' +
    DURATION,
  'checks.env':
    "Environment variables that must be set (values never printed); the sources' url-env, password-env and bearer-token-env are checked too.",
  'checks.version':
    'The deployment reports the version under test: a URL with a JSONPath or header that must equal a value, asked again while a deploy rolls out.',
  'checks.version.url': 'A path on the target (/version) or an http(s) URL.',
  'checks.version.json': 'JSONPath of the version in the answer, e.g. $.sha.',
  'checks.version.header': 'Response header holding the version, e.g. x-version (instead of json).',
  'checks.version.equals':
    'The expected version (a config file is not expanded by the runner: use equals-env for the commit).',
  'checks.version.equals-env': 'Environment variable holding the expected version, e.g. GITHUB_SHA.',
  'checks.version.wait': 'How long to keep asking while a deploy rolls out (default 2m). ' + DURATION,
  'checks.version.interval': 'Pause between attempts (default 5s). ' + DURATION,
  'checks.ecs':
    'ECS services (DescribeServices): running >= min-running, running = desired, no deployment rolling out.',
  'checks.ecs.cluster': 'Cluster name or ARN.',
  'checks.ecs.service': 'Service name or ARN.',
  'checks.ecs.min-running': 'Running tasks needed (default 1; the guide: 3).',
  'checks.ecs.region': awsRetry.region,
  'checks.ecs.endpoint': awsRetry.endpoint,
  'checks.target-health':
    'Load-balancer target groups (DescribeTargetHealth): every registered target healthy, at least min-healthy.',
  'checks.target-health.target-group': 'Target group ARN.',
  'checks.target-health.min-healthy': 'Healthy targets needed (default 1).',
  'checks.target-health.region': awsRetry.region,
  'checks.target-health.endpoint': awsRetry.endpoint,
  'checks.instances':
    "For Prometheus users: every instance's health series is 1 (default query up), at least min-healthy of them.",
  'checks.instances.url': 'Prometheus base URL.',
  'checks.instances.query': 'PromQL with one series per instance, 1 when healthy (default up), e.g. up{job="api"}.',
  'checks.instances.label': 'Label that names an instance in a failure (default instance).',
  'checks.instances.min-healthy': 'Healthy instances needed (default 1).',
  'checks.instances.bearer-token-env': 'Environment variable holding a bearer token for Prometheus.',
  smoke:
    'Run each flow once, with its checks, before the load (default true with flows); a failure is verdict error naming the step, and no load is sent. Its requests are not counted.',
};
