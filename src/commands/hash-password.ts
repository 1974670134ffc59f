/**
 * `promfence hash-password`: reads a password on stdin, prints its bcrypt hash for
 * `auth.basic_users[].password_hash` (no `htpasswd` needed).
 */
import bcrypt from 'bcryptjs';
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, type CommandIO } from './io.ts';

/** Largest stdin accepted, bytes. */
export const MAX_PASSWORD_INPUT_BYTES = 4096;
/** bcrypt reads only this many bytes of a password; longer ones are refused rather than silently cut. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;
/** Default bcrypt cost (htpasswd -B's default is 5; 10 is bcryptjs's and most libraries'). */
export const DEFAULT_BCRYPT_COST = 10;

type TtyIn = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/** Reads one line from a terminal without echoing it (raw mode; Backspace edits, Ctrl-C aborts). */
function readHidden(stdin: TtyIn, stderr: CommandIO['stderr'], prompt: string): Promise<string | undefined> {
  stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.resume();
  return new Promise((resolve) => {
    let buf = '';
    const finish = (value: string | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(buf);
        if (ch === '\u0003') return finish(undefined);
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else buf += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads all of a non-terminal stdin (at most {@link MAX_PASSWORD_INPUT_BYTES}); one trailing newline removed. */
async function readPiped(stdin: NodeJS.ReadableStream): Promise<string | { tooLarge: true }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > MAX_PASSWORD_INPUT_BYTES) return { tooLarge: true };
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Reads a password and prints its bcrypt hash (`$2b$<cost>$…`) followed by `\n` on stdout.
 * From a terminal the password is asked twice without echo; from a pipe (`printf '%s' "$PW" |
 * promfence hash-password`) it is read to the end, one trailing newline removed. The password
 * is never printed.
 *
 * @param opts.cost bcrypt cost factor, 4-15 (default {@link DEFAULT_BCRYPT_COST}); each step doubles the work
 * @param io streams
 * @returns 0 on success; 1 when the password is empty, contains a line break, is longer than
 *   {@link BCRYPT_MAX_PASSWORD_BYTES} bytes (bcrypt would ignore the rest), the two entries
 *   differ, or input is larger than {@link MAX_PASSWORD_INPUT_BYTES}; 2 for a bad `--cost`
 * @example printf '%s' 'veggie-password' | promfence hash-password --cost 12
 */
export async function hashPasswordCommand(opts: { cost?: number }, io: CommandIO): Promise<number> {
  const cost = opts.cost ?? DEFAULT_BCRYPT_COST;
  if (!Number.isInteger(cost) || cost < 4 || cost > 15) {
    io.stderr.write('hash-password: --cost must be a whole number from 4 to 15 (default 10)\n');
    return EXIT_USAGE;
  }
  const stdin = io.stdin as TtyIn;
  let password: string;
  if (stdin.isTTY === true) {
    const first = await readHidden(stdin, io.stderr, 'Password: ');
    const again = first === undefined ? undefined : await readHidden(stdin, io.stderr, 'Repeat password: ');
    if (first === undefined || again === undefined) {
      io.stderr.write('hash-password: interrupted\n');
      return EXIT_ERROR;
    }
    if (first !== again) {
      io.stderr.write('hash-password: the two passwords differ; nothing was printed\n');
      return EXIT_ERROR;
    }
    password = first;
  } else {
    const read = await readPiped(io.stdin);
    if (typeof read !== 'string') {
      io.stderr.write(`hash-password: input is larger than ${MAX_PASSWORD_INPUT_BYTES} bytes; pipe only the password\n`);
      return EXIT_ERROR;
    }
    password = read;
  }
  if (password.length === 0) {
    io.stderr.write('hash-password: the password is empty; pipe it on stdin, e.g. printf \'%s\' "$PASSWORD" | promfence hash-password\n');
    return EXIT_ERROR;
  }
  if (/[\r\n]/.test(password)) {
    io.stderr.write('hash-password: the password contains a line break; pipe exactly one password\n');
    return EXIT_ERROR;
  }
  if (Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES) {
    io.stderr.write(`hash-password: the password is longer than ${BCRYPT_MAX_PASSWORD_BYTES} bytes; bcrypt would ignore the rest, so choose a shorter one\n`);
    return EXIT_ERROR;
  }
  io.stdout.write(`${await bcrypt.hash(password, cost)}\n`);
  return EXIT_OK;
}
