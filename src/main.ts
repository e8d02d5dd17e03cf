#!/usr/bin/env node
// On Node 20 the AWS SDK warns on stderr, on every command, that its releases
// after January 2027 need Node 22. Users cannot act on it (the image runs Node
// 22), and a warning on every successful run hides the ones that matter. This
// is the SDK's own switch; it must be set before the SDK makes its first client.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { parseInvocation, UsageError, type Invocation } from './cli.js';
import { asConnectorError, configError, transientError } from './protocol/errors.js';
import { onOutputBlocked, OUTPUT_CLOSED_EXIT_CODE, OutputClosedError } from './protocol/fd-write.js';
import { errorTraceMessage } from './protocol/messages.js';
import { runInterruptHandlers } from './protocol/interrupt.js';
import { OutputWriter } from './protocol/output.js';
import { settings } from './settings.js';

const out = new OutputWriter();

/** Credentials from the environment are secrets too: never print them. */
for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN']) out.redactor.add(process.env[name]);

/** Commands are loaded on demand: `spec` should not pay for loading DuckDB and the AWS SDK. */
async function run(invocation: Invocation): Promise<number | void> {
  // spec needs no setting (Airbyte runs it to draw the config form); check
  // answers a bad one with CONNECTION_STATUS FAILED (its contract); every other
  // command checks them all first, so a bad one fails before any work.
  if (invocation.command !== 'spec' && invocation.command !== 'version' && invocation.command !== 'check') settings();
  switch (invocation.command) {
    case 'version':
      // Plain text, like other CLIs: for people and scripts, never sent by an orchestrator.
      process.stdout.write(`${invocation.version}\n`);
      return 0;
    case 'spec':
      return (await import('./commands/spec.js')).specCommand(out);
    case 'check':
      return (await import('./commands/check.js')).checkCommand(invocation.config, out);
    case 'discover':
      return (await import('./commands/discover.js')).discoverCommand(invocation.config, out);
    case 'read':
      return (await import('./commands/read.js')).readCommand(invocation, out);
    case 'query':
      return (await import('./commands/query.js')).queryCommand(invocation, out.redactor);
  }
}

let outputClosedSaid = false;

/**
 * `query` and `version` print for people, not the protocol: their failures,
 * an interrupt included, are plain text on stderr and never a TRACE on stdout.
 */
let plainTextCommand: string | undefined;

/** Reports a failure as a TRACE ERROR on stdout, and a line for people on stderr. */
async function fail(error: unknown): Promise<void> {
  if (error instanceof OutputClosedError || isEpipe(error)) {
    // Nothing can reach stdout any more; one line for a person, however many writes failed.
    out.seal();
    if (!outputClosedSaid) process.stderr.write('source-s3: stopped: stdout was closed before the output ended (its reader exited).\n');
    outputClosedSaid = true;
    return;
  }
  const failure = asConnectorError(error);
  process.stderr.write(`source-s3: ${out.redactor.redact(failure.message)}\n`);
  await out.write(errorTraceMessage(failure));
}

async function main(): Promise<number> {
  let invocation: Invocation | undefined;
  try {
    // Help is for people: stderr, so stdout stays protocol messages only.
    invocation = await parseInvocation(process.argv.slice(2), (help) => process.stderr.write(`${help}\n`));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.usage}\n\n`);
    await fail(configError(`${error.message} Run source-s3 --help for usage.`));
    return 2;
  }
  if (invocation === undefined) return 0;
  if (invocation.command === 'query' || invocation.command === 'version') plainTextCommand = invocation.command;
  try {
    return (await run(invocation)) ?? 0;
  } catch (error) {
    await fail(error);
    return exitCodeFor(error);
  }
}

function isEpipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

function exitCodeFor(error: unknown): number {
  return error instanceof OutputClosedError || isEpipe(error) ? OUTPUT_CLOSED_EXIT_CODE : 1;
}

async function exitAfterFlush(code: number): Promise<never> {
  await out.flush();
  process.exit(code);
}

// Orchestrators cancel with SIGTERM: say so on stdout, then exit so the 'exit'
// handlers remove the staging directory (a signal's default action would skip them).
const signalHandlers = new Map<NodeJS.Signals, () => void>();
for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  const handler = () => {
    signalHandlers.clear();
    runInterruptHandlers();
    const interrupted = `Interrupted by ${signal} before finishing; run the command again.`;
    if (plainTextCommand !== undefined) {
      out.seal();
      process.stderr.write(`source-s3 ${plainTextCommand}: ${interrupted}\n`);
      void exitAfterFlush(code);
      return;
    }
    void fail(transientError(interrupted)).finally(() => {
      out.seal();
      return exitAfterFlush(code);
    });
  };
  signalHandlers.set(signal, handler);
  process.once(signal, handler);
}

// While stdout's reader does not read, the process waits inside a synchronous write and no signal
// handler can run: a SIGTERM would wait for the reader. Nothing can be said on stdout then anyway, so
// once a write has waited 2 s, the signals take their default action and end the process at once
// (workers die with their IPC channel, and the next run removes the staging folder left behind).
// A signal that came in those 2 s is handled when the reader reads again.
onOutputBlocked({
  enter: () => {
    for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
  },
  leave: () => {
    for (const [signal, handler] of signalHandlers) process.once(signal, handler);
  },
});

for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    void fail(error).finally(() => exitAfterFlush(exitCodeFor(error)));
  });
}

// `--version` writes through process.stdout, whose EPIPE comes as an event.
process.stdout.on('error', (error: unknown) => {
  void fail(error).finally(() => exitAfterFlush(exitCodeFor(error)));
});

void main().then(exitAfterFlush, async (error: unknown) => {
  await fail(error);
  await exitAfterFlush(exitCodeFor(error));
});
