import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import bcrypt from 'bcryptjs';
import { hashPasswordCommand } from '../../src/commands/hash-password.ts';
import { bcryptHashProblem } from '../../src/config/values.ts';
import { main } from '../../src/cli.ts';
import { memoryIO } from '../config/helpers.ts';

/** A fake terminal: typed keys arrive once raw mode is on; echo is never written anywhere. */
function ttyIO(keys: string[]) {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    raw: false,
    setRawMode(raw: boolean) {
      this.raw = raw;
      if (raw) setImmediate(() => stdin.write(keys.shift() ?? '\u0003'));
      return this;
    },
  });
  let out = '';
  let err = '';
  return {
    stdin, stdout: { write: (s: string) => { out += s; return true; } }, stderr: { write: (s: string) => { err += s; return true; } },
    out: () => out, err: () => err,
  };
}

describe('hash-password', () => {
  for (const [name, input] of [['no newline', 'veggie-password'], ['one LF', 'veggie-password\n'], ['one CRLF', 'veggie-password\r\n']] as const) {
    it(`prints a bcrypt hash the configuration accepts and that verifies the password (${name})`, async () => {
      const io = memoryIO(input);
      assert.equal(await hashPasswordCommand({ cost: 4 }, io), 0, io.err());
      const hash = io.out().trimEnd();
      assert.match(io.out(), /^\$2b\$04\$[./A-Za-z0-9]{53}\n$/);
      assert.equal(bcryptHashProblem(hash), undefined);
      assert.ok(await bcrypt.compare('veggie-password', hash));
      assert.ok(!(await bcrypt.compare('veggie-passwor', hash)));
      assert.ok(!io.out().includes('veggie-password') && !io.err().includes('veggie-password'));
    });
  }

  it('default cost is 10; passwords may hold spaces and colons', async () => {
    const io = memoryIO('a pass:word');
    assert.equal(await main(['node', 'promfence', 'hash-password'], io), 0, io.err());
    assert.match(io.out(), /^\$2b\$10\$/);
    assert.ok(await bcrypt.compare('a pass:word', io.out().trimEnd()));
  });

  const refusals: Array<[string, string, RegExp]> = [
    ['empty', '', /the password is empty/],
    ['only a newline', '\n', /the password is empty/],
    ['two lines', 'one\ntwo', /contains a line break/],
    ['over 72 bytes', 'x'.repeat(73), /longer than 72 bytes; bcrypt would ignore the rest/],
    ['too much input', 'x'.repeat(5000), /input is larger than 4096 bytes/],
  ];
  for (const [name, input, message] of refusals) {
    it(`refuses ${name} with exit 1 and prints nothing on stdout`, async () => {
      const io = memoryIO(input);
      assert.equal(await hashPasswordCommand({ cost: 4 }, io), 1);
      assert.equal(io.out(), '');
      assert.match(io.err(), message);
    });
  }

  it('72 bytes exactly is accepted', async () => {
    const io = memoryIO('é'.repeat(36));
    assert.equal(await hashPasswordCommand({ cost: 4 }, io), 0, io.err());
  });

  it('a bad --cost is a usage error (exit 2)', async () => {
    for (const cost of ['3', '16', 'x']) {
      const io = memoryIO('pw');
      assert.equal(await main(['node', 'promfence', 'hash-password', '--cost', cost], io), 2);
      assert.match(io.err(), /--cost must be a whole number from 4 to 15/);
    }
  });

  it('from a terminal: asked twice without echo (Backspace edits), hashed when both match', async () => {
    const io = ttyIO(['secrex\u007ft\r', 'secret\r']);
    assert.equal(await hashPasswordCommand({ cost: 4 }, io), 0, io.err());
    assert.ok(await bcrypt.compare('secret', io.out().trimEnd()));
    assert.equal(io.err(), 'Password: \nRepeat password: \n');
    assert.equal(io.stdin.raw, false, 'raw mode is switched off again');
  });

  it('from a terminal: two different entries, or Ctrl-C, print nothing', async () => {
    const differ = ttyIO(['one\r', 'two\r']);
    assert.equal(await hashPasswordCommand({ cost: 4 }, differ), 1);
    assert.equal(differ.out(), '');
    assert.match(differ.err(), /the two passwords differ/);
    const interrupted = ttyIO(['abc\u0003']);
    assert.equal(await hashPasswordCommand({ cost: 4 }, interrupted), 1);
    assert.match(interrupted.err(), /interrupted/);
  });
});
