// Preloaded with --import by the benchmark: at exit, reports the process's peak
// resident memory (DuckDB's native memory included) on stderr.
process.on('exit', () => {
  process.stderr.write(`\nBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
