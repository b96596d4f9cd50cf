import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{VERSION}from"./chunks/chunk-VYNSPEIZ.js";import{INPUT_NAMES,resolveConfig}from"./chunks/chunk-WBQSNXN6.js";import"./chunks/chunk-PRWITWAX.js";import"./chunks/chunk-RGWILQOT.js";import{didYouMean}from"./chunks/chunk-UPSL2VJL.js";import"./chunks/chunk-FJTYURW7.js";import"./chunks/chunk-JWYWPVF3.js";import"./chunks/chunk-K7CP4DPV.js";import"./chunks/chunk-2T3KWPBP.js";import"./chunks/chunk-MJHSGQMT.js";import"./chunks/chunk-BU5O2ZH3.js";import"./chunks/chunk-2ODFVNTI.js";import{redactSecrets}from"./chunks/chunk-F6PV6644.js";import"./chunks/chunk-3YPN7BB2.js";import"./chunks/chunk-SZBXCOBQ.js";import"./chunks/chunk-2INXVCRC.js";import{UserError,messageOf}from"./chunks/chunk-FT3H2ILR.js";import"./chunks/chunk-GO3GCWG2.js";import"./chunks/chunk-JU7GDAY4.js";import"./chunks/chunk-L66MS3TL.js";import{__name}from"./chunks/chunk-BKM354QH.js";import{existsSync}from"node:fs";import{dirname,join}from"node:path";import{parseArgs}from"node:util";var LOCAL_BRANCH="local",USAGE=`perf-gate ${VERSION}: gate a deployment on a load test

usage: perf-gate run --target URL [--phase warmup|sustained|stress|recovery|<custom>] [options]

options (the action's inputs):
  --target URL          base URL of the deployment (or "target" in the config file)
  --phase NAME          load phase (default warmup)
  --engine NAME         builtin (default) | artillery | k6 | results
  --config PATH         YAML config (default .github/perf-gate.yml when it exists)
  --targets EXPRS       target expressions, one per line or separated by ";" (default: the phase's)
  --duration D          override the phase length, e.g. 30s, 2m
  --rate N              override the peak arrival rate (arrivals/s)
  --duration-scale F    shrink or stretch every stage by a factor (instead of --duration)
  --decide-on PART      steady (default) | all: the part of the run the targets judge
  --abort GUARDS        abort guards separated by ";", e.g. "error_rate > 5% for 30s", or none
  --fail-on MODE        any (default) | target | regression | never
  --script PATH         Artillery test or k6 script (--engine artillery | k6)
  --results FILES       result files or globs separated by ";" (--engine results)
  --baseline SPEC       file:<path> | branch[:<name>] | artifact[:<name>] (branch and artifact need a token)
  --confirm-regressions true|false
                        re-run the phase once before failing on a regression (default true)
  --output-dir DIR      where LOAD_TEST_RESULTS.md and results.json go (default perf-gate-results)
  --shard I/N           run shard I of N: 1/N of the arrival rate, results.json for a later
                        --engine results merge (no verdict: exit 0 unless the shard errored)
  --record              add this run to the --baseline file:<path> history (as branch "local")
exit status: 0 pass, 1 the gate fails, 2 bad input`,LIST_FLAGS=new Set(["targets","abort","results","regression-rules"]);async function main(argv){let[command,...rest]=argv;if(command==="--version"||command==="-v")return process.stdout.write(`${VERSION}
`),0;if(command!=="run")return process.stderr.write(command===void 0||command==="--help"||command==="-h"?`${USAGE}
`:`unknown command "${command}"

${USAGE}
`),command===void 0||command==="--help"||command==="-h"?0:2;let cliOnly=INPUT_NAMES.filter(n=>n!=="comment"&&n!=="comment-header"&&n!=="github-token"),values;try{({values}=parseArgs({args:rest,options:Object.fromEntries([...cliOnly.map(n=>[n,{type:"string"}]),["help",{type:"boolean"}],["record",{type:"boolean"}]]),strict:!0,allowPositionals:!1}))}catch(e){let unknown=/Unknown option '--([^']+)'/.exec(messageOf(e))?.[1],hint=unknown?didYouMean(unknown,[...cliOnly,"help","record"]).replace(/"([^"]+)"/,'"--$1"'):"";return process.stderr.write(`error: ${messageOf(e)}${hint}

${USAGE}
`),2}if(values.help)return process.stdout.write(`${USAGE}
`),0;let inputs={};for(let n of cliOnly){let v=values[n];typeof v=="string"&&(inputs[n]=LIST_FLAGS.has(n)?v.split(";").join(`
`):v)}let log={info:__name(m=>process.stderr.write(`${m}
`),"info"),warning:__name(m=>process.stderr.write(`warning: ${m}
`),"warning"),debug:__name(m=>process.env.PERF_GATE_DEBUG?process.stderr.write(`debug: ${m}
`):void 0,"debug")};try{let config=resolveConfig(inputs,{workspace:process.cwd()}),{runPipeline}=await import("./chunks/pipeline-BV7KCK4J.js"),{renderTerminal}=await import("./chunks/terminal-3TALDLKK.js"),baseline;if(values.record&&config.baseline?.spec?.kind!=="file")throw new UserError(`--record needs --baseline file:<path> (got ${config.baseline?.spec?`--baseline ${config.baseline.spec.text}`:"no baseline"}); the other stores are written by the action on GitHub`);if(config.baseline?.spec){let{baselineContext,gitContextFromEnv}=await import("./chunks/baseline-EFZWRFMB.js"),env=gitContextFromEnv(process.env,{}),git=values.record?{...env,eventName:"push",branch:LOCAL_BRANCH,defaultBranch:LOCAL_BRANCH}:env;baseline=baselineContext(config.baseline,{log,workspace:process.cwd(),outputDir:config.outputDir,git})}let outcome=await runPipeline(config,{log,...baseline?{baseline}:{},runIdentity:{commit:process.env.GITHUB_SHA}});process.stdout.write(renderTerminal({run:outcome.run,verdict:outcome.verdict,commentHeader:config.commentHeader,engine:config.engine,phase:config.phase.name,resultsFile:outcome.resultsPath})+`
`);let html=join(dirname(outcome.reportPath),"report.html");return process.stderr.write(`report: ${outcome.reportPath}
results: ${outcome.resultsPath}
${existsSync(html)?`html: ${html}
`:""}`),outcome.verdict.failsCheck?1:0}catch(e){return e instanceof UserError?(process.stderr.write(`error: ${redactSecrets(e.message)}
`),2):(process.stderr.write(`perf-gate failed unexpectedly: ${redactSecrets(messageOf(e)).split(`
`)[0]}
`),log.debug(redactSecrets(e.stack??String(e))),1)}}__name(main,"main");export{main};
