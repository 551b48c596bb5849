// Imported first by main.ts: ES modules run in import order, and yargs asks
// for the working directory while it loads. A shell left in a directory that
// was removed (or a dead mount) would otherwise get Node's stack trace.
try {
  process.cwd();
} catch (e) {
  process.stderr.write(`mikofs: the current directory is gone (${(e as NodeJS.ErrnoException).code ?? 'getcwd failed'}); cd to an existing directory and try again\n`);
  process.exit(1);
}
export {};
