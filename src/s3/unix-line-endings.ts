import { Transform, type TransformCallback } from 'node:stream';

/**
 * A stream that turns every CRLF into LF (a CRLF inside a quoted field too), calling `changed` for
 * each. DuckDB's strict CSV parser takes one line ending per file, and a file edited by hand (or
 * concatenated from two exports) often mixes both. A lone CR is kept.
 */
export function unixLineEndings(changed: () => void = () => undefined): Transform {
  let pendingCr = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      const out: Buffer[] = [];
      let start = 0;
      if (pendingCr) {
        if (chunk[0] === 0x0a) changed();
        else out.push(Buffer.from([0x0d]));
        pendingCr = false;
      }
      for (let index = chunk.indexOf(0x0d); index !== -1; index = chunk.indexOf(0x0d, index + 1)) {
        if (index === chunk.length - 1) {
          out.push(chunk.subarray(start, index));
          pendingCr = true;
          start = chunk.length;
          break;
        }
        if (chunk[index + 1] === 0x0a) {
          out.push(chunk.subarray(start, index));
          start = index + 1;
          changed();
        }
      }
      if (start < chunk.length) out.push(chunk.subarray(start));
      // A chunk without CRLF passes as it is: no copy of every byte on the streamed path.
      done(null, out.length === 1 ? out[0] : Buffer.concat(out));
    },
    flush(done: TransformCallback) {
      done(null, pendingCr ? Buffer.from([0x0d]) : undefined);
    },
  });
}
