import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostPort } from './host-port';

test('host:port, [v6]:port and a default port', () => {
  const a = HostPort.parse('10.0.0.5:7420', '--coordinator', { example: 'x' });
  assert.deepEqual([a.host, a.port, a.hostname, a.toString()], ['10.0.0.5', 7420, '10.0.0.5', '10.0.0.5:7420']);
  const b = HostPort.parse('[::1]:9', '--listen', { example: 'x' });
  assert.deepEqual([b.host, b.hostname, b.port, b.isLoopback], ['[::1]', '::1', 9, true]);
  assert.equal(HostPort.parse('pi-1.lan', '--coordinator', { defaultPort: 7420, example: 'x' }).toString(), 'pi-1.lan:7420');
  assert.equal(HostPort.parse('docker.io', 'REGISTRY', { portOptional: true, example: 'x' }).toString(), 'docker.io');
  assert.equal(HostPort.parse('0.0.0.0:0', '--listen', { allowPortZero: true, example: 'x' }).port, 0);
});

test('refusals name the field, what it must be and an example', () => {
  for (const [text, rules] of [
    ['10.0.0.5', {}],
    ['10.0.0.5:0', {}],
    ['10.0.0.5:65536', {}],
    ['::1:7420', {}],
    ['-bad.host:1', {}],
    ['host/path:1', {}],
    ['', { portOptional: true }],
  ] as const) {
    assert.throws(
      () => HostPort.parse(text, '--listen', { ...rules, example: '0.0.0.0:7420' }),
      (err: Error & { code?: string }) => err.code === 'INVALID_INPUT' && err.message.includes('--listen') && err.message.includes(`"${text}" is not host`) && err.message.includes('e.g. 0.0.0.0:7420'),
      text,
    );
  }
});

test('loopback: 127/8, localhost and ::1 only', () => {
  const loop = (t: string) => HostPort.parse(t, 'f', { example: 'x' }).isLoopback;
  assert.deepEqual(['127.0.0.1:1', '127.9.9.9:1', 'localhost:1', '[::1]:1', '0.0.0.0:1', '10.0.0.1:1', 'localhost.evil:1'].map(loop), [true, true, true, true, false, false, false]);
});
