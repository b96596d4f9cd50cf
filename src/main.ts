// The only module that reads the environment. It turns the runner's INPUT_* variables and event payload into
// plain values, runs the shared pipeline, and publishes: outputs, job summary, sticky comment, check status.
// Heavy modules (the engine, Octokit) are imported only once they are needed, so the first log line is quick.
import { readFileSync } from 'node:fs';
import { VERSION } from './version.js';

// Characters, not bytes: leaves room for multi-byte characters under the 1 MiB limit.
const SUMMARY_MAX_CHARS = 500_000;

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  process.stdout.write(`perf-gate ${VERSION}\n`);
  const core = await import('@actions/core');
  const { INPUT_NAMES, resolveConfig } = await import('./config/load.js');
  const { UserError } = await import('./config/types.js');
  const { outputsFor } = await import('./github/outputs.js');
  const setOutputs = (values: Record<string, string>): void => {
    for (const [k, v] of Object.entries(values)) core.setOutput(k, v);
  };
  const log = { info: core.info, warning: core.warning, debug: core.debug };

  try {
    const inputs = Object.fromEntries(INPUT_NAMES.map((n) => [n, core.getInput(n)]));
    if (inputs['github-token']) core.setSecret(inputs['github-token']);
    maskUrlSecrets(inputs.target, core.setSecret);
    const workspace = env.GITHUB_WORKSPACE || process.cwd();
    const config = resolveConfig(inputs, { workspace });
    maskUrlSecrets(config.target, core.setSecret);
    if (config.engine === 'builtin') {
      // `{{ env.NAME }}` values in flows are sent to the target only: mask them before anything can print them.
      const { flowSecrets } = await import('./engines/builtin/flows.js');
      for (const secret of flowSecrets(config, env)) core.setSecret(secret);
    }

    const runUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
    const event = readEvent(env.GITHUB_EVENT_PATH, log.warning);
    let baseline: import('./baseline/types.js').BaselineContext | undefined;
    if (config.baseline?.spec) {
      const { baselineContext, gitContextFromEnv } = await import('./baseline/index.js');
      const { getOctokit } = await import('@actions/github');
      baseline = baselineContext(config.baseline, {
        log,
        workspace,
        outputDir: config.outputDir,
        git: gitContextFromEnv(env, event),
        ...(config.githubToken ? { github: getOctokit(config.githubToken) } : {}),
      });
    }
    const { runPipeline } = await import('./pipeline.js');
    const outcome = await runPipeline(config, { log, runUrl, ...(baseline ? { baseline } : {}), runIdentity: { commit: env.GITHUB_SHA, workflowRun: env.GITHUB_RUN_ID } });
    const { verdict } = outcome;

    let commentUrl: string | undefined;
    const { renderReport, markerFor } = await import('./report/markdown.js');
    if (env.GITHUB_STEP_SUMMARY) {
      // The job summary allows 1 MiB per step; the comment 65,536 characters: each gets its own size tier.
      await core.summary.addRaw(renderReport(outcome.report, { maxChars: SUMMARY_MAX_CHARS })).write();
    }
    const { prContext } = await import('./github/context.js');
    const pr = prContext(env.GITHUB_EVENT_NAME ?? '', event, env.GITHUB_REPOSITORY ?? '/');
    // A shard's figures are a part of the run: the job that merges the shards comments.
    if (config.shard && config.comment === 'true') log.info('comment: a shard posts no comment; the job that merges the shards does');
    const wantComment = !config.shard && (config.comment === 'true' || (config.comment === 'auto' && pr.isPullRequest));
    if (wantComment) {
      if (pr.issueNumber === undefined) {
        log.warning('comment: this run is not for a pull request, so there is nothing to comment on');
      } else if (!config.githubToken) {
        log.warning('comment: no github-token, so the results were not posted on the pull request (the verdict still holds)');
      } else {
        const { getOctokit } = await import('@actions/github');
        const { upsertComment } = await import('./github/comment.js');
        const octokit = getOctokit(config.githubToken);
        const res = await upsertComment({
          octokit,
          owner: pr.owner,
          repo: pr.repo,
          issueNumber: pr.issueNumber,
          body: renderReport(outcome.report),
          marker: markerFor(config.commentHeader),
          log,
        });
        if (res.warning) log.warning(res.warning);
        commentUrl = res.url;
        if (res.action !== 'skipped') log.info(`comment ${res.action}: ${res.url ?? ''}`);
      }
    }

    setOutputs(outputsFor(outcome.run, verdict, { report: outcome.reportPath, results: outcome.resultsPath, commentUrl }));
    const headline = `perf-gate ${config.phase.name}: ${verdict.status}`;
    const why = verdict.reasons.length ? `: ${verdict.reasons.join('; ')}` : '';
    if (verdict.failsCheck) core.setFailed(`${headline}${why}`);
    else if (verdict.status === 'shard') log.info(`${headline}: results written to ${outcome.resultsPath} for the job that merges the shards`);
    else if (verdict.status !== 'pass') log.warning(`${headline}${why} (fail-on: ${config.failOn}, so the check passes)`);
    else log.info(`${headline} (report: ${outcome.reportPath})`);
  } catch (e) {
    core.setOutput('verdict', 'error');
    if (e instanceof UserError) {
      core.setFailed(e.message);
    } else {
      const err = e as Error;
      core.debug(err.stack ?? String(err));
      core.setFailed(`perf-gate failed unexpectedly: ${err.message}`);
    }
  }
}

function readEvent(path: string | undefined, warn: (m: string) => void): unknown {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    warn(`cannot read the event payload at ${path}: ${(e as Error).message}`);
    return {};
  }
}

/** Masks a password embedded in a URL so the runner hides it wherever it might still be printed. */
function maskUrlSecrets(text: string | undefined, mask: (s: string) => void): void {
  if (!text) return;
  try {
    const url = new URL(text);
    if (url.password) mask(decodeURIComponent(url.password));
    if (url.username && url.password) mask(decodeURIComponent(url.username));
  } catch {
    // not a URL: config validation will say so
  }
}
