import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hashTokenCommand } from '../../src/commands/hash-token.ts';
import { main } from '../../src/cli.ts';
import { memoryIO } from '../config/helpers.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('hash-token', () => {
  for (const [name, input] of [['no newline', 'fruit-secret'], ['one LF', 'fruit-secret\n'], ['one CRLF', 'fruit-secret\r\n']] as const) {
    it(`prints the lowercase hex SHA-256 (${name})`, async () => {
      const io = memoryIO(input);
      assert.equal(await hashTokenCommand({}, io), 0);
      assert.equal(io.out(), `${sha('fruit-secret')}\n`);
      assert.equal(io.err(), '');
    });
  }

  it('strips only ONE trailing newline (a second one makes the token invalid)', async () => {
    const io = memoryIO('fruit-secret\n\n');
    assert.equal(await hashTokenCommand({}, io), 1);
    assert.equal(io.out(), '');
    assert.match(io.err(), /whitespace/);
  });

  for (const [name, input] of [['empty stdin', ''], ['only a newline', '\n'], ['only CRLF', '\r\n']] as const) {
    it(`refuses an empty token (${name}) with exit 1`, async () => {
      const io = memoryIO(input);
      assert.equal(await hashTokenCommand({}, io), 1);
      assert.equal(io.out(), '');
      assert.match(io.err(), /the token is empty/);
    });
  }

  it('never prints the token itself on error', async () => {
    const io = memoryIO('my secret\n');
    assert.equal(await hashTokenCommand({}, io), 1);
    assert.ok(!io.err().includes('my secret'));
  });

  it('refuses oversized input', async () => {
    const io = memoryIO('a'.repeat(70 * 1024));
    assert.equal(await hashTokenCommand({}, io), 1);
    assert.match(io.err(), /larger than/);
  });

  it('is wired in the CLI and matches what the config computes for token:', async () => {
    const io = memoryIO('tomato-secret\n');
    assert.equal(await main(['node', 'promfence', 'hash-token'], io), 0);
    assert.equal(io.out(), 'f25e6d48509045857895264f759841dba6ef19028a51afeb57ceb11eeabb7194\n');
  });
});
