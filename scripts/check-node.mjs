// The action runs on Node 24; tests must too. npm puts node_modules/.bin (the pinned `node` package) first.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `perf-gate tests need Node 24 (the action's runtime); this is ${process.version}. Run them through npm (npm test), which uses the pinned node from node_modules.`,
  );
  process.exit(1);
}
