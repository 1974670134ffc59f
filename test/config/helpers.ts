/** Test helpers: in-process CommandIO with captured output. */
import { Readable } from 'node:stream';
import type { CommandIO } from '../../src/commands/io.ts';

/** A CommandIO whose stdin yields `input` and whose stdout/stderr are captured as strings. */
export function memoryIO(input: string | Buffer = ''): CommandIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdin: Readable.from(input.length === 0 ? [] : [typeof input === 'string' ? Buffer.from(input) : input]),
    stdout: { write: (s: string) => { out += s; return true; } },
    stderr: { write: (s: string) => { err += s; return true; } },
    out: () => out,
    err: () => err,
  };
}
