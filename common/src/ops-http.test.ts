import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger';
import { OpsHttpServer } from './ops-http';

const logger = createLogger('test', 'silent');

test('ops listener: /healthz always 200, /readyz follows ready(), /metrics serves the text, others 404/405', async () => {
  let ready = false;
  let scrapes = 0;
  const ops = await OpsHttpServer.listen('127.0.0.1', 0, { ready: () => ready, metrics: async () => (scrapes++, { contentType: 'text/plain; version=0.0.4', body: 'x_total 1\n' }) }, logger);
  try {
    const url = (path: string) => `http://127.0.0.1:${ops.port}${path}`;
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.equal((await fetch(url('/readyz'))).status, 503);
    ready = true;
    assert.equal((await fetch(url('/readyz'))).status, 200);
    const metrics = await fetch(url('/metrics'));
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4');
    assert.equal(await metrics.text(), 'x_total 1\n');
    assert.equal(scrapes, 1);
    assert.equal((await fetch(url('/nope'))).status, 404);
    assert.equal((await fetch(url('/metrics'), { method: 'POST', body: 'x' })).status, 405);
    assert.equal(scrapes, 1, 'a POST does not scrape');
  } finally {
    await ops.close();
  }
});

test('ops listener: a failing scrape answers 500 and the listener goes on', async () => {
  const ops = await OpsHttpServer.listen('127.0.0.1', 0, { ready: () => true, metrics: () => Promise.reject(new Error('collector broke')) }, logger);
  try {
    assert.equal((await fetch(`http://127.0.0.1:${ops.port}/metrics`)).status, 500);
    assert.equal((await fetch(`http://127.0.0.1:${ops.port}/healthz`)).status, 200);
  } finally {
    await ops.close();
  }
});

test('ops listener: a taken port is refused at listen', async () => {
  const first = await OpsHttpServer.listen('127.0.0.1', 0, { ready: () => true, metrics: async () => ({ contentType: 'text/plain', body: '' }) }, logger);
  try {
    await assert.rejects(OpsHttpServer.listen('127.0.0.1', first.port, { ready: () => true, metrics: async () => ({ contentType: 'text/plain', body: '' }) }, logger), /EADDRINUSE/);
  } finally {
    await first.close();
  }
});
