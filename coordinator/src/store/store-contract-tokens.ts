import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { StoreConflictError, TokenExpiredError, TokenNotFoundError, TokenRevokedError, TokenUnknownError, TokenUsedUpError } from './errors';
import type { TokenRecord } from './store-security';
import { sampleToken, sampleTokenText, sha256Hex, type WithStore } from './store-fixtures';

/** Tokens: part of storeContract (./store-contract). */
export function tokenContract(withStore: WithStore): void {
  withStore('createToken then findToken returns the same record, as a copy', async (store) => {
    const join = sampleToken('t1');
    const admin = unlimited(neverExpires(sampleToken('t2', { kind: 'admin', labels: {}, description: '' })));
    await store.createToken(join);
    // A caller may pass absent limits as undefined: they read back absent, in every store.
    await store.createToken({ ...admin, expiresAt: undefined, usesLeft: undefined });
    const got = await store.findToken(join.hash);
    assert.deepEqual(got, join);
    assert.deepEqual(await store.findToken(admin.hash), admin);
    assert.equal(await store.findToken(sha256Hex('never issued')), undefined);
    assert.equal(await store.findToken('not a hash'), undefined);

    if (got) got.labels.site = 'changed';
    join.labels.site = 'changed too';
    assert.deepEqual(await store.findToken(join.hash), sampleToken('t1'));
  });

  withStore('createToken refuses a duplicate id or hash and a malformed record; messages never show the hash', async (store) => {
    const token = sampleToken('t1');
    await store.createToken(token);
    for (const dup of [{ ...sampleToken('t2'), id: 't1' }, { ...sampleToken('t2'), hash: token.hash }]) {
      await assert.rejects(store.createToken(dup), (err: unknown) => err instanceof StoreConflictError && hidesHash(err, dup.hash));
    }
    const bad: TokenRecord[] = [
      { ...sampleToken('b1'), hash: sha256Hex('x').toUpperCase() },
      { ...sampleToken('b2'), hash: 'abc' },
      { ...sampleToken('b3'), kind: 'root' as TokenRecord['kind'] },
      { ...sampleToken('b4'), usesLeft: -1 },
      { ...sampleToken('b5'), usesLeft: 1.5 },
      { ...sampleToken('b6'), expiresAt: Number.NaN },
      { ...sampleToken('b7'), labels: { site: 1 } as unknown as Record<string, string> },
      { ...sampleToken('b8'), id: '' },
    ];
    for (const t of bad) await assert.rejects(store.createToken(t), (err: unknown) => err instanceof InvalidInputError && hidesHash(err, t.hash));
    for (const t of bad) assert.equal(await store.findToken(t.hash), undefined);
    assert.deepEqual(await store.findToken(token.hash), token);
  });

  withStore('useJoinToken spends one use at a time and returns the token after the use', async (store) => {
    const token = sampleToken('t1', { usesLeft: 2 });
    await store.createToken(token);
    assert.deepEqual(await store.useJoinToken(token.hash, 2_000), { ...token, usesLeft: 1 });
    assert.deepEqual(await store.findToken(token.hash), { ...token, usesLeft: 1 });
    assert.deepEqual(await store.useJoinToken(token.hash, 9_999), { ...token, usesLeft: 0 });
    await assert.rejects(store.useJoinToken(token.hash, 3_000), (err: unknown) => err instanceof TokenUsedUpError && err.code === 'TOKEN_USED_UP' && err.tokenId === 't1');
    assert.deepEqual(await store.findToken(token.hash), { ...token, usesLeft: 0 });

    const open = unlimited(neverExpires(sampleToken('t2')));
    await store.createToken(open);
    for (let i = 0; i < 5; i++) assert.deepEqual(await store.useJoinToken(open.hash, Number.MAX_SAFE_INTEGER), open);
  });

  withStore('useJoinToken refuses expired, used-up, unknown and non-join tokens, changing nothing', async (store) => {
    const expired = sampleToken('t1', { expiresAt: 5_000 });
    const usedUp = sampleToken('t2', { usesLeft: 0 });
    const both = sampleToken('t3', { usesLeft: 0, expiresAt: 5_000 });
    const builder = sampleToken('t4', { kind: 'builder' });
    for (const t of [expired, usedUp, both, builder]) await store.createToken(t);

    await store.useJoinToken(expired.hash, 4_999);
    const refusals: Array<[string, string, string]> = [
      [expired.hash, 't1', 'TOKEN_EXPIRED'],
      [usedUp.hash, 't2', 'TOKEN_USED_UP'],
      // Expiry is checked first: an old token is reported as expired, whatever its uses.
      [both.hash, 't3', 'TOKEN_EXPIRED'],
      [builder.hash, 't4', 'TOKEN_UNKNOWN'],
      [sha256Hex(sampleTokenText('t9')), 't9', 'TOKEN_UNKNOWN'],
    ];
    for (const [hash, id, code] of refusals) {
      await assert.rejects(store.useJoinToken(hash, 5_000), (err: unknown) => {
        const classOk = code === 'TOKEN_EXPIRED' ? err instanceof TokenExpiredError : code === 'TOKEN_USED_UP' ? err instanceof TokenUsedUpError : err instanceof TokenUnknownError;
        return classOk && (err as TokenUnknownError).code === code && hidesHash(err, hash) && !(err as Error).message.includes(sampleTokenText(id));
      });
    }
    assert.deepEqual(await store.findToken(expired.hash), { ...expired, usesLeft: 2 });
    assert.deepEqual(await store.findToken(usedUp.hash), usedUp);
    assert.deepEqual(await store.findToken(builder.hash), builder);
    assert.match(new TokenExpiredError('t1', 5_000).message, /t1 expired at 1970-01-01T00:00:05\.000Z/);
  });

  withStore('concurrent uses of a join token never exceed its uses', async (store) => {
    const token = sampleToken('t1', { usesLeft: 3 });
    await store.createToken(token);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => store.useJoinToken(token.hash, 2_000)));
    const left = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.usesLeft] : []));
    assert.deepEqual(
      left.sort((a = -1, b = -1) => a - b),
      [0, 1, 2],
    );
    assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof TokenUsedUpError));
    assert.equal((await store.findToken(token.hash))?.usesLeft, 0);
  });

  withStore('hasAdminToken is true while an admin token works: neither expired nor revoked', async (store) => {
    assert.equal(await store.hasAdminToken(5), false);
    await store.createToken(sampleToken('j'));
    await store.createToken(sampleToken('b', { kind: 'builder' }));
    await store.createToken(sampleToken('v', { kind: 'viewer' }));
    assert.equal(await store.hasAdminToken(5), false);
    await store.createToken(sampleToken('a', { kind: 'admin', expiresAt: 10 }));
    assert.equal(await store.hasAdminToken(5), true);
    assert.equal(await store.hasAdminToken(10), false);
    await store.createToken(unlimited(neverExpires(sampleToken('a2', { kind: 'admin' }))));
    assert.equal(await store.hasAdminToken(10), true);
    await store.revokeToken('a2', 6);
    assert.equal(await store.hasAdminToken(10), false);
  });

  withStore('listTokens lists every token oldest first; revokeToken keeps the first time and refuses unknown ids', async (store) => {
    await store.createToken(sampleToken('t2', { createdAt: 2 }));
    await store.createToken(sampleToken('t1', { createdAt: 2 }));
    await store.createToken(sampleToken('t0', { createdAt: 1, kind: 'viewer' }));
    assert.deepEqual((await store.listTokens()).map((t) => t.id), ['t0', 't1', 't2']);
    assert.deepEqual(await store.revokeToken('t1', 50), { ...sampleToken('t1', { createdAt: 2 }), revokedAt: 50 });
    assert.equal((await store.revokeToken('t1', 60)).revokedAt, 50);
    await assert.rejects(store.revokeToken('nope', 1), (err: unknown) => err instanceof TokenNotFoundError && err.code === 'TOKEN_NOT_FOUND');
    assert.deepEqual(await store.findToken(sampleToken('t1').hash), { ...sampleToken('t1', { createdAt: 2 }), revokedAt: 50 });
    await assert.rejects(store.useJoinToken(sampleToken('t1').hash, 3), (err: unknown) => err instanceof TokenRevokedError && err.code === 'TOKEN_REVOKED');
  });
}

function neverExpires(t: TokenRecord): TokenRecord {
  const { expiresAt: _expiresAt, ...rest } = t;
  return rest;
}

function unlimited(t: TokenRecord): TokenRecord {
  const { usesLeft: _usesLeft, ...rest } = t;
  return rest;
}

function hidesHash(err: unknown, hash: string): boolean {
  return err instanceof Error && hash !== '' && !err.message.includes(hash) && !String(err.stack).includes(hash);
}
