/**
 * `promfence hash-token`: reads a bearer token on stdin, prints its `token_sha256`.
 */
import { createHash } from 'node:crypto';
import { EXIT_ERROR, EXIT_OK, type CommandIO } from './io.ts';

/** Largest stdin accepted, bytes (a token is short; this stops a mistaken pipe of a big file). */
export const MAX_TOKEN_INPUT_BYTES = 64 * 1024;

/**
 * Reads all of stdin, removes ONE trailing newline (`\n` or `\r\n`, as `echo` or a file
 * adds), and prints the lowercase hex SHA-256 of the UTF-8 token followed by `\n`: the value
 * for `auth.bearer_tokens[].token_sha256`. The token itself is never printed.
 *
 * @param _opts no options
 * @param io streams (stdin read to the end)
 * @returns 0 on success; 1 when the token is empty, contains whitespace or control
 *   characters (it could not be sent as `Authorization: Bearer <token>`), or stdin is larger
 *   than {@link MAX_TOKEN_INPUT_BYTES}
 * @example printf '%s' "$TOKEN" | promfence hash-token
 */
export async function hashTokenCommand(_opts: Record<string, never>, io: CommandIO): Promise<number> {
  if ((io.stdin as { isTTY?: boolean }).isTTY) io.stderr.write('hash-token: type the token, then Enter and Ctrl-D\n');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > MAX_TOKEN_INPUT_BYTES) {
      io.stderr.write(`hash-token: input is larger than ${MAX_TOKEN_INPUT_BYTES} bytes; pipe only the token\n`);
      return EXIT_ERROR;
    }
    chunks.push(buf);
  }
  const token = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (token.length === 0) {
    io.stderr.write('hash-token: the token is empty; pipe it on stdin, e.g. printf \'%s\' "$TOKEN" | promfence hash-token\n');
    return EXIT_ERROR;
  }
  if (/\s/.test(token) || !/^[\x21-\x7e]+$/.test(token)) {
    io.stderr.write('hash-token: the token contains whitespace, a line break or non-ASCII characters; a bearer token cannot, check the input\n');
    return EXIT_ERROR;
  }
  io.stdout.write(createHash('sha256').update(token, 'utf8').digest('hex') + '\n');
  return EXIT_OK;
}
