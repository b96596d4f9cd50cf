// The only module that reads the environment. It turns the runner's INPUT_* variables and event payload into
// plain values, runs the shared pipeline, and publishes: outputs, job summary, sticky comment, check status.
// Heavy modules (the engine, Octokit) are imported only once they are needed, so the first log line is quick.
import { readFileSync } from 'node:fs';
import { VERSION } from './version.js';
import { redactSecrets, secretsIn, stringsIn } from './secrets.js';
import { messageOf } from './errors.js';

// Characters, not bytes: leaves room for multi-byte characters under the 1 MiB limit.
const SUMMARY_MAX_CHARS = 500_000;

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  process.stdout.write(`perf-gate ${VERSION}\n`);
  const core = await import('@actions/core');
  const { INPUT_NAMES, resolveConfig } = await import('./config/load.js');
  const { UserError } = await import('./errors.js');
  const { outputsFor } = await import('./github/outputs.js');
  const setOutputs = (values: Record<string, string>): void => {
    for (const [k, v] of Object.entries(values)) core.setOutput(k, v);
  };
  const log = { info: core.info, warning: core.warning, debug: core.debug };

  try {
    const inputs = Object.fromEntries(INPUT_NAMES.map((n) => [n, core.getInput(n)]));
    if (inputs['github-token']) core.setSecret(inputs['github-token']);
    // Masked as soon as seen: passwords in URLs and token-like query values, in any input and anywhere in the config.
    maskSecrets(inputs, core.setSecret);
    const workspace = env.GITHUB_WORKSPACE || process.cwd();
    const config = resolveConfig(inputs, { workspace });
    maskSecrets(config, core.setSecret);
    for (const [k, v] of Object.entries(config.http.headers))
      if (/^(authorization|cookie|x-api-key|api-key)$/i.test(k) && v) core.setSecret(v);
    if (config.engine === 'builtin' || ((config.engine === 'artillery' || config.engine === 'k6') && !config.script)) {
      // `{{ env.NAME }}` values in flows are sent to the target only: mask them before anything can print them.
      // (Artillery and k6 run the flows without a script: the values reach them through their environment.)
      const { flowSecrets } = await import('./flows/target.js');
      for (const secret of flowSecrets(config, env)) core.setSecret(secret);
    }

    const runUrl =
      env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    const event = readEvent(env.GITHUB_EVENT_PATH, log.warning);
    // One client for every GitHub call of the run (baseline stores and comment): one time budget for them all.
    let github: import('./github/client.js').GitHubClient | undefined;
    const githubClient = async (): Promise<import('./github/client.js').GitHubClient> => {
      const { createGitHubClient } = await import('./github/client.js');
      github ??= createGitHubClient(config.githubToken ?? '', log);
      return github;
    };
    let baseline: import('./baseline/types.js').BaselineContext | undefined;
    if (config.baseline?.spec) {
      const { baselineContext, gitContextFromEnv } = await import('./baseline/index.js');
      baseline = baselineContext(config.baseline, {
        log,
        workspace,
        outputDir: config.outputDir,
        git: gitContextFromEnv(env, event),
        ...(config.githubToken ? { github: await githubClient() } : {}),
      });
    }
    const { runPipeline } = await import('./pipeline.js');
    const outcome = await runPipeline(config, {
      log,
      runUrl,
      ...(baseline ? { baseline } : {}),
      runIdentity: { commit: env.GITHUB_SHA, workflowRun: env.GITHUB_RUN_ID },
    });
    // From here on the verdict is final: results.json and the report are written with it, and nothing below may
    // change it. Publishing can only fail with a warning.
    const { verdict } = outcome;
    const paths = { report: outcome.reportPath, results: outcome.resultsPath };
    const outputs = outputsFor(outcome.run, verdict, paths);
    const { 'comment-url': _commentUrl, ...beforeComment } = outputs;
    publishStep('outputs', () => setOutputs(beforeComment), log.warning);

    const { renderReport, markerFor } = await import('./report/markdown.js');
    if (env.GITHUB_STEP_SUMMARY) {
      // The job summary allows 1 MiB per step; the comment 65,536 characters: each gets its own size tier.
      await publishStepAsync(
        'job summary',
        () => core.summary.addRaw(renderReport(outcome.report, { maxChars: SUMMARY_MAX_CHARS })).write(),
        log.warning,
      );
    }
    let commentUrl: string | undefined;
    const { prContext } = await import('./github/context.js');
    const pr = prContext(env.GITHUB_EVENT_NAME ?? '', event, env.GITHUB_REPOSITORY ?? '/');
    // A shard's figures are a part of the run: the job that merges the shards comments.
    if (config.shard && config.comment === 'true')
      log.info('comment: a shard posts no comment; the job that merges the shards does');
    const wantComment = !config.shard && (config.comment === 'true' || (config.comment === 'auto' && pr.isPullRequest));
    if (wantComment) {
      if (pr.issueNumber === undefined) {
        log.warning('comment: this run is not for a pull request, so there is nothing to comment on');
      } else if (!config.githubToken) {
        log.warning(
          'comment: no github-token, so the results were not posted on the pull request (the verdict still holds)',
        );
      } else {
        const issueNumber = pr.issueNumber;
        await publishStepAsync(
          'PR comment',
          async () => {
            const { upsertComment } = await import('./github/comment.js');
            const res = await upsertComment({
              octokit: await githubClient(),
              owner: pr.owner,
              repo: pr.repo,
              issueNumber,
              body: renderReport(outcome.report),
              marker: markerFor(config.commentHeader),
              log,
            });
            if (res.warning) log.warning(res.warning);
            commentUrl = res.url;
            if (res.action !== 'skipped') log.info(`comment ${res.action}: ${res.url ?? ''}`);
          },
          log.warning,
        );
      }
    }
    publishStep('outputs', () => core.setOutput('comment-url', commentUrl ?? ''), log.warning);

    const headline = `perf-gate ${config.phase.name}: ${verdict.status}`;
    const why = verdict.reasons.length ? `: ${verdict.reasons.join('; ')}` : '';
    if (verdict.failsCheck) core.setFailed(`${headline}${why}`);
    else if (verdict.status === 'shard')
      log.info(`${headline}: results written to ${outcome.resultsPath} for the job that merges the shards`);
    else if (verdict.status !== 'pass')
      log.warning(`${headline}${why} (fail-on: ${config.failOn}, so the check passes)`);
    else log.info(`${headline} (report: ${outcome.reportPath})`);
  } catch (e) {
    publishStep('outputs', () => core.setOutput('verdict', 'error'), log.warning);
    const message =
      e instanceof UserError
        ? redactSecrets(e.message)
        : `perf-gate failed unexpectedly: ${redactSecrets(messageOf(e))}`;
    if (!(e instanceof UserError)) core.debug(redactSecrets((e as Error).stack ?? String(e)));
    // The job summary says the same verdict as the outputs and the exit status, even when there is no report.
    if (env.GITHUB_STEP_SUMMARY) {
      await publishStepAsync(
        'job summary',
        () => core.summary.addRaw(`### ⚠️ perf-gate: error\n\n<pre>${escapeHtml(message)}</pre>\n`).write(),
        log.warning,
      );
    }
    core.setFailed(message);
  }
}

/**
 * Publishing never decides the verdict: a failure here (GitHub's API down, slow, rate-limited, a summary file that
 * cannot be written) is a warning naming what was not published, and the run goes on to its verdict.
 */
function publishStep(what: string, step: () => void, warn: (m: string) => void): void {
  try {
    step();
  } catch (e) {
    warn(`${what} not published (the verdict still holds): ${redactSecrets(messageOf(e))}`);
  }
}

async function publishStepAsync(what: string, step: () => Promise<unknown>, warn: (m: string) => void): Promise<void> {
  try {
    await step();
  } catch (e) {
    warn(`${what} not published (the verdict still holds): ${redactSecrets(messageOf(e))}`);
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function readEvent(path: string | undefined, warn: (m: string) => void): unknown {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    warn(`cannot read the event payload at ${path}: ${messageOf(e)}`);
    return {};
  }
}

/** Masks every secret a value holds (URL passwords, token-like query values) so the runner hides it in the log. */
function maskSecrets(value: unknown, mask: (s: string) => void): void {
  for (const text of stringsIn(value)) for (const secret of secretsIn(text)) mask(secret);
}
