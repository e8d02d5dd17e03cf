import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { asConnectorError, ConnectorError } from '../../src/protocol/errors.js';
import { errorTraceMessage, logMessage } from '../../src/protocol/messages.js';
import { OutputWriter } from '../../src/protocol/output.js';
import { SecretRedactor } from '../../src/protocol/redactor.js';
import { configuredCatalogErrors, messageErrors } from '../support/protocol.js';

interface ProtocolCase {
  name: string;
  message: unknown;
  valid: boolean;
  target?: 'ConfiguredAirbyteCatalog';
}

// Each case's `valid` is the official Airbyte schema's verdict (scripts/compare-protocol-schema.py
// checks the cases and this schema against it where the official YAML is at hand).
const cases = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'protocol-cases.json'), 'utf8')) as ProtocolCase[];

describe('the project protocol schema agrees with the official one', () => {
  it('has cases of both kinds', () => {
    expect(cases.filter((c) => c.valid).length).toBeGreaterThan(20);
    expect(cases.filter((c) => !c.valid).length).toBeGreaterThan(20);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, testCase) => {
    const errors = testCase.target === 'ConfiguredAirbyteCatalog' ? configuredCatalogErrors(testCase.message) : messageErrors(testCase.message);
    expect(errors === '', errors || 'accepted').toBe(testCase.valid);
  });
});

describe('OutputWriter', () => {
  it('writes whole lines in order under backpressure from a slow reader', async () => {
    const received: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        setTimeout(callback, 1);
      },
    });
    const out = new OutputWriter(slow, new SecretRedactor());
    const big = 'x'.repeat(10_000);
    for (let index = 0; index < 200; index++) await out.write(logMessage('INFO', `${index} ${big}`));
    await out.flush();
    const lines = Buffer.concat(received).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(200);
    lines.forEach((line, index) => expect(JSON.parse(line).log.message).toBe(`${index} ${big}`));
    // Each message went out in a single write: no message was cut across writes.
    expect(received).toHaveLength(200);
  });

  it('masks secrets in LOG and TRACE text but leaves RECORD data alone', async () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const redactor = new SecretRedactor();
    redactor.add('hunter2-secret');
    const out = new OutputWriter(sink, redactor);
    await out.log('ERROR', 'failed with hunter2-secret');
    await out.write(errorTraceMessage(new ConnectorError('config_error', 'bad key "hunter2-secret"', { internalMessage: 'x hunter2-secret' })));
    await out.write({ type: 'RECORD', record: { stream: 's', data: { note: 'hunter2-secret in a file' }, emitted_at: 1 } });
    const [log, trace, record] = text.trim().split('\n').map((line) => JSON.parse(line));
    expect(log.log.message).toBe('failed with ****');
    expect(trace.trace.error.message).toBe('bad key "****"');
    expect(trace.trace.error.internal_message).toBe('x ****');
    expect(record.record.data.note).toBe('hunter2-secret in a file');
  });
});

describe('SecretRedactor', () => {
  it('masks the longest secret first and its JSON-escaped form', () => {
    const redactor = new SecretRedactor();
    redactor.add('abcd');
    redactor.add('abcdefgh');
    redactor.add('with"quote');
    expect(redactor.redact('abcdefgh abcd')).toBe('**** ****');
    expect(redactor.redact(JSON.stringify({ v: 'with"quote' }))).toBe('{"v":"****"}');
  });

  it('ignores values too short to be secrets', () => {
    const redactor = new SecretRedactor();
    redactor.add('ab');
    redactor.add(undefined);
    expect(redactor.redact('ab cd')).toBe('ab cd');
  });
});

describe('error TRACE messages', () => {
  it('carry the failure type, stream and, for unexpected errors only, a stack trace', () => {
    const config = errorTraceMessage(new ConnectorError('config_error', 'fix it', { streamName: 's' }));
    expect(config.trace?.error).toEqual({ message: 'fix it', failure_type: 'config_error', stream_descriptor: { name: 's' } });
    const system = errorTraceMessage(asConnectorError(new TypeError('x is undefined')));
    expect(system.trace?.error).toMatchObject({ failure_type: 'system_error', message: 'Unexpected internal error: TypeError: x is undefined' });
    expect(system.trace?.error?.stack_trace).toContain('TypeError: x is undefined');
    expect(messageErrors(config)).toBe('');
    expect(messageErrors(system)).toBe('');
  });
});
